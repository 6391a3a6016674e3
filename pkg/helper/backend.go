package helper

import (
	"context"
	"errors"
)

// ErrNotFound means no entry answers a server URL. The protocol layer turns
// it into the credentials library's not-found error, whose text Docker
// clients match.
var ErrNotFound = errors.New("credentials not found")

// Credentials is one answer to "get", and one request to "store", in the
// Docker protocol's terms.
type Credentials struct {
	ServerURL string
	Username  string
	Secret    string
}

// Backend answers the protocol actions. Two implementations: the vault in
// process (direct mode) and anchored over its Unix socket; one behaviour
// test body runs against both, and their answers must be identical.
type Backend interface {
	// Get resolves serverURL by the lookup rule (SPEC section 3) and returns
	// the credentials to use, resolving awsecr entries to ECR tokens. It
	// returns an error wrapping ErrNotFound when nothing matches.
	Get(ctx context.Context, serverURL string) (Credentials, error)
	// Store saves c under the normalised key of c.ServerURL.
	Store(ctx context.Context, c Credentials) error
	// Erase removes the entry of exactly the normalised key; erasing what
	// is not there succeeds.
	Erase(ctx context.Context, serverURL string) error
	// List maps each entry's server URL, as it was stored, to its username.
	List(ctx context.Context) (map[string]string, error)
}
