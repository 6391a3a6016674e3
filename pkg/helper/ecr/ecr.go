// Package ecr resolves Amazon ECR registry entries to short-lived ECR
// authorization tokens (SPEC section 5).
//
// This package is deliberately light: it links neither the AWS SDK nor
// ecr-login, because docker-credential-anchore imports it and Go runs every
// linked package's init before main, on every "get" Docker makes (the SDK's
// and ecr-login's inits alone cost more than a whole trivial helper). What
// needs AWS goes through the AWS interface: pkg/helper/ecr/awsecr implements
// it in process with the SDK (the daemon), and pkg/helper/ecr/ecrexec by
// running "anchored ecr" (the helper, and only on a cache miss).
//
// The Resolver caches tokens with their expiry, renews them when less than
// RenewBefore remains, and fetches once for many concurrent callers
// (singleflight in process, a lock file per cache key across processes).
// docs/ecr.md describes the behaviour.
package ecr

import (
	"context"
	"errors"
	"strings"
	"time"
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
	// ErrNoAWS: the Resolver was given no AWS implementation.
	ErrNoAWS = errors.New("no access to AWS configured for ECR")
)

// Special user and password values of awsecr entries (Anchore's).
const (
	// AWSAuto as user or password: use the host's own AWS identity.
	AWSAuto = "awsauto"
	// IAMRoleUser as user: the password is "ROLE_ARN[;EXTERNAL_ID]" and the
	// host's identity assumes that role.
	IAMRoleUser = "_iam_role"
)

// RoleSessionName names the STS sessions of _iam_role entries, so that
// CloudTrail shows who assumed the role.
const RoleSessionName = "anchored-ecr"

// RenewBefore is how long before its expiry a cached token is renewed. A
// token with less than this left is never served from the cache, so a client
// that received one has at least this long to use it (a long push included).
const RenewBefore = 30 * time.Minute

// Registry is what an ECR host name says.
type Registry struct {
	Host   string `json:"host"` // lowercased host name, no port
	ID     string `json:"id"`   // 12-digit AWS account id
	Region string `json:"region"`
	FIPS   bool   `json:"fips,omitempty"`
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

// AWS is everything the Resolver needs from AWS. Both methods accept a
// server URL or key (scheme, port and path are ignored).
type AWS interface {
	// Parse recognises an ECR host as ecr-login's api.ExtractRegistry does.
	// ok is false for any other host (ECR Public included); err is a
	// failure to answer at all (the "anchored ecr" helper missing).
	Parse(ctx context.Context, host string) (reg Registry, ok bool, err error)
	// Fetch asks AWS for a new token for host with creds, whatever any
	// cache holds. Its errors wrap ErrNotECR, ErrBadCredentials or
	// ErrToken where they are one of those, and never hold a secret.
	Fetch(ctx context.Context, host string, creds Credentials) (Token, error)
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

// HostName is the host part of a server URL or key as Parse names it in
// Registry.Host: trimmed, lowercased (host names are case-insensitive but
// ecr-login's pattern is not), without scheme, user info, port, path, query
// or fragment. "" when there is no host. It needs no AWS knowledge, so the
// cache key can be computed, and a cached token served, without asking
// whether the host is ECR at all: a non-ECR host is never cached, because
// its fetch fails with ErrNotECR.
func HostName(host string) string {
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
		return ""
	}
	return hostname(s)
}

// hostname is net/url's URL.Hostname of "https://"+hostport, and "" where
// url.Parse fails, without linking net/url (which brings net/netip and its
// init into the helper binary; BENCHMARKS.md). TestHostNameMatchesNetURL
// holds the two together.
func hostname(hostport string) string {
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	if strings.ContainsFunc(hostport, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return ""
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		// An IPv6 literal, its zone (if any) escaped as "%25".
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return ""
		}
		host, port = hostport[1:end], hostport[end+1:]
		if port != "" && port[0] != ':' {
			return ""
		}
		addr, zone, hasZone := strings.Cut(host, "%25")
		if strings.Contains(addr, "%") || strings.Contains(zone, "%") {
			return ""
		}
		if hasZone {
			host = addr + "%" + zone
		}
	} else {
		if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
			host, port = hostport[:i], hostport[i:]
		}
		if strings.ContainsAny(host, "[]:%") {
			return ""
		}
	}
	if port != "" && strings.Trim(port[1:], "0123456789") != "" {
		return ""
	}
	return host
}
