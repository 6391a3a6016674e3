package daemoncfg

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/passphrase"
)

// Database is the resolved database configuration of store: postgres.
type Database struct {
	URL      string
	Password string // "" when the server needs none (peer, trust, a client certificate)
	// PasswordFrom says where the password came from, for messages.
	PasswordFrom string
}

// keywordPassword finds password= in a keyword/value connection string.
var keywordPassword = regexp.MustCompile(`(^|\s)password\s*=`)

// ValidateStore checks store and the database block (Validate runs it;
// anchored store copy too, for the URLs it is given).
func ValidateStore(cfg config.File) []error {
	var errs []error
	switch cfg.Store {
	case config.StoreVault:
	case config.StorePostgres:
		if cfg.Database.URL == "" {
			errs = append(errs, fmt.Errorf("store: postgres needs database.url (or %s)", config.EnvDatabaseURL))
		} else if urlHasPassword(cfg.Database.URL) {
			errs = append(errs, errors.New("database.url must not carry a password: use database.password_file or the systemd credential "+config.DatabasePasswordCredential))
		}
		if f := cfg.Database.PasswordFile; f != "" && !filepath.IsAbs(f) {
			errs = append(errs, fmt.Errorf("database.password_file %q: give an absolute path", f))
		}
	default:
		errs = append(errs, fmt.Errorf("store %q: want vault or postgres", cfg.Store))
	}
	return errs
}

func urlHasPassword(s string) bool {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return strings.Contains(strings.SplitN(s[strings.Index(s, "//")+2:], "@", 2)[0], ":") // unparsable: be safe
		}
		_, ok := u.User.Password()
		return ok || u.Query().Has("password")
	}
	return keywordPassword.MatchString(s)
}

// ResolveDatabase returns the database configuration with its password:
// database.password_file if set, else $CREDENTIALS_DIRECTORY/database-password
// when that file exists, else none. A password file must not be readable
// by group or others (as the passphrase file).
func ResolveDatabase(cfg config.File, getenv func(string) string) (Database, error) {
	db := Database{URL: cfg.Database.URL}
	file := cfg.Database.PasswordFile
	if file == "" {
		if dir := getenv(passphrase.EnvCredsDir); dir != "" {
			cand := filepath.Join(dir, config.DatabasePasswordCredential)
			if _, err := os.Stat(cand); err == nil {
				file = cand
			} else if !errors.Is(err, fs.ErrNotExist) {
				return db, fmt.Errorf("database password credential: %w", err)
			}
		}
	}
	if file == "" {
		return db, nil
	}
	p, err := passphrase.ReadFile(file)
	if err != nil {
		return db, fmt.Errorf("database password: %w", err)
	}
	db.Password, db.PasswordFrom = p, file
	return db, nil
}
