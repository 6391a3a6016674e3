package vault

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// FormatVersion is the newest version of the JSON document this build reads
// and writes. A document with a larger version is refused, for writing and
// for reading (ErrNewerVersion): a newer build may have changed what a field
// means, and a rewrite by this build would drop what it does not know.
const FormatVersion = 2

// Versions of the document. Writers write the lowest version that holds the
// document: a vault without signing_keys stays version 1, so that a vault
// only the helper uses stays readable by older builds; signing_keys needs
// version 2, since an older build would ignore them and sign with
// signing_secret (docs/vault-format.md, "Versions").
const (
	BaseVersion        = 1
	SigningKeysVersion = 2
)

// Document is the plaintext inside the age file. docs/vault-format.md is its
// specification; keep the two in step (a test compares them).
//
// Maps are keyed by the record's natural key, which must equal the key field
// inside the record; ParseDocument and Marshal enforce it so that no code path
// can write a vault that later fails to open.
//
// Encode and decode a Document only with ParseDocument and Marshal: they keep
// unknown members (the Extra fields) and fix the output order. encoding/json
// (v1) does not understand the "embed" option and would lose them.
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
	// Version 1 only: a version 2 writer moves it into SigningKeys.
	SigningSecret string `json:"signing_secret,omitempty"`
	// SigningKeys are anchored's generated token signing keys by key id
	// (version 2). Absent until anchored keeps keys.
	SigningKeys map[string]*SigningKey `json:"signing_keys,omitempty"`

	// Extra holds members this build does not know (see Extra).
	Extra Extra `json:",embed"`
}

// Extra holds the members of a JSON object that this build does not know, so
// that a rewrite by an older build of the same format version keeps what a
// newer build of that version added (docs/vault-format.md, "Versions").
type Extra map[string]jsontext.Value

// Account is an Anchore account.
type Account struct {
	Name        string    `json:"name"`
	Email       string    `json:"email,omitempty"`
	Type        string    `json:"type"`  // "admin", "user" or "service"
	State       string    `json:"state"` // "enabled", "disabled" or "deleting"
	CreatedAt   time.Time `json:"created_at"`
	LastUpdated time.Time `json:"last_updated"`

	Extra Extra `json:",embed"`
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

	Extra Extra `json:",embed"`
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

	Extra Extra `json:",embed"`
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

	Extra Extra `json:",embed"`
}

// SigningKey is one token signing key that anchored generated: it signs
// while VerifyUntil is zero, and after a rotation verifies tokens until
// VerifyUntil.
type SigningKey struct {
	KID string `json:"kid"`
	Alg string `json:"alg"` // "HS256", "RS256" or "ES256"
	// Private is the HS256 secret, or the RS256/ES256 private key in PKCS#8
	// DER; base64 in the document.
	Private     []byte    `json:"private"`
	CreatedAt   time.Time `json:"created_at"`
	VerifyUntil time.Time `json:"verify_until,omitzero"`

	Extra Extra `json:",embed"`
}

