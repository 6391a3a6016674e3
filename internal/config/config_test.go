package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadRejectsUnknownKeysByLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"top level", "vault: /v\nsocket: /s\nvualt: /typo\n", `invalid configuration: line 3: unknown key "vualt"`},
		{"nested", "listen:\n  socket: /s\n  htps: \":443\"\n", `invalid configuration: line 3: unknown key "htps"`},
		{"two at once", "a: 1\nkeys:\n  secrett: x\n", `invalid configuration: line 1: unknown key "a"; line 3: unknown key "secrett"`},
		{"wrong type", "allow_awsecr_iam_auto: maybe\n", "invalid configuration: line 1: allow_awsecr_iam_auto: cannot unmarshal string into bool"},
		{"unknown and wrong type", "vualt: /v\nuser_authentication:\n  oauth:\n    default_token_expiration_seconds: soon\n",
			`invalid configuration: line 1: unknown key "vualt"; line 4: default_token_expiration_seconds: cannot unmarshal string into int`},
		{"wrong shape", "listen: 3\n", "invalid configuration: line 1: listen: expected a mapping of keys, not an integer"},
		{"flow mapping", "listen: {socket: /s, htps: x}\n", `invalid configuration: line 1: unknown key "htps"`},
		{"duplicate key", "vault: /a\nvault: /b\n", `invalid configuration: line 2: mapping key "vault" already defined at [1:1]`},
		{"not YAML", "vault: [\n", "invalid configuration: line 1: sequence end token ']' not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, found, err := Load(path)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load: err = %v, want %v", err, ErrInvalid)
			}
			if !found {
				t.Errorf("found = false for an existing file")
			}
			if got, want := err.Error(), path+": "+tt.want; got != want {
				t.Errorf("error\n got %q\nwant %q", got, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line")
			}
		})
	}
}

func TestLoadMissingFileIsDefaults(t *testing.T) {
	cfg, found, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if err != nil || found {
		t.Fatalf("Load of a missing file = found %v, err %v; want false, nil", found, err)
	}
	if got, want := cfg.HelperAccount, "admin"; got != want {
		t.Errorf("HelperAccount = %q, want %q", got, want)
	}
	if got, want := cfg.UserAuthentication.OAuth.Issuer, "anchore-engine"; got != want {
		t.Errorf("issuer = %q, want %q", got, want)
	}
}

func TestLoadKeepsDefaultsForUnsetKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("user_authentication:\n  oauth:\n    enabled: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.UserAuthentication.OAuth.Enabled || cfg.UserAuthentication.OAuth.DefaultTokenExpirationSeconds != 3600 {
		t.Errorf("oauth = %+v, want enabled with the default expiry 3600", cfg.UserAuthentication.OAuth)
	}
}

