package packagingtest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/anchored/anchored/internal/config"
)

// TestDefaultConfig checks /etc/anchored/config.yaml against the one schema:
// as shipped it parses and sets the system column of SPEC section 1, and
// with every commented key uncommented it still parses (unknown keys are
// rejected), so the comments show real keys.
func TestDefaultConfig(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging", "etc", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	if err := config.Parse(body, &cfg); err != nil {
		t.Fatalf("shipped config: %v", err)
	}
	if got, want := cfg.Vault, "/var/lib/anchored/vault"; got != want {
		t.Errorf("vault = %q, want %q", got, want)
	}
	if got, want := cfg.Listen.Socket, "/run/anchored/anchored.sock"; got != want {
		t.Errorf("listen.socket = %q, want %q", got, want)
	}
	if cfg.AllowAWSECRIAMAuto || cfg.UserAuthentication.OAuth.Enabled || cfg.Listen.HTTP != "" || cfg.Listen.HTTPS != "" {
		t.Errorf("shipped config enables more than the socket: %+v", cfg)
	}

	uncommented := regexp.MustCompile(`(?m)^(\s*)# ?(\s*[a-z_]+:( .*)?)$`).ReplaceAll(body, []byte("$1$2"))
	all := config.Defaults()
	if err := config.Parse(uncommented, &all); err != nil {
		t.Fatalf("config with every key uncommented: %v\n%s", err, uncommented)
	}
	// SPEC section 6's keys, each shown in the file.
	shown := []struct {
		key string
		set bool
	}{
		{"listen.https", all.Listen.HTTPS != ""},
		{"listen.tls_cert", all.Listen.TLSCert != ""},
		{"listen.tls_key", all.Listen.TLSKey != ""},
		{"listen.http", all.Listen.HTTP != ""},
		{"allow_awsecr_iam_auto", regexp.MustCompile(`(?m)^allow_awsecr_iam_auto:`).Match(uncommented)},
		{"helper_account", all.HelperAccount == "admin"},
		{"default_admin_password", regexp.MustCompile(`(?m)^default_admin_password:`).Match(uncommented)},
		{"default_admin_email", all.DefaultAdminEmail == "admin@myanchore"},
		{"user_authentication.oauth.enabled", regexp.MustCompile(`(?m)^    enabled:`).Match(uncommented)},
		{"user_authentication.oauth.default_token_expiration_seconds", all.UserAuthentication.OAuth.DefaultTokenExpirationSeconds == 3600},
		{"user_authentication.oauth.issuer", all.UserAuthentication.OAuth.Issuer == "anchore-engine"},
		{"user_authentication.hashed_passwords", regexp.MustCompile(`(?m)^  hashed_passwords:`).Match(uncommented)},
		{"keys.secret_file", all.Keys.SecretFile != ""},
		{"keys.public_key_path", all.Keys.PublicKeyPath != ""},
		{"keys.private_key_path", all.Keys.PrivateKeyPath != ""},
	}
	for _, s := range shown {
		if !s.set {
			t.Errorf("the default config does not show %s", s.key)
		}
	}
}
