// Package ecr resolves Amazon ECR registry entries to short-lived ECR
// authorization tokens (SPEC section 5). (API fixed; implementation pending.)
package ecr

import (
	"context"
	"errors"
	"time"
)

// ErrIAMAutoDisabled is returned for awsauto and _iam_role entries when
// allow_awsecr_iam_auto is off. Its text is Anchore's.
var ErrIAMAutoDisabled = errors.New("'awsauto' is not enabled in service configuration")

// Registry is what an ECR host name says.
type Registry struct {
	Host   string // lowercased host name, no port
	ID     string // 12-digit AWS account id
	Region string
	FIPS   bool
}

// Credentials are an entry's stored user and password: an access key id and
// secret access key, "awsauto", or "_iam_role" and "ROLE_ARN[;EXTERNAL_ID]".
type Credentials struct {
	User, Pass string
}

// Token is an ECR authorization token, split into the user ("AWS") and
// password Docker sends to the registry.
type Token struct {
	Username      string
	Password      string
	ProxyEndpoint string
	RequestedAt   time.Time
	ExpiresAt     time.Time
}

// Cache keeps tokens between calls: in anchored's memory, or sealed in the
// vault in direct mode. Keys never contain a secret.
type Cache interface {
	Load(ctx context.Context, key string) (Token, bool, error)
	Store(ctx context.Context, key string, t Token) error
}

// Locker serialises token fetches for one key across processes (direct
// mode: a lock file per registry). The returned func releases the lock.
type Locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Parse recognises an ECR host (a server URL or key is accepted; scheme,
// port and path are ignored).
func Parse(host string) (Registry, bool) { return Registry{}, false }

// Resolver fetches and caches tokens. Its zero value is not usable; see the
// implementation for the fields.
type Resolver struct {
	AllowIAMAuto bool
	Now          func() time.Time
	Cache        Cache
	Locker       Locker
}

// Token returns a valid token for the registry host of an entry of
// account with creds.
func (r *Resolver) Token(ctx context.Context, account, host string, creds Credentials) (Token, error) {
	return Token{}, errors.New("ecr: not implemented yet")
}