// NewDocument returns an empty document of the base version.
func NewDocument() *Document {
	d := &Document{Version: BaseVersion}
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

// ParseDocument decodes a document. It does no cryptography, never panics on
// hostile input, and returns nil on every error. The errors wrap ErrDamaged
// (not JSON, or records that break the rules), ErrNotVault (JSON without a
// version) or ErrNewerVersion.
//
// Unknown members land in the Extra fields during the one decode (the json v2
// "embed" fallback), so opening a large vault costs a single pass.
func ParseDocument(b []byte) (*Document, error) {
	d := &Document{}
	if err := json.Unmarshal(b, d); err != nil {
		// A newer version may have changed a member's type; say "newer"
		// rather than "damaged" when the version says so.
		if v, ok := probeVersion(b); ok && v > FormatVersion {
			return nil, newerErr(v)
		}
		return nil, fmt.Errorf("%w: the document inside does not parse%s", ErrDamaged, where(err))
	}
	switch {
	case d.Version > FormatVersion:
		return nil, newerErr(d.Version)
	case d.Version < 1:
		return nil, fmt.Errorf("%w: the document inside has no valid version", ErrNotVault)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	d.init()
	return d, nil
}

func newerErr(v int) error {
	return fmt.Errorf("%w (format %d; this build knows up to %d)", ErrNewerVersion, v, FormatVersion)
}

// probeVersion reads only the version member.
func probeVersion(b []byte) (int, bool) {
	var p struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return 0, false
	}
	return p.Version, true
}

// where names the place of a decode error by its JSON pointer only: the
// error's own text may quote the offending value, which can be a secret.
func where(err error) string {
	var se *json.SemanticError
	var xe *jsontext.SyntacticError
	switch {
	case errors.As(err, &se) && se.JSONPointer != "":
		return fmt.Sprintf(" at %q", string(se.JSONPointer))
	case errors.As(err, &xe):
		return fmt.Sprintf(" at byte %d", xe.ByteOffset)
	}
	return ""
}

// validate enforces what the format requires beyond JSON types: no null
// records, and each map key equal to its record's own key.
func (d *Document) validate() error {
	bad := func(kind, key, why string) error {
		return fmt.Errorf("%w: %s %q %s", ErrDamaged, kind, key, why)
	}
	for k, a := range d.Accounts {
		if a == nil {
			return bad("account", k, "is null")
		}
		if a.Name != k {
			return bad("account", k, "holds a record named otherwise")
		}
	}
	for k, u := range d.Users {
		if u == nil {
			return bad("user", k, "is null")
		}
		if u.Username != k {
			return bad("user", k, "holds a record named otherwise")
		}
	}
	for acct, m := range d.Registries {
		for k, r := range m {
			if r == nil {
				return bad("registry", acct+" "+k, "is null")
			}
			if r.Registry != k {
				return bad("registry", acct+" "+k, "holds a record for another registry")
			}
		}
	}
	for k, t := range d.ECRTokens {
		if t == nil {
			return bad("ECR token", k, "is null")
		}
		if t.Key != k {
			return bad("ECR token", k, "holds a record with another key")
		}
	}
	for k, sk := range d.SigningKeys {
		if sk == nil {
			return bad("signing key", k, "is null")
		}
		if sk.KID != k {
			return bad("signing key", k, "holds a record with another kid")
		}
		if d.Version < SigningKeysVersion {
			return bad("signing key", k, fmt.Sprintf("needs format version %d", SigningKeysVersion))
		}
	}
	return nil
}

// Marshal encodes the document, unknown members included. The output is the
// same for equal documents (map keys sorted). It refuses a newer version and
// a document that ParseDocument would refuse, so a bug in a caller cannot
// write a vault that no longer opens.
func (d *Document) Marshal() ([]byte, error) {
	if d.Version > FormatVersion {
		return nil, newerErr(d.Version)
	}
	if d.Version < 1 {
		return nil, fmt.Errorf("vault document: version %d is not valid", d.Version)
	}
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("vault document: %w", err)
	}
	c := *d
	c.init() // write {} rather than null for empty collections
	b, err := json.Marshal(&c, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("encode vault document%s", where(err))
	}
	return append(b, '\n'), nil
}

// Clone returns a deep copy, so an updater can change it while readers keep
// the original. It is much cheaper than a decode.
func (d *Document) Clone() *Document {
	c := *d
	c.Extra = d.Extra.clone()
	c.Accounts = make(map[string]*Account, len(d.Accounts))
	for k, a := range d.Accounts {
		a2 := *a
		a2.Extra = a.Extra.clone()
		c.Accounts[k] = &a2
	}
	c.Users = make(map[string]*User, len(d.Users))
	for k, u := range d.Users {
		u2 := *u
		u2.Extra = u.Extra.clone()
		c.Users[k] = &u2
	}
	c.Registries = make(map[string]map[string]*Registry, len(d.Registries))
	for acct, m := range d.Registries {
		m2 := make(map[string]*Registry, len(m))
		for k, r := range m {
			r2 := *r
			r2.Extra = r.Extra.clone()
			m2[k] = &r2
		}
		c.Registries[acct] = m2
	}
	c.ECRTokens = make(map[string]*ECRToken, len(d.ECRTokens))
	for k, t := range d.ECRTokens {
		t2 := *t
		t2.Extra = t.Extra.clone()
		c.ECRTokens[k] = &t2
	}
	if d.SigningKeys != nil {
		c.SigningKeys = make(map[string]*SigningKey, len(d.SigningKeys))
		for k, sk := range d.SigningKeys {
			sk2 := *sk
			sk2.Private = slices.Clone(sk.Private)
			sk2.Extra = sk.Extra.clone()
			c.SigningKeys[k] = &sk2
		}
	}
	return &c
}

func (e Extra) clone() Extra {
	if e == nil {
		return nil
	}
	c := maps.Clone(e)
	for k, v := range c {
		c[k] = v.Clone()
	}
	return c
}
