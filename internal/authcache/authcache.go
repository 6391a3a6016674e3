// Package authcache remembers, for a short time, that a user name and
// password pair was verified, so that Basic authentication on every request
// does not pay a password hash (an scrypt of about 60 ms) each time.
//
// The cache never holds a password: entries are keyed by an HMAC-SHA256 of
// the pair under a random key made once per process, so a memory dump does
// not yield a password (nor an offline-guessable unsalted hash of one). An
// entry remembers the user's uuid and credential generation; a lookup
// presents the user's current ones, and any difference (a password change,
// a deleted and re-created user) drops the entry, so a changed password
// stops working at once, not after the TTL.
//
// The zero value is usable: TTL 30 s, the wall clock, at most 10000 entries.
package authcache

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// Defaults used when the fields are zero.
const (
	DefaultTTL        = 30 * time.Second
	DefaultMaxEntries = 10000
)

// Identity is what a verified pair proved: which user, at which credential
// generation.
type Identity struct {
	UUID       string
	Generation int64
}

type entry struct {
	id      Identity
	expires time.Time
}

// Cache is a set of recently verified credential pairs. It is safe for
// concurrent use.
type Cache struct {
	// TTL is how long a verification is trusted; zero means DefaultTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now. Tests inject a fake.
	Now func() time.Time
	// MaxEntries bounds memory; zero means DefaultMaxEntries.
	MaxEntries int

	mu   sync.Mutex
	key  []byte // HMAC key, random per process; made on first use
	m    map[[sha256.Size]byte]entry
	hits int64
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultTTL
}

func (c *Cache) max() int {
	if c.MaxEntries > 0 {
		return c.MaxEntries
	}
	return DefaultMaxEntries
}

// sum returns the map key of a pair. Called with c.mu held.
func (c *Cache) sum(user, password string) [sha256.Size]byte {
	if c.key == nil {
		c.key = make([]byte, 32)
		// crypto/rand.Read never fails on supported platforms (Go 1.24+).
		rand.Read(c.key)
		c.m = map[[sha256.Size]byte]entry{}
	}
	mac := hmac.New(sha256.New, c.key)
	// Length-prefix the user so that ("ab","c") and ("a","bc") differ.
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(user)))
	mac.Write(n[:])
	mac.Write([]byte(user))
	mac.Write([]byte(password))
	var out [sha256.Size]byte
	mac.Sum(out[:0])
	return out
}

// Verified reports whether the pair was verified within the TTL for the
// user as it is now (current). An entry for an older generation or another
// uuid is dropped.
func (c *Cache) Verified(user, password string, current Identity) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.sum(user, password)
	e, ok := c.m[k]
	if !ok {
		return false
	}
	if e.id != current || !c.now().Before(e.expires) {
		delete(c.m, k)
		return false
	}
	c.hits++
	return true
}

// Remember records that the pair was verified for id. Call it only after a
// successful password check.
func (c *Cache) Remember(user, password string, id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.sum(user, password)
	now := c.now()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max() {
		c.evict(now)
	}
	c.m[k] = entry{id: id, expires: now.Add(c.ttl())}
}

// evict makes room: expired entries first, and if the cache is still full
// (a flood of distinct valid logins within one TTL), everything; the cost
// of forgetting is one password hash per user, never a wrong answer.
// Called with c.mu held.
func (c *Cache) evict(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
	if len(c.m) >= c.max() {
		clear(c.m)
	}
}

// Len returns the number of entries, for tests and metrics.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Hits returns how many lookups were answered from the cache.
func (c *Cache) Hits() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits
}
