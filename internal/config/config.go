// Package config is the one configuration schema both binaries read (SPEC
// sections 1 and 6): Anchore's key names, unknown keys rejected, and the
// precedence flag > environment > file > default for the paths.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/anchored/anchored/pkg/registries"
)

// File is config.yaml as written. Keys follow Anchore's names; "socket" and
// "passphrase_file" are ours (SPEC section 1: the helper finds a system
// daemon through "socket:").
type File struct {
	Vault                string   `yaml:"vault"`
	Socket               string   `yaml:"socket"`
	PassphraseFile       string   `yaml:"passphrase_file"`
	Listen               Listen   `yaml:"listen"`
	AllowAWSECRIAMAuto   bool     `yaml:"allow_awsecr_iam_auto"`
	HelperAccount        string   `yaml:"helper_account"`
	DefaultAdminPassword string   `yaml:"default_admin_password"`
	DefaultAdminEmail    string   `yaml:"default_admin_email"`
	UserAuthentication   UserAuth `yaml:"user_authentication"`
	Keys                 Keys     `yaml:"keys"`
	// Operations (issue 13; ours, not Anchore's): the daemon's log
	// format, its audit log and its metrics listener.
	LogFormat string  `yaml:"log_format"`
	Audit     Audit   `yaml:"audit"`
	Metrics   Metrics `yaml:"metrics"`
	// Store (issue 11; ours): where the daemon keeps its state, "vault"
	// (the file, the default) or "postgres" (a database shared by a fleet
	// of replicas, configured by Database).
	Store    string   `yaml:"store"`
	Database Database `yaml:"database"`
}

// Stores of the store key.
const (
	StoreVault    = "vault"
	StorePostgres = "postgres"
)

// Database is the database block (store: postgres). URL is a PostgreSQL
// connection string (URL or keyword/value) without a password; the
// password comes from PasswordFile, else the systemd credential
// DatabasePasswordCredential, never from argv or the URL.
type Database struct {
	URL          string `yaml:"url"`
	PasswordFile string `yaml:"password_file"`
}

// EnvDatabaseURL overrides database.url.
const EnvDatabaseURL = "ANCHORED_DATABASE_URL"

// DatabasePasswordCredential is the systemd credential (LoadCredential=)
// holding the database password, read from $CREDENTIALS_DIRECTORY.
const DatabasePasswordCredential = "database-password"

// Log formats of log_format.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Audit is the audit block: one event per change (always, while enabled)
// and per credential read (when reads is on), to file or, without one, to
// the daemon's stderr (the journal).
type Audit struct {
	Enabled bool   `yaml:"enabled"`
	Reads   bool   `yaml:"reads"`
	File    string `yaml:"file"`
}

// Metrics is the metrics block: Prometheus's /metrics (and /readyz) on a
// listener of their own, off unless listen is set: a loopback host:port,
// or the path of a Unix socket.
type Metrics struct {
	Listen string `yaml:"listen"`
}

