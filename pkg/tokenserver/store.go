package tokenserver

import (
	"context"
	"errors"
	"time"

	"github.com/anchored/anchored/pkg/registries"
)

// Store sentinels, as dex's storage package names them: callers branch on
// them with errors.Is, whatever the backend.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnavailable marks a store that cannot be reached (a database
	// down): the API answers 503 with Retry-After, not 500.
	ErrUnavailable = errors.New("store unavailable")
)

// Account is the stored form of an Anchore account.
type Account struct {
	Name        string
	Email       string
	Type        string // apitype.AccountType*
	State       string // apitype.Account{Enabled,Disabled,Deleting}
	CreatedAt   time.Time
	LastUpdated time.Time
}

// User is the stored form of an Anchore user. At most one of Password and
// PasswordHash is set; neither means the user has no credential (deleted
// with DELETE .../credentials) and cannot log in.
type User struct {
	Username     string
	Account      string
	UUID         string // the JWT "sub"
	Type         string // apitype.UserType*
	Source       string
	Password     string // hashed_passwords off: Anchore's plaintext mode
	PasswordHash string // hashed_passwords on: passhash's PHC string
	// Generation changes with every credential change; tokens carry it.
	Generation  int64
	CreatedAt   time.Time
	LastUpdated time.Time
}

// HasCredential reports whether u has a password to log in with.
func (u User) HasCredential() bool { return u.Password != "" || u.PasswordHash != "" }

// Store keeps accounts, users and the generated signing keys. Every read
// and write of records goes through it, so that a shared database can
// replace the vault file for a fleet of replicas. Implementations must be
// safe for concurrent use and must see changes made by other processes
// before they answer.
//
// Updaters receive a copy of the record; returning an error from an
// updater aborts the change and the error is returned as it is.
//
// Registry entries are the registries.Store seam, in its own domain type;
// storetest.Run is the behaviour every implementation must pass.
type Store interface {
	registries.Store

	GetAccount(ctx context.Context, name string) (Account, error)
	ListAccounts(ctx context.Context) ([]Account, error)
	CreateAccount(ctx context.Context, a Account) error
	UpdateAccount(ctx context.Context, name string, fn func(Account) (Account, error)) error
	// DeleteAccount removes the account, its users and everything else
	// the account owns.
	DeleteAccount(ctx context.Context, name string) error

	GetUser(ctx context.Context, username string) (User, error)
	GetUserByUUID(ctx context.Context, uuid string) (User, error)
	ListUsers(ctx context.Context, account string) ([]User, error)
	// CreateUser fails with ErrNotFound when the account does not exist
	// and ErrAlreadyExists when the user name is taken in any account.
	CreateUser(ctx context.Context, u User) error
	UpdateUser(ctx context.Context, username string, fn func(User) (User, error)) error
	DeleteUser(ctx context.Context, username string) error

	// SigningKeys returns the stored signing keys, newest first.
	SigningKeys(ctx context.Context) ([]KeyRecord, error)
	// EnsureSigningKey stores generate()'s result only when the store has
	// no signing key (concurrent callers, in any process, get one), and
	// returns every key, newest first.
	EnsureSigningKey(ctx context.Context, generate func() (KeyRecord, error)) ([]KeyRecord, error)
	// RotateSigningKey, in one atomic change, sets VerifyUntil to
	// now+keepFor on every key that has none (the ones that sign), adds
	// next, and removes the keys whose VerifyUntil is before now.
	RotateSigningKey(ctx context.Context, next KeyRecord, now time.Time, keepFor time.Duration) error
}

// KeyRecord is a stored token signing key. The newest key whose
// VerifyUntil is zero signs; the others only verify, until VerifyUntil.
type KeyRecord struct {
	KID, Alg string
	// Private is the HS256 secret bytes, or the RS256/ES256 private key
	// in PKCS#8 DER.
	Private                []byte
	CreatedAt, VerifyUntil time.Time // VerifyUntil: zero while it signs
}

// KeysNotifier is an optional Store interface: a store that learns of
// changes made elsewhere (the vault re-reading a file another process
// wrote, a database notification) calls fn after the signing keys changed,
// so the server reloads its keys without reading the store per request.
// fn must be cheap and must not call the store.
type KeysNotifier interface {
	OnSigningKeysChange(fn func())
}
