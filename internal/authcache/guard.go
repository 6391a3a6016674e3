package authcache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/anchored/anchored/internal/throttle"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// UserGetter is the part of the store the guard needs: the user's current
// uuid and credential generation, read from memory, no hash.
type UserGetter interface {
	GetUser(ctx context.Context, username string) (tokenserver.User, error)
}

// TooManyAttempts is answered 429 with Retry-After by the server's gate.
type TooManyAttempts struct{ Wait time.Duration }

func (e *TooManyAttempts) Error() string {
	return fmt.Sprintf("too many failed login attempts, retry in %s", e.Wait)
}

// RetryAfter implements tokenserver.RetryAfter.
func (e *TooManyAttempts) RetryAfter() time.Duration { return e.Wait }

// Guard wraps the server's password check (tokenserver.Config's
// WrapPasswordCheck) with the cache and the throttle, in this order:
//
//  1. a pair verified within the TTL for the user's current uuid and
//     generation is accepted with no hash and no throttle: a credential
//     that is known to be right is never slowed by anyone's failures;
//  2. a client group the throttle refuses is answered 429 with
//     Retry-After at once, no hash run (remote addresses and socket uids
//     that spent their own burst, never the owner's for someone else's);
//  3. a delay the throttle asks for (the user's or loopback's count past
//     its burst) is waited, at most a couple of seconds;
//  4. the real check runs (exactly one hash, also for an unknown user: the
//     server verifies a dummy hash for those); a failure counts against the
//     user and the client group, a success resets the user and is
//     remembered.
//
// Either c or l may be nil to leave that part out.
func Guard(users UserGetter, c *Cache, l *throttle.Limiter) func(tokenserver.PasswordCheck) tokenserver.PasswordCheck {
	return func(next tokenserver.PasswordCheck) tokenserver.PasswordCheck {
		return func(ctx context.Context, a tokenserver.PasswordAttempt) (tokenserver.User, error) {
			if c != nil {
				u, err := users.GetUser(ctx, a.Username)
				if err == nil && u.HasCredential() && c.Verified(a.Username, a.Password, Identity{UUID: u.UUID, Generation: u.Generation}) {
					return u, nil
				}
			}
			if l != nil {
				v := l.Check(a.Username, a.Client)
				if v.Refuse {
					return tokenserver.User{}, &TooManyAttempts{Wait: v.RetryAfter}
				}
				if err := l.Wait(ctx, v.Delay); err != nil {
					return tokenserver.User{}, fmt.Errorf("throttle delay: %w", err)
				}
			}
			u, err := next(ctx, a)
			switch {
			case errors.Is(err, tokenserver.ErrBadCredentials):
				if l != nil {
					l.Fail(a.Username, a.Client)
				}
				return u, err
			case err != nil:
				return u, err
			}
			if c != nil {
				c.Remember(a.Username, a.Password, Identity{UUID: u.UUID, Generation: u.Generation})
			}
			if l != nil {
				l.Succeed(a.Username, a.Client)
			}
			return u, nil
		}
	}
}
