// Package throttle slows down password guessing without ever refusing the
// owner of an account because of someone else's failures.
//
// Failures are counted per user name and per client group (an IPv4
// address, an IPv6 /64, all of loopback, or one socket peer uid). What a
// count past its burst does depends on whose it is:
//
//   - a user's count only delays that user's unverified attempts, by a
//     doubling delay capped at UserMaxDelay (2 s): it is the one counter an
//     attacker can push from anywhere, so it must never refuse;
//   - a remote client group's count refuses that group (429 with
//     Retry-After, doubling up to Max): only the attacker's own addresses
//     are shut out, and only they pay nothing in hashes while refused;
//   - the loopback group's count delays like a user's: every local user
//     shares it, and the owner may be one of them;
//   - a socket peer uid's count refuses that uid (the kernel vouches for
//     it, so no one else is affected).
//
// The caller (authcache.Guard) lets a credential already verified pass
// before any of this, so a cached login is never delayed.
//
// A client group's count is not reset by a success: an attacker who owns
// one valid account could otherwise clear it between guesses at others. A
// user's count is reset by that user's success only when all its failures
// came from the group that succeeded: the owner's typos are forgiven, an
// attacker's guesses from elsewhere are not. Counters decay: a key with
// no failure for Window is forgotten. Memory is bounded (MaxKeys): when
// full, stale keys go first, then the least recently failed.
//
// The zero value is usable with the defaults below. docs/anchored.md has
// the policy as a table.
package throttle

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"
)

// Defaults used when the fields are zero.
const (
	DefaultUserBurst    = 5
	DefaultAddrBurst    = 20
	DefaultBase         = time.Second
	DefaultMax          = 5 * time.Minute
	DefaultUserBase     = 250 * time.Millisecond
	DefaultUserMaxDelay = 2 * time.Second
	DefaultWindow       = 15 * time.Minute
	DefaultMaxKeys      = 10000
)

// UIDPrefix marks a client that is a socket peer uid ("uid:1000").
const UIDPrefix = "uid:"

// loopbackGroup is the one group of every loopback address.
const loopbackGroup = "loopback"

// Limiter tracks failures. It is safe for concurrent use.
type Limiter struct {
	UserBurst    int           // failures per user before delaying
	AddrBurst    int           // failures per client group before refusing (or delaying, loopback)
	Base         time.Duration // first refusal once a group's burst is spent
	Max          time.Duration // cap on a refusal
	UserBase     time.Duration // first delay once a burst is spent
	UserMaxDelay time.Duration // cap on a delay: what the owner may have to wait
	Window       time.Duration // a key with no failure for this long is forgotten
	MaxKeys      int           // bound on tracked keys
	Now          func() time.Time
	// Sleep waits d or until ctx is done; nil means a timer. Tests
	// record the delay instead of waiting it.
	Sleep func(ctx context.Context, d time.Duration) error

	mu sync.Mutex
	m  map[key]*state
}

type key struct {
	kind byte // 'u' user, 'a' client group
	name string
}

type state struct {
	failures    int
	lastFailure time.Time
	until       time.Time     // refused until (refusing keys)
	penalty     time.Duration // each attempt's delay (delaying keys)
	// from is the one client group all of a user's failures came from,
	// "" once they came from two: a success from that group (the owner's
	// own typos) resets the count, any other does not.
	from  string
	mixed bool
}

