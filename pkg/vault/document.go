package vault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// FormatVersion is the version of the JSON document this build reads and
// writes. A document with a larger version is refused for writing
// (ErrNewerVersion) and read only as far as opening it goes.
const FormatVersion = 1

// Document is the plaintext inside the age file. docs/vault-format.md is its
// specification; keep the two in step.
//
// Maps are keyed by the record's natural key so that lookups need no scan and
// the JSON encoding is deterministic (encoding/json sorts map keys).
type Document struct {
	Version int `json:"version"`
	// Accounts by account name.
	Accounts map[string]*Account `json:"accounts"`
	// Users by user name; user names are global, as in Anchore.
	Users map[string]*User `json:"users"`
	// Registries by account name, then by registry key (the normalised
	// "host[:port][/path][*]" text, as Anchore keys it).
	Registries map[string]map[string]*Registry `json:"registries"`
	// ECRTokens are cached Amazon ECR tokens by cache key (see ECRToken).
	ECRTokens map[string]*ECRToken `json:"ecr_tokens"`
	// SigningSecret is the generated HS256 secret of anchored (base64 of 32
	// random bytes), empty until anchored first needs one.
	SigningSecret string `json:"signing_secret,omitempty"`

	Extra Extra `json:"-"`
}

// Account is an Anchore account.
type Account struct {
	Name        string    `json:"name"`
	Email       string    `json:"email,omitempty"`
	Type        string    `json:"type"`  // "admin", "user" or "service"
	State       string    `json:"state"` // "enabled", "disabled" or "deleting"
	CreatedAt   time.Time `json:"created_at"`
	LastUpdated time.Time `json:"last_updated"`

	Extra Extra `json:"-"`
}

// User is an Anchore user; it belongs to exactly one account.
type User struct {
	Username string `json:"username"`
	Account  string `json:"account"`
	UUID     string `json:"uuid"`             // the JWT "sub"; a re-created user gets a new one
	Type     string `json:"type"`             // "native", "internal" or "external"
	Source   string `json:"source,omitempty"` // null for native users in the API
	// Exactly one of Password and PasswordHash is set: Password when
	// hashed_passwords is off (Anchore's plaintext mode), PasswordHash (a
	// PHC-style "$scrypt$..." string) when it is on.
	Password     string `json:"password,omitempty"`
	PasswordHash string `json:"password_hash,omitempty"`
	// Generation changes with every password change; tokens carry it and
	// stop verifying when it moves.
	Generation  int64     `json:"generation"`
	CreatedAt   time.Time `json:"created_at"`
	LastUpdated time.Time `json:"last_updated"`

	Extra Extra `json:"-"`
}

// Registry is one set of registry credentials of one account, in the shape
// of Anchore's registries table.
type Registry struct {
	Registry string `json:"registry"`      // the key: host[:port][/repo...][*]
	Name     string `json:"registry_name"` // defaults to Registry
	Type     string `json:"registry_type"` // "docker_v2" or "awsecr"
	User     string `json:"registry_user"`
	Pass     string `json:"registry_pass"`
	Verify   bool   `json:"registry_verify"` // verify TLS
	// ServerURL is the server URL exactly as a Docker client sent it to
	// "store" (for example "https://index.docker.io/v1/"); "list" answers
	// with it so that clients find their own keys again. Empty for entries
	// made with "registry add" or the API.
	ServerURL   string    `json:"server_url,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	LastUpdated time.Time `json:"last_updated"`

	Extra Extra `json:"-"`
}

// ECRToken is a cached Amazon ECR authorization token. Key is chosen by the
// caller (account, registry and credential identity, never a secret).
type ECRToken struct {
	Key           string    `json:"key"`
	Username      string    `json:"username"` // "AWS"
	Password      string    `json:"password"` // the token's password part
	ProxyEndpoint string    `json:"proxy_endpoint,omitempty"`
	RequestedAt   time.Time `json:"requested_at"`
	ExpiresAt     time.Time `json:"expires_at"`

	Extra Extra `json:"-"`
}

// NewDocument returns an empty document of the current version.
func NewDocument() *Document {
	d := &Document{Version: FormatVersion}
	d.init()
	return d
}

// init makes every map non-nil so callers can index without checks.
func (d *Document) init() {
	if d.Accounts == nil {
		d.Accounts = map[string]*Account{}
	}
	if d.Users == nil {
		d.Users = map[string]*User{}
	}
	if d.Registries == nil {
		d.Registries = map[string]map[string]*Registry{}
	}
	if d.ECRTokens == nil {
		d.ECRTokens = map[string]*ECRToken{}
	}
}

// AccountRegistries returns the registry map of one account, creating it.
func (d *Document) AccountRegistries(account string) map[string]*Registry {
	m := d.Registries[account]
	if m == nil {
		m = map[string]*Registry{}
		d.Registries[account] = m
	}
	return m
}

// ParseDocument decodes a document. It does no cryptography and never
// panics on hostile input; on error it returns nil. A document of a newer
// version is returned together with ErrNewerVersion so that a reader may
// still report what it is.
func ParseDocument(b []byte) (*Document, error) {
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%w: document is not JSON: %v", ErrDamaged, err)
	}
	if probe.Version == nil || *probe.Version < 1 {
		return nil, fmt.Errorf("%w: document has no valid version", ErrNotVault)
	}
	if *probe.Version > FormatVersion {
		return &Document{Version: *probe.Version}, fmt.Errorf("%w (format %d, this build reads up to %d)", ErrNewerVersion, *probe.Version, FormatVersion)
	}
	d := &Document{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("%w: document does not parse: %v", ErrDamaged, err)
	}
	d.init()
	return d, nil
}

// Marshal encodes the document; the output is deterministic for equal
// documents.
func (d *Document) Marshal() ([]byte, error) {
	if d.Version > FormatVersion {
		return nil, ErrNewerVersion
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode vault document: %w", err)
	}
	return buf.Bytes(), nil
}
