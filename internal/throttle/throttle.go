// Package throttle slows down password guessing. It counts failed logins
// per user name and per client address; once either passes its burst, the
// next attempts are refused with a Retry-After until a delay has passed,
// and each further failure doubles the delay up to a cap. A success resets
// the user's counter. Counters decay: a key with no failure for Window is
// forgotten.
//
// Refusing happens before any password hash runs, so a guessing client
// costs the server nothing while it is blocked. The per-address counter
// has a larger burst than the per-user one, since many legitimate users can
// share one address behind NAT; it is not reset by a success, because an
// attacker who owns one valid account could otherwise clear the address's
// counter between guesses at other users.
//
// Memory is bounded (MaxKeys): when full, stale keys go first, then the
// least recently failed.
//
// The zero value is usable with the defaults below.
package throttle

import (
	"math"
	"sync"
	"time"
)

// Defaults used when the fields are zero.
const (
	DefaultUserBurst = 5
	DefaultAddrBurst = 20
	DefaultBase      = time.Second
	DefaultMax       = 5 * time.Minute
	DefaultWindow    = 15 * time.Minute
	DefaultMaxKeys   = 10000
)

// Limiter tracks failures. It is safe for concurrent use.
type Limiter struct {
	UserBurst int           // failures per user before blocking
	AddrBurst int           // failures per client address before blocking
	Base      time.Duration // first delay once a burst is spent
	Max       time.Duration // cap on the delay
	Window    time.Duration // a key with no failure for this long is forgotten
	MaxKeys   int           // bound on tracked keys
	Now       func() time.Time

	mu sync.Mutex
	m  map[key]*state
}

type key struct {
	kind byte // 'u' user, 'a' address
	name string
}

type state struct {
	failures     int
	lastFailure  time.Time
	blockedUntil time.Time
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func orDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// Check reports whether an attempt by user from addr may go ahead. When it
// may not, retryAfter is the wait, in whole seconds rounded up (at least
// 1), as the Retry-After header wants it.
func (l *Limiter) Check(user, addr string) (retryAfter int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range l.keys(user, addr) {
		s := l.m[k]
		if s == nil {
			continue
		}
		if d := s.blockedUntil.Sub(now); d > wait {
			wait = d
		}
	}
	if wait <= 0 {
		return 0, true
	}
	return int(math.Ceil(wait.Seconds())), false
}

// Fail records a failed attempt (a wrong password, or an unknown user).
func (l *Limiter) Fail(user, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	window := orDur(l.Window, DefaultWindow)
	for _, k := range l.keys(user, addr) {
		s := l.m[k]
		if s == nil {
			if len(l.m) >= orInt(l.MaxKeys, DefaultMaxKeys) {
				l.evict(now)
			}
			s = &state{}
			l.m[k] = s
		} else if now.Sub(s.lastFailure) >= window {
			*s = state{}
		}
		s.failures++
		s.lastFailure = now
		burst := orInt(l.UserBurst, DefaultUserBurst)
		if k.kind == 'a' {
			burst = orInt(l.AddrBurst, DefaultAddrBurst)
		}
		if over := s.failures - burst; over >= 0 {
			s.blockedUntil = now.Add(l.delay(over))
		}
	}
}

// delay is Base doubled per failure past the burst, capped at Max.
func (l *Limiter) delay(over int) time.Duration {
	base, max := orDur(l.Base, DefaultBase), orDur(l.Max, DefaultMax)
	if over > 30 {
		return max
	}
	d := base << over
	if d <= 0 || d > max {
		return max
	}
	return d
}

// Succeed records a successful login: the user's counter is reset. The
// address's is not (see the package comment).
func (l *Limiter) Succeed(user, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m != nil {
		delete(l.m, key{'u', user})
	}
}

// keys returns the keys of an attempt, making the map. Called with l.mu
// held. An empty address (a Unix socket peer) is not tracked by address.
func (l *Limiter) keys(user, addr string) []key {
	if l.m == nil {
		l.m = map[key]*state{}
	}
	ks := []key{{'u', user}}
	if addr != "" {
		ks = append(ks, key{'a', addr})
	}
	return ks
}

// evict makes room for one key: first every key that is neither blocked
// nor within its window, then, if none was stale, the key whose last
// failure is oldest. Called with l.mu held.
func (l *Limiter) evict(now time.Time) {
	window := orDur(l.Window, DefaultWindow)
	removed := false
	for k, s := range l.m {
		if !now.Before(s.blockedUntil) && now.Sub(s.lastFailure) >= window {
			delete(l.m, k)
			removed = true
		}
	}
	if removed {
		return
	}
	var oldest key
	var oldestAt time.Time
	first := true
	for k, s := range l.m {
		if first || s.lastFailure.Before(oldestAt) {
			oldest, oldestAt, first = k, s.lastFailure, false
		}
	}
	delete(l.m, oldest)
}

// Len returns the number of tracked keys, for tests and metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