// Verdict is what to do with an attempt.
type Verdict struct {
	// Refuse: answer 429 at once, no hash; RetryAfter says for how long.
	Refuse     bool
	RetryAfter time.Duration
	// Delay: wait this long, then check the password.
	Delay time.Duration
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

// Group is the client group an address or socket peer counts in: an IPv4
// address; an IPv6 /64 (one host usually holds a whole /64, so counting
// single addresses would give it 2^64 bursts); all of loopback as one
// (any local user can use any of 127/8); "uid:N" as it is. An IPv4 address
// mapped into IPv6 counts as IPv4. Private IPv4 ranges count per address:
// on a LAN an address is one host, and hosts behind NAT share their public
// address, which is one group already.
func Group(client string) string {
	if client == "" || strings.HasPrefix(client, UIDPrefix) {
		return client
	}
	ip := net.ParseIP(client)
	if ip == nil {
		return client
	}
	if ip.IsLoopback() {
		return loopbackGroup
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// refuses reports whether a group's spent burst refuses (else it delays).
func refuses(group string) bool { return group != loopbackGroup }

// Check says whether an attempt by user from client (an IP address, or
// UIDPrefix and a uid) may go ahead, and after what delay.
func (l *Limiter) Check(user, client string) Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var v Verdict
	for _, k := range l.keys(user, Group(client)) {
		s := l.m[k]
		if s == nil {
			continue
		}
		if k.kind == 'a' && refuses(k.name) {
			if d := s.until.Sub(now); d > 0 {
				v.Refuse = true
				v.RetryAfter = max(v.RetryAfter, d)
			}
			continue
		}
		// A delay is paid by every unverified attempt while the count is
		// past its burst (within the window), not only by those soon after
		// a failure: otherwise guessing once per delay would cost nothing.
		if s.penalty > 0 && now.Sub(s.lastFailure) < orDur(l.Window, DefaultWindow) {
			v.Delay = max(v.Delay, s.penalty)
		}
	}
	return v
}

// Wait sleeps d (the Verdict's Delay), or until ctx is done.
func (l *Limiter) Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fail records a failed attempt (a wrong password, or an unknown user).
func (l *Limiter) Fail(user, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	window := orDur(l.Window, DefaultWindow)
	g := Group(client)
	for _, k := range l.keys(user, g) {
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
		if s.failures == 0 {
			s.from = g
		} else if g != s.from {
			s.mixed = true
		}
		s.failures++
		s.lastFailure = now
		burst := orInt(l.UserBurst, DefaultUserBurst)
		if k.kind == 'a' {
			burst = orInt(l.AddrBurst, DefaultAddrBurst)
		}
		over := s.failures - burst
		switch {
		case over < 0:
		case k.kind == 'a' && refuses(k.name):
			s.until = now.Add(doubling(orDur(l.Base, DefaultBase), orDur(l.Max, DefaultMax), over))
		default:
			s.penalty = doubling(orDur(l.UserBase, DefaultUserBase), orDur(l.UserMaxDelay, DefaultUserMaxDelay), over)
		}
	}
}

// doubling is base doubled over times, capped at ceil.
func doubling(base, ceil time.Duration, over int) time.Duration {
	if over > 30 {
		return ceil
	}
	d := base << over
	if d <= 0 || d > ceil {
		return ceil
	}
	return d
}

// Succeed records a successful password check. The user's count is reset
// only when every failure in it came from the client group that just
// succeeded (the owner's own typos): a success must not hand an attacker
// guessing from elsewhere a fresh burst. The client group's count is not
// reset either (see the package comment).
func (l *Limiter) Succeed(user, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := key{'u', user}
	if s := l.m[k]; s != nil && !s.mixed && s.from == Group(client) {
		delete(l.m, k)
	}
}

// keys returns the keys of an attempt by user from client group g, making
// the map. Called with l.mu held. An empty group is not tracked.
func (l *Limiter) keys(user, g string) []key {
	if l.m == nil {
		l.m = map[key]*state{}
	}
	ks := []key{{'u', user}}
	if g != "" {
		ks = append(ks, key{'a', g})
	}
	return ks
}

// evict makes room for one key: first every key that is neither blocked
// nor within its window, then, if none was stale, the key whose last
// failure is oldest. Called with l.mu held.
func (l *Limiter) evict(now time.Time) {
	window := orDur(l.Window, DefaultWindow)
	removed := false
	// A delaying key's penalty lasts its window, so stale is the same
	// test for both kinds.
	for k, s := range l.m {
		if !now.Before(s.until) && now.Sub(s.lastFailure) >= window {
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
