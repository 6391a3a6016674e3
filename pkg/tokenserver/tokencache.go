package tokenserver

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers bearer tokens that verified, until their
// expiry, so a client that sends one token on every request pays the JWT
// parse and signature check once: that was two thirds of a Bearer
// request's cost. Entries are keyed by the SHA-256 of the whole token (a
// hit needs the exact bytes that verified; the token itself is not kept).
// What can change after issuance (the user deleted, the password changed)
// is checked on every request anyway, after verify. Bounded: when full,
// expired entries go, and if none has, all of them (the cost of
// forgetting is one verification per token).
type verifiedTokens struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]tokenClaims
}

const maxVerifiedTokens = 10000

func (v *verifiedTokens) get(raw string, now time.Time) (tokenClaims, bool) {
	k := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.m[k]
	if !ok {
		return tokenClaims{}, false
	}
	if c.Expiry == nil || !now.Before(c.Expiry.Time()) {
		delete(v.m, k)
		return tokenClaims{}, false
	}
	return c, true
}

func (v *verifiedTokens) put(raw string, c tokenClaims, now time.Time) {
	k := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[[sha256.Size]byte]tokenClaims{}
	}
	if len(v.m) >= maxVerifiedTokens {
		for key, e := range v.m {
			if e.Expiry == nil || !now.Before(e.Expiry.Time()) {
				delete(v.m, key)
			}
		}
		if len(v.m) >= maxVerifiedTokens {
			clear(v.m)
		}
	}
	v.m[k] = c
}

// clear forgets every token (a key was removed: its tokens must verify
// afresh, and fail).
func (v *verifiedTokens) clear() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.m)
}
