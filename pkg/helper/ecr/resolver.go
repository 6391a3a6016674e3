package ecr

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/sync/singleflight"
)

// DefaultFetchTimeout bounds one shared fetch (lock wait, credentials, the
// ECR call) when Resolver.FetchTimeout is zero.
const DefaultFetchTimeout = time.Minute

// Resolver fetches and caches tokens. Set the fields before the first call
// and do not copy it afterwards. Nil fields take defaults: Now time.Now, Cache
// a private in-memory cache, Locker none (one process only), LoadConfig
// config.LoadDefaultConfig, HTTPClient the SDK's, Logger discards.
type Resolver struct {
	// AllowIAMAuto is allow_awsecr_iam_auto: awsauto and _iam_role entries
	// spend the host's own AWS identity and are refused without it.
	AllowIAMAuto bool
	Now          func() time.Time
	Cache        Cache
	Locker       Locker

	// LoadConfig builds the AWS configuration (tests may wrap it).
	LoadConfig func(ctx context.Context, optFns ...func(*config.LoadOptions) error) (aws.Config, error)
	// HTTPClient carries every AWS request (STS, IMDS, ECR) when set.
	HTTPClient aws.HTTPClient
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
// registry host and a name of the credentials that holds no secret (a hash
// of the access key id, "awsauto", or the role ARN).
func CacheKey(account string, reg Registry, creds Credentials) (string, error) {
	p, err := classify(creds)
	if err != nil {
		return "", err
	}
	return cacheKey(account, reg, p), nil
}

func cacheKey(account string, reg Registry, p plan) string {
	return fmt.Sprintf("%q %s %s", account, reg.Host, p.identity)
}

// fresh says whether a cached token may be served at now.
func fresh(t Token, now time.Time) bool {
	return t.Password != "" && t.ExpiresAt.Sub(now) > RenewBefore
}

// Token returns a valid token for the registry host of an entry of
// account with creds.
func (r *Resolver) Token(ctx context.Context, account, host string, creds Credentials) (Token, error) {
	reg, ok := Parse(host)
	if !ok {
		return Token{}, fmt.Errorf("%w: %q", ErrNotECR, host)
	}
	p, err := classify(creds)
	if err != nil {
		return Token{}, err
	}
	if p.mode != modeStatic && !r.AllowIAMAuto {
		return Token{}, ErrIAMAutoDisabled
	}
	key := cacheKey(account, reg, p)
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
		return r.fetchShared(fctx, key, reg, p)
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
func (r *Resolver) fetchShared(ctx context.Context, key string, reg Registry, p plan) (Token, error) {
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
	t, err := r.fetchValid(ctx, reg, p)
	if err != nil {
		// A renewal that failed while the old token is still valid serves
		// the old one: an ECR hiccup should not break pulls for the last
		// half hour of a token's life. An expired token is never served.
		if haveCached && r.now().Before(cached.ExpiresAt) {
			r.logger().Warn("ecr token renewal failed; serving the cached token until it expires",
				"registry", reg.Host, "expires_at", cached.ExpiresAt, "err", err)
			return cached, nil
		}
		return Token{}, err
	}
	if err := r.cache().Store(ctx, key, t); err != nil {
		r.logger().Warn("ecr token cache not written", "registry", reg.Host, "err", err)
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
	reg, ok := Parse(host)
	if !ok {
		return Token{}, fmt.Errorf("%w: %q", ErrNotECR, host)
	}
	p, err := classify(creds)
	if err != nil {
		return Token{}, err
	}
	if p.mode != modeStatic && !r.AllowIAMAuto {
		return Token{}, ErrIAMAutoDisabled
	}
	t, err := r.fetchValid(ctx, reg, p)
	if err != nil {
		return Token{}, err
	}
	if err := r.cache().Store(ctx, cacheKey(account, reg, p), t); err != nil {
		r.logger().Warn("ecr token cache not written", "registry", reg.Host, "err", err)
	}
	return t, nil
}

// fetchValid is fetch, refusing a token that is already expired by our
// clock (a badly skewed clock): an expired token is never served.
func (r *Resolver) fetchValid(ctx context.Context, reg Registry, p plan) (Token, error) {
	t, err := r.fetch(ctx, reg, p)
	if err != nil {
		return Token{}, err
	}
	if !r.now().Before(t.ExpiresAt) {
		return Token{}, fmt.Errorf("%w for %s: the token ECR returned expired at %s (is the clock right?)",
			ErrToken, reg.Host, t.ExpiresAt.Format(time.RFC3339))
	}
	return t, nil
}
