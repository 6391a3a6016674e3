// Package ecr resolves Amazon ECR registry entries to short-lived ECR
// authorization tokens (SPEC section 5).
//
// Hosts are recognised with ecr-login's api.ExtractRegistry; tokens come from
// the AWS SDK v2's own ECR client, with an aws.Config from
// config.LoadDefaultConfig so that the SDK's endpoint variables
// (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS,
// AWS_EC2_METADATA_SERVICE_ENDPOINT) are honoured. Tokens are cached with their
// expiry, renewed when less than RenewBefore remains, and fetched once for
// many concurrent callers (singleflight in process, a lock file per cache key
// across processes). docs/ecr.md describes the behaviour; the exported names
// below are relied on by pkg/helper and the daemon.
package ecr

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/awslabs/amazon-ecr-credential-helper/ecr-login/api"
)

// ErrIAMAutoDisabled is returned for awsauto and _iam_role entries when
// allow_awsecr_iam_auto is off. Its text is Anchore's.
var ErrIAMAutoDisabled = errors.New("'awsauto' is not enabled in service configuration")

// Errors a caller can branch on with errors.Is.
var (
	// ErrNotECR: the host is not an Amazon ECR (private) registry host.
	ErrNotECR = errors.New("not an Amazon ECR registry host")
	// ErrBadCredentials: the entry's user and password do not form one of
	// the accepted shapes (access key id and secret, awsauto, or _iam_role
	// with ROLE_ARN[;EXTERNAL_ID]).
	ErrBadCredentials = errors.New("unusable awsecr credentials")
	// ErrToken: AWS did not give a token (the wrapped error says why: the
	// AWS error code and message, never a secret).
	ErrToken = errors.New("cannot get an Amazon ECR token")
)

// Special user and password values of awsecr entries (Anchore's).
const (
	// AWSAuto as user or password: use the host's own AWS identity.
	AWSAuto = "awsauto"
	// IAMRoleUser as user: the password is "ROLE_ARN[;EXTERNAL_ID]" and the
	// host's identity assumes that role.
	IAMRoleUser = "_iam_role"
)

// RenewBefore is how long before its expiry a cached token is renewed. A
// token with less than this left is never served from the cache, so a client
// that received one has at least this long to use it (a long push included).
const RenewBefore = 30 * time.Minute

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
// port and path are ignored). The input is lowercased first: host names are
// case-insensitive but ecr-login's pattern is not. ECR Public
// (public.ecr.aws) is not an ECR host here: its tokens come from another
// service and it is never guessed as awsecr.
func Parse(host string) (Registry, bool) {
	s := strings.ToLower(strings.TrimSpace(host))
	// ExtractRegistry strips only "https://"; a key may also carry "http://".
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			s = rest
			break
		}
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return Registry{}, false
	}
	r, err := api.ExtractRegistry(s)
	if err != nil || r.Service != api.ServiceECR {
		return Registry{}, false
	}
	u, err := url.Parse("https://" + s)
	if err != nil {
		return Registry{}, false
	}
	return Registry{Host: u.Hostname(), ID: r.ID, Region: r.Region, FIPS: r.FIPS}, true
}