// Listen lists anchored's listeners.
type Listen struct {
	Socket  string `yaml:"socket"`
	HTTPS   string `yaml:"https"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	HTTP    string `yaml:"http"`
}

// UserAuth is Anchore's user_authentication block.
type UserAuth struct {
	OAuth          OAuth `yaml:"oauth"`
	HashedPassword bool  `yaml:"hashed_passwords"`
}

// OAuth is Anchore's user_authentication.oauth block.
type OAuth struct {
	Enabled                       bool   `yaml:"enabled"`
	DefaultTokenExpirationSeconds int    `yaml:"default_token_expiration_seconds"`
	Issuer                        string `yaml:"issuer"`
}

// Keys is Anchore's keys block.
type Keys struct {
	Secret         string `yaml:"secret"`
	SecretFile     string `yaml:"secret_file"`
	PublicKeyPath  string `yaml:"public_key_path"`
	PrivateKeyPath string `yaml:"private_key_path"`
	// Algorithm (ours) is the algorithm of the keys anchored generates,
	// keeps in its store and rotates when none of the above is set:
	// HS256 (the default), RS256 or ES256.
	Algorithm string `yaml:"algorithm"`
}

// Defaults returns the built-in defaults (the per-user column of SPEC 1 is
// resolved separately by ResolvePaths).
func Defaults() File {
	return File{
		HelperAccount:     registries.DefaultAccount,
		DefaultAdminEmail: "admin@myanchore",
		LogFormat:         LogFormatText,
		Audit:             Audit{Enabled: true},
		Store:             StoreVault,
		UserAuthentication: UserAuth{OAuth: OAuth{
			DefaultTokenExpirationSeconds: 3600,
			Issuer:                        "anchore-engine",
		}},
	}
}

// ErrInvalid wraps every problem found in a config file.
var ErrInvalid = errors.New("invalid configuration")

// Load reads path over the defaults. A missing file is not an error
// (found=false). A file that does not parse, or names a key the schema does
// not have, is: the error names the key and line, one line per problem.
func Load(path string) (cfg File, found bool, err error) {
	cfg = Defaults()
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return cfg, false, nil
		}
		return cfg, false, fmt.Errorf("read config: %w", err)
	}
	if err := Parse(b, &cfg); err != nil {
		return cfg, true, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, true, nil
}

// Parse decodes YAML into cfg, rejecting unknown keys.
//
// The parser is github.com/goccy/go-yaml. gopkg.in/yaml.v3 compiles
// regular expressions and builds tables in its init, which every
// docker-credential-anchore process (one per Docker request) paid before
// main whether or not a config file exists (BENCHMARKS.md). goccy stops at
// the first unknown key or wrong value, and skips the rest of a block after
// one; so the document is walked here along File's yaml tags, and each
// known key decoded on its own: every unknown key and every wrong value is
// reported with its line, and every good value is set, so that a caller
// can go on checking the rest and report everything at once.
func Parse(b []byte, cfg *File) error {
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, yamlProblem(err, ""))
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil // empty, or only comments: the defaults
	}
	d := decoder{anchors: anchorsOf(f.Docs[0].Body)}
	d.mapping(f.Docs[0].Body, "", reflect.ValueOf(cfg).Elem())
	if len(d.problems) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, d.problems)
	}
	return nil
}

// decoder decodes a document key by key (Parse).
type decoder struct {
	anchors  map[string]ast.Node // "&name" -> the node it marks
	problems Problems
}

// anchorsOf finds the document's anchors, so that an alias ("*name") can
// be decoded where a key uses it.
func anchorsOf(n ast.Node) map[string]ast.Node {
	anchors := map[string]ast.Node{}
	ast.Walk(anchorVisitor(anchors), n)
	return anchors
}

type anchorVisitor map[string]ast.Node

func (a anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.GetToken().Value] = an.Value
	}
	return a
}

// resolve looks through tags, anchors and aliases to the node meant.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 100 { // bounded: an alias cannot refer to itself
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			target, ok := d.anchors[v.Value.GetToken().Value]
			if !ok {
				return n // goccy reports the unknown alias
			}
			n = target
		default:
			return n
		}
	}
	return n
}

// mapping decodes the mapping n (the value of key; "" for the document)
// into the struct v key by key, in document order: a key v has no yaml tag
// for is a problem; a struct field is decoded by recursion; any other field
// by goccy, whose error is a problem of that key.
func (d *decoder) mapping(n ast.Node, key string, v reflect.Value) {
	n = d.resolve(n)
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	case *ast.NullNode:
		return // "key:" with nothing under it: the defaults
	default:
		line := 0
		if tok := n.GetToken(); tok != nil {
			line = tok.Position.Line
		}
		what := strings.ToLower(n.Type().String())
		if strings.ContainsAny(what[:1], "aeiou") {
			what = "an " + what
		} else {
			what = "a " + what
		}
		if key == "" {
			d.problems = append(d.problems, fmt.Sprintf("line %d: expected a mapping of keys, not %s", line, what))
		} else {
			d.problems = append(d.problems, fmt.Sprintf("line %d: %s: expected a mapping of keys, not %s", line, key, what))
		}
		return
	}
	for _, kv := range pairs {
		tok := kv.Key.GetToken()
		if tok == nil {
			continue
		}
		key, line := tok.Value, tok.Position.Line
		field, ok := yamlField(v, key)
		switch {
		case !ok:
			d.problems = append(d.problems, fmt.Sprintf("line %d: unknown key %q", line, key))
		case field.Kind() == reflect.Struct:
			d.mapping(kv.Value, key, field)
		default:
			if err := yaml.NodeToValue(d.resolve(kv.Value), field.Addr().Interface()); err != nil {
				d.problems = append(d.problems, yamlProblem(err, key))
			}
		}
	}
}

// yamlField is the field of the struct v whose yaml tag names key.
func yamlField(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// yamlProblem words a parse or decode error as one line: its line, the key
// it is about (when known), and the parser's message without Go names.
func yamlProblem(err error, key string) string {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return strings.Join(strings.Fields(err.Error()), " ")
	}
	msg := strings.Join(strings.Fields(ye.GetMessage()), " ")
	// "cannot unmarshal string into Go value of type bool": the key is
	// what the user wrote, not a Go type's field.
	if i := strings.Index(msg, " into Go "); i >= 0 {
		if j := strings.LastIndex(msg, " of type "); j > i {
			msg = msg[:i] + " into " + msg[j+len(" of type "):]
		}
	}
	line := ye.GetToken().Position.Line
	if key != "" {
		return fmt.Sprintf("line %d: %s: %s", line, key, msg)
	}
	return fmt.Sprintf("line %d: %s", line, msg)
}

// Problems are the problems of a file that parsed as YAML but does not fit
// the schema (unknown keys, values of the wrong type), one per element with
// its line. The known keys were decoded anyway, so a caller can go on
// checking the rest and report everything at once.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "; ") }

// ApplyEnv applies Anchore's environment overrides (as its container image
// does). Problems are returned together.
func (c *File) ApplyEnv(getenv func(string) string) error {
	var errs []error
	setBool := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a boolean", name, v))
				return
			}
			*dst = b
		}
	}
	if v := getenv("ANCHORE_AUTH_SECRET"); v != "" {
		c.Keys.Secret = v
	}
	if v := getenv("ANCHORE_AUTH_PUBKEY"); v != "" {
		c.Keys.PublicKeyPath = v
	}
	if v := getenv("ANCHORE_AUTH_PRIVKEY"); v != "" {
		c.Keys.PrivateKeyPath = v
	}
	setBool("ANCHORE_OAUTH_ENABLED", &c.UserAuthentication.OAuth.Enabled)
	setBool("ANCHORE_AUTH_ENABLE_HASHED_PASSWORDS", &c.UserAuthentication.HashedPassword)
	if v := getenv("ANCHORE_OAUTH_TOKEN_EXPIRATION"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("ANCHORE_OAUTH_TOKEN_EXPIRATION=%q is not a whole number of seconds", v))
		} else {
			c.UserAuthentication.OAuth.DefaultTokenExpirationSeconds = n
		}
	}
	if v := getenv("ANCHORE_ADMIN_PASSWORD"); v != "" {
		c.DefaultAdminPassword = v
	}
	if v := getenv(EnvDatabaseURL); v != "" {
		c.Database.URL = v
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// Environment variable names for the paths (SPEC section 1).
const (
	EnvConfig = "ANCHORE_CONFIG"
	EnvVault  = "ANCHORE_VAULT"
	EnvSocket = "ANCHORED_SOCKET"
)

// Paths are the resolved file locations.
type Paths struct {
	Config         string
	Vault          string
	Socket         string
	PassphraseFile string // empty: none configured
}

// Flags are the path flags as given on the command line ("" = not given).
type Flags struct {
	Config, Vault, Socket, PassphraseFile string
}

// ConfigPath resolves the config file path: flag, ANCHORE_CONFIG, default.
func ConfigPath(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if v := getenv(EnvConfig); v != "" {
		return v
	}
	return filepath.Join(xdg(getenv, "XDG_CONFIG_HOME", ".config"), "anchore", "config.yaml")
}

// ResolvePaths applies flag > environment > config file > default.
func ResolvePaths(f Flags, getenv func(string) string, cfg File) Paths {
	pick := func(flag, env, file, def string) string {
		switch {
		case flag != "":
			return flag
		case env != "" && getenv(env) != "":
			return getenv(env)
		case file != "":
			return file
		}
		return def
	}
	// The config file's passphrase_file comes after every environment
	// source, ANCHORE_VAULT_PASSPHRASE included: environment before config
	// file, as for every other setting (docs/vault-format.md).
	fileUnlessEnv := cfg.PassphraseFile
	if getenv("ANCHORE_VAULT_PASSPHRASE") != "" {
		fileUnlessEnv = ""
	}
	socketFromFile := cfg.Socket
	if socketFromFile == "" {
		socketFromFile = cfg.Listen.Socket
	}
	return Paths{
		Config:         ConfigPath(f.Config, getenv),
		Vault:          pick(f.Vault, EnvVault, cfg.Vault, filepath.Join(xdg(getenv, "XDG_DATA_HOME", filepath.Join(".local", "share")), "anchore", "vault")),
		Socket:         pick(f.Socket, EnvSocket, socketFromFile, filepath.Join(runtimeDir(getenv), "anchored.sock")),
		PassphraseFile: pick(f.PassphraseFile, "ANCHORE_VAULT_PASSPHRASE_FILE", fileUnlessEnv, ""),
	}
}

func xdg(getenv func(string) string, name, fallback string) string {
	if v := getenv(name); v != "" {
		return v
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, fallback)
}

func runtimeDir(getenv func(string) string) string {
	if v := getenv("XDG_RUNTIME_DIR"); v != "" {
		return v
	}
	return filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
}
