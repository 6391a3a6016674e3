package daemoncfg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/config"
)

func TestValidateStore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store string
		db    config.Database
		want  string // "" = valid
	}{
		{"vault default", config.StoreVault, config.Database{}, ""},
		{"postgres URL", config.StorePostgres, config.Database{URL: "postgres://anchored@db.example/anchored"}, ""},
		{"postgres keywords", config.StorePostgres, config.Database{URL: "host=/run/postgresql dbname=anchored", PasswordFile: "/etc/anchored/db"}, ""},
		{"unknown store", "redis", config.Database{}, `store "redis": want vault or postgres`},
		{"no URL", config.StorePostgres, config.Database{}, "store: postgres needs database.url (or ANCHORED_DATABASE_URL)"},
		{"password in URL", config.StorePostgres, config.Database{URL: "postgres://u:hunter22@db/x"}, "database.url must not carry a password"},
		{"password in query", config.StorePostgres, config.Database{URL: "postgresql://u@db/x?password=hunter22"}, "database.url must not carry a password"},
		{"password keyword", config.StorePostgres, config.Database{URL: "host=db password=hunter22"}, "database.url must not carry a password"},
		{"relative password file", config.StorePostgres, config.Database{URL: "host=db", PasswordFile: "db-pass"}, `database.password_file "db-pass": give an absolute path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Store, cfg.Database = tc.store, tc.db
			errs := ValidateStore(cfg)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("valid config refused: %v", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Errorf("errors %v, want one with %q", errs, tc.want)
			}
			for _, e := range errs {
				if strings.Contains(e.Error(), "hunter22") {
					t.Errorf("an error quotes the password: %v", e)
				}
			}
		})
	}
}

func TestDefaultStoreAndEnv(t *testing.T) {
	cfg := config.Defaults()
	if cfg.Store != config.StoreVault {
		t.Errorf("default store %q", cfg.Store)
	}
	env := map[string]string{config.EnvDatabaseURL: "host=/run/postgresql dbname=a"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil || cfg.Database.URL != env[config.EnvDatabaseURL] {
		t.Errorf("ApplyEnv: %v, url %q", err, cfg.Database.URL)
	}
	var parsed config.File
	if err := config.Parse([]byte("store: postgres\ndatabase:\n  url: host=db\n  password_file: /etc/p\n"), &parsed); err != nil ||
		parsed.Store != "postgres" || parsed.Database.PasswordFile != "/etc/p" {
		t.Errorf("Parse: %v, %+v", err, parsed)
	}
	if err := config.Parse([]byte("database:\n  password: x\n"), &parsed); err == nil {
		t.Error("an unknown database key was accepted")
	}
}

func TestResolveDatabase(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	os.Mkdir(creds, 0o700)
	os.WriteFile(filepath.Join(creds, config.DatabasePasswordCredential), []byte("from-credential\n"), 0o400)
	file := filepath.Join(dir, "db-pass")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("world-readable"), 0o644)
	for _, tc := range []struct {
		name, passwordFile, credsDir, want, wantErr string
	}{
		{"file first", file, creds, "from-file", ""},
		{"credential", "", creds, "from-credential", ""},
		{"none", "", "", "", ""},
		{"credential dir without it", "", dir, "", ""},
		{"open permissions", open, "", "", "permissions"},
		{"missing file", filepath.Join(dir, "nope"), "", "", "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Store, cfg.Database = config.StorePostgres, config.Database{URL: "host=db", PasswordFile: tc.passwordFile}
			db, err := ResolveDatabase(cfg, func(k string) string {
				if k == "CREDENTIALS_DIRECTORY" {
					return tc.credsDir
				}
				return ""
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "world-readable") {
					t.Errorf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || db.Password != tc.want || db.URL != "host=db" {
				t.Errorf("ResolveDatabase = %+v, %v; want password %q", db, err, tc.want)
			}
		})
	}
}
