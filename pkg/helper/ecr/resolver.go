package ecr

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultFetchTimeout bounds one shared fetch (lock wait, credentials, the
// ECR call) when Resolver.FetchTimeout is zero.
const DefaultFetchTimeout = time.Minute

// Resolver fetches and caches tokens. Set the fields before the first call
// and do not copy it afterwards. AWS is required; nil optional fields take
// defaults: Now time.Now, Cache a private in-memory cache, Locker none (one
// process only), Logger discards.
type Resolver struct {
	// AWS recognises hosts and fetches tokens: awsecr.Client in process,
	// ecrexec.Client through "anchored ecr". It is only asked on a cache
	// miss (and by Check and Parse), never to serve a cached token.
	AWS AWS
	// AllowIAMAuto is allow_awsecr_iam_auto: awsauto and _iam_role entries
	// spend the host's own AWS identity and are refused without it.
	AllowIAMAuto bool
	Now          func() time.Time
	Cache        Cache
	Locker       Locker
	// Logger gets warnings: a cache that could not be read or written, a
	// renewal that failed while the cached token was still valid.
	Logger *slog.Logger
	// FetchTimeout bounds one shared fetch; zero means DefaultFetchTimeout.
	FetchTimeout time.Duration

	once  sync.Once
	mem   Cache
	group singleflight.Group
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Resolver) cache() Cache {
	if r.Cache != nil {
		return r.Cache
	}
	r.once.Do(func() { r.mem = NewMemoryCache() })
	return r.mem
}

func (r *Resolver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// CacheKey is the cache (and lock) key of an entry: the account, the
// registry host (HostName: for an ECR host the same as Parse's Host, so the
// key needs no AWS knowledge) and a name of the credentials that holds no
// secret (a hash of the access key id, "awsauto", or the role ARN).
func CacheKey(account, host string, creds Credentials) (string, error) {
	h := HostName(host)
	if h == "" {
		return "", fmt.Errorf("%w: %q", ErrNotECR, host)
	}
	a, err := Classify(creds)
	if err != nil {
		return "", err
	}
	return cacheKey(account, h, a), nil
}

func cacheKey(account, hostName string, a Auth) string {
	return fmt.Sprintf("%q %s %s", account, hostName, a.Identity)
}

// Parse asks AWS whether host is an ECR host (see AWS.Parse).
func (r *Resolver) Parse(ctx context.Context, host string) (Registry, bool, error) {
	if r.AWS == nil {
		return Registry{}, false, ErrNoAWS
	}
	return r.AWS.Parse(ctx, host)
}

// prepare checks what can be checked without AWS: a host, usable
// credentials, and the host-identity setting. It never calls AWS, so a
// refused entry costs no AWS call (and no process).
func (r *Resolver) prepare(host string, creds Credentials) (string, Auth, error) {
	h := HostName(host)
	if h == "" {
		return "", Auth{}, fmt.Errorf("%w: %q", ErrNotECR, host)
	}
	a, err := Classify(creds)
	if err != nil {
		return "", Auth{}, err
	}
	if a.UsesHostIdentity() && !r.AllowIAMAuto {
		return "", Auth{}, ErrIAMAutoDisabled
	}
	return h, a, nil
}

// fresh says whether a cached token may be served at now.
func fresh(t Token, now time.Time) bool {
	return t.Password != "" && t.ExpiresAt.Sub(now) > RenewBefore
}

// Token returns a valid token for the registry host of an entry of
// account with creds.
// A cached fresh token is served without asking AWS anything, not even
// whether host is ECR (a host that is not was never cached).
func (r *Resolver) Token(ctx context.Context, account, host string, creds Credentials) (Token, error) {
	h, a, err := r.prepare(host, creds)
	if err != nil {
		return Token{}, err
	}
	key := cacheKey(account, h, a)
	if t, ok := r.load(ctx, key); ok && fresh(t, r.now()) {
		return t, nil
	}

	// One fetch per key in this process. It runs on a context detached
	// from the first caller's cancellation, so one impatient caller does not
	// fail the others; each caller still stops waiting when its own ctx ends.
	ch := r.group.DoChan(key, func() (any, error) {
		timeout := r.FetchTimeout
		if timeout <= 0 {
			timeout = DefaultFetchTimeout
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return r.fetchShared(fctx, key, h, creds)
	})
	select {
	case <-ctx.Done():
		return Token{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return Token{}, res.Err
		}
		return res.Val.(Token), nil
	}
}

// fetchShared takes the cross-process lock, re-checks the cache (another
// process may have fetched while we waited), and only then calls AWS.
func (r *Resolver) fetchShared(ctx context.Context, key, host string, creds Credentials) (Token, error) {
	if r.Locker != nil {
		unlock, err := r.Locker.Lock(ctx, key)
		if err != nil {
			return Token{}, fmt.Errorf("ecr token lock: %w", err)
		}
		defer unlock()
	}
	cached, haveCached := r.load(ctx, key)
	if haveCached && fresh(cached, r.now()) {
		return cached, nil
	}
	t, err := r.fetchValid(ctx, host, creds)
	if err != nil {
		// A renewal that failed while the old token is still valid serves
		// the old one: an ECR hiccup should not break pulls for the last
		// half hour of a token's life. An expired token is never served.
		if haveCached && r.now().Before(cached.ExpiresAt) {
			r.logger().Warn("ecr token renewal failed; serving the cached token until it expires",
				"registry", host, "expires_at", cached.ExpiresAt, "err", err)
			return cached, nil
		}
		return Token{}, err
	}
	if err := r.cache().Store(ctx, key, t); err != nil {
		r.logger().Warn("ecr token cache not written", "registry", host, "err", err)
	}
	return t, nil
}

// load reads the cache; a cache that cannot be read is a miss, not a
// failure, since AWS can still be asked.
func (r *Resolver) load(ctx context.Context, key string) (Token, bool) {
	t, ok, err := r.cache().Load(ctx, key)
	if err != nil {
		r.logger().Warn("ecr token cache not read", "err", err)
		return Token{}, false
	}
	return t, ok
}

// Check fetches a new token with creds whatever the cache holds, and caches
// it on success. "registry add" and "registry update" validate with it: a
// token cached under the same access key id would otherwise pass a wrong
// new secret.
func (r *Resolver) Check(ctx context.Context, account, host string, creds Credentials) (Token, error) {
	h, a, err := r.prepare(host, creds)
	if err != nil {
		return Token{}, err
	}
	t, err := r.fetchValid(ctx, h, creds)
	if err != nil {
		return Token{}, err
	}
	if err := r.cache().Store(ctx, cacheKey(account, h, a), t); err != nil {
		r.logger().Warn("ecr token cache not written", "registry", h, "err", err)
	}
	return t, nil
}

// fetchValid asks AWS, stamps the token with our clock's request time (the
// vault cache prunes by it), and refuses a token that is already expired by
// our clock (a badly skewed clock): an expired token is never served.
func (r *Resolver) fetchValid(ctx context.Context, host string, creds Credentials) (Token, error) {
	if r.AWS == nil {
		return Token{}, ErrNoAWS
	}
	requested := r.now()
	t, err := r.AWS.Fetch(ctx, host, creds)
	if err != nil {
		return Token{}, err
	}
	t.RequestedAt = requested
	if !r.now().Before(t.ExpiresAt) {
		return Token{}, fmt.Errorf("%w for %s: the token ECR returned expired at %s (is the clock right?)",
			ErrToken, host, t.ExpiresAt.Format(time.RFC3339))
	}
	return t, nil
}