func TestApplyEnv(t *testing.T) {
	cfg := Defaults()
	err := cfg.ApplyEnv(envMap(map[string]string{
		"ANCHORE_AUTH_SECRET":                  "s3",
		"ANCHORE_AUTH_PUBKEY":                  "/pub.pem",
		"ANCHORE_AUTH_PRIVKEY":                 "/priv.pem",
		"ANCHORE_OAUTH_ENABLED":                "true",
		"ANCHORE_OAUTH_TOKEN_EXPIRATION":       "60",
		"ANCHORE_AUTH_ENABLE_HASHED_PASSWORDS": "1",
		"ANCHORE_ADMIN_PASSWORD":               "foobar",
	}))
	if err != nil {
		t.Fatalf("ApplyEnv: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"keys.secret", cfg.Keys.Secret, "s3"},
		{"keys.public_key_path", cfg.Keys.PublicKeyPath, "/pub.pem"},
		{"keys.private_key_path", cfg.Keys.PrivateKeyPath, "/priv.pem"},
		{"oauth.enabled", strconv.FormatBool(cfg.UserAuthentication.OAuth.Enabled), "true"},
		{"oauth.default_token_expiration_seconds", strconv.Itoa(cfg.UserAuthentication.OAuth.DefaultTokenExpirationSeconds), "60"},
		{"hashed_passwords", strconv.FormatBool(cfg.UserAuthentication.HashedPassword), "true"},
		{"default_admin_password", cfg.DefaultAdminPassword, "foobar"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}

	// Unset variables change nothing; bad values are reported together.
	cfg = Defaults()
	err = cfg.ApplyEnv(envMap(map[string]string{"ANCHORE_OAUTH_ENABLED": "yes please", "ANCHORE_OAUTH_TOKEN_EXPIRATION": "-5"}))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("ApplyEnv with bad values: err = %v, want %v", err, ErrInvalid)
	}
	for _, want := range []string{`ANCHORE_OAUTH_ENABLED="yes please" is not a boolean`, `ANCHORE_OAUTH_TOKEN_EXPIRATION="-5" is not a whole number of seconds`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if cfg.UserAuthentication.OAuth.Enabled || cfg.UserAuthentication.OAuth.DefaultTokenExpirationSeconds != 3600 {
		t.Errorf("bad values changed the config: %+v", cfg.UserAuthentication.OAuth)
	}
}

func TestResolvePathsPrecedence(t *testing.T) {
	home := "/home/u"
	fileCfg := File{Vault: "/file/vault", Socket: "/file/sock", PassphraseFile: "/file/pass"}
	env := map[string]string{
		"HOME": home, EnvVault: "/env/vault", EnvSocket: "/env/sock",
		"ANCHORE_VAULT_PASSPHRASE_FILE": "/env/pass", EnvConfig: "/env/config.yaml",
	}
	flags := Flags{Config: "/flag/config.yaml", Vault: "/flag/vault", Socket: "/flag/sock", PassphraseFile: "/flag/pass"}
	tests := []struct {
		name  string
		flags Flags
		env   map[string]string
		cfg   File
		want  Paths
	}{
		{"flags win", flags, env, fileCfg, Paths{"/flag/config.yaml", "/flag/vault", "/flag/sock", "/flag/pass"}},
		{"then the environment", Flags{}, env, fileCfg, Paths{"/env/config.yaml", "/env/vault", "/env/sock", "/env/pass"}},
		{"then the config file", Flags{}, map[string]string{"HOME": home}, fileCfg,
			Paths{home + "/.config/anchore/config.yaml", "/file/vault", "/file/sock", "/file/pass"}},
		{"then the defaults", Flags{}, map[string]string{"HOME": home, "XDG_RUNTIME_DIR": "/run/user/7"}, File{},
			Paths{home + "/.config/anchore/config.yaml", home + "/.local/share/anchore/vault", "/run/user/7/anchored.sock", ""}},
		{"XDG variables", Flags{}, map[string]string{"HOME": home, "XDG_CONFIG_HOME": "/xc", "XDG_DATA_HOME": "/xd", "XDG_RUNTIME_DIR": "/xr"}, File{},
			Paths{"/xc/anchore/config.yaml", "/xd/anchore/vault", "/xr/anchored.sock", ""}},
		{"listen.socket when socket is unset", Flags{}, map[string]string{"HOME": home}, File{Listen: Listen{Socket: "/listen/sock"}},
			Paths{home + "/.config/anchore/config.yaml", home + "/.local/share/anchore/vault", "/listen/sock", ""}},
		{"ANCHORE_VAULT_PASSPHRASE comes before the config file's passphrase_file", Flags{}, map[string]string{"HOME": home, "ANCHORE_VAULT_PASSPHRASE": "p", "XDG_RUNTIME_DIR": "/r"}, File{PassphraseFile: "/file/pass"},
			Paths{home + "/.config/anchore/config.yaml", home + "/.local/share/anchore/vault", "/r/anchored.sock", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResolvePaths(tt.flags, envMap(tt.env), tt.cfg)
			if got != tt.want {
				t.Errorf("ResolvePaths\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParseDecodesEveryGoodValue: a wrong value is reported, and every
// other key, in its block and after it, is still set (the caller goes on
// checking them); aliases resolve to their anchors.
func TestParseDecodesEveryGoodValue(t *testing.T) {
	in := "user_authentication:\n  oauth:\n    default_token_expiration_seconds: soon\n    enabled: true\n  hashed_passwords: true\n" +
		"vault: &v /var/lib/anchored/vault\nkeys:\n  secret_file: *v\n"
	cfg := Defaults()
	err := Parse([]byte(in), &cfg)
	if want := "invalid configuration: line 3: default_token_expiration_seconds: cannot unmarshal string into int"; err == nil || err.Error() != want {
		t.Errorf("Parse err = %v, want %q", err, want)
	}
	var p Problems
	if !errors.As(err, &p) || len(p) != 1 {
		t.Errorf("Parse err %v does not carry one Problems entry", err)
	}
	ua := cfg.UserAuthentication
	if !ua.OAuth.Enabled || !ua.HashedPassword || ua.OAuth.DefaultTokenExpirationSeconds != 3600 {
		t.Errorf("user_authentication = %+v; want enabled and hashed set, the expiry left at its default", ua)
	}
	if cfg.Vault != "/var/lib/anchored/vault" || cfg.Keys.SecretFile != cfg.Vault {
		t.Errorf("vault = %q, keys.secret_file = %q; want the anchor's value in both", cfg.Vault, cfg.Keys.SecretFile)
	}
}
