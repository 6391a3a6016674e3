package authcache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/passhash"
	"github.com/anchored/anchored/internal/throttle"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/vault"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type guarded struct {
	ts     *httptest.Server
	srv    *tokenserver.Server
	hasher *passhash.Counting
	clock  *fakeClock
	slept  *sleeps
}

// sleeps records the throttle's delays instead of waiting them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

// last returns the delays recorded since the previous call.
func (s *sleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	s.d = nil
	return d
}

// newGuarded runs the API with hashed passwords, a counting hasher and the
// guard, as anchored wires them.
func newGuarded(t *testing.T) *guarded {
	t.Helper()
	ctx := context.Background()
	v, err := vault.Create(ctx, filepath.Join(t.TempDir(), "state", "vault"), "pp", nil, vault.WithWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	g := &guarded{hasher: passhash.NewCounting(passhash.New(passhash.WithLogN(4))), clock: &fakeClock{t: time.Unix(1_800_000_000, 0)}, slept: &sleeps{}}
	store := tokenserver.NewVaultStore(v)
	srv, err := tokenserver.New(ctx, tokenserver.Config{
		OAuthEnabled: true, HashedPasswords: true, Hasher: g.hasher,
		Logger: slog.New(slog.DiscardHandler),
		WrapPasswordCheck: Guard(store,
			&Cache{Now: g.clock.now},
			&throttle.Limiter{Now: g.clock.now, Sleep: g.slept.sleep}),
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Bootstrap(ctx, "right-password", ""); err != nil {
		t.Fatal(err)
	}
	g.srv = srv
	g.ts = httptest.NewServer(srv)
	t.Cleanup(g.ts.Close)
	return g
}

func (g *guarded) get(t *testing.T, user, pass string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", g.ts.URL+"/v1/account", nil)
	req.SetBasicAuth(user, pass)
	res, err := g.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// verifies returns how many password hashes f ran.
func (g *guarded) verifies(f func()) int {
	before := g.hasher.Verifies()
	f()
	return g.hasher.Verifies() - before
}

// serve sends one Basic request in process, from client: an IP address, or
// "uid:N" for a socket peer.
func (g *guarded) serve(t *testing.T, client, user, pass string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", "/v1/account", nil)
	req.SetBasicAuth(user, pass)
	if uid, ok := strings.CutPrefix(client, "uid:"); ok {
		n, _ := strconv.Atoi(uid)
		req = req.WithContext(tokenserver.WithConnInfo(req.Context(), tokenserver.ConnInfo{Transport: tokenserver.TransportUnix, PeerUID: n, PeerGID: n}))
	} else {
		req.RemoteAddr = net.JoinHostPort(client, "40000")
	}
	rec := httptest.NewRecorder()
	g.srv.ServeHTTP(rec, req)
	return rec
}

// TestNoLockout is the attack: 50 wrong passwords for admin, each
// from its own address. The owner with the right password is answered 200,
// cached and uncached, over TCP and the socket, and the attacker's next
// guess is still slowed.
func TestNoLockout(t *testing.T) {
	for _, attack := range []struct {
		name string
		addr func(i int) string
	}{
		{"loopback addresses", func(i int) string { return fmt.Sprint("127.5.0.", i+1) }},
		{"remote addresses", func(i int) string { return fmt.Sprint("198.51.100.", i+1) }},
		{"remote IPv6 /64s", func(i int) string { return fmt.Sprintf("2001:db8:%x::1", i+1) }},
	} {
		t.Run(attack.name, func(t *testing.T) {
			g := newGuarded(t)
			// The owner logs in before the attack: cached from here on.
			if rec := g.serve(t, "127.0.0.1", "admin", "right-password"); rec.Code != 200 {
				t.Fatalf("first login: %d", rec.Code)
			}
			for i := range 50 {
				if rec := g.serve(t, attack.addr(i), "admin", fmt.Sprint("guess-", i)); rec.Code != http.StatusUnauthorized {
					t.Fatalf("guess %d: status %d, want 401", i+1, rec.Code)
				}
			}
			g.slept.take()
			for _, client := range []string{"127.0.0.1", "203.0.113.9", "uid:1000"} {
				var rec *httptest.ResponseRecorder
				if n := g.verifies(func() { rec = g.serve(t, client, "admin", "right-password") }); rec.Code != 200 || n != 0 {
					t.Errorf("cached, from %s: status %d with %d hashes, want 200 with none", client, rec.Code, n)
				}
				if d := g.slept.take(); len(d) != 0 {
					t.Errorf("cached, from %s: delayed %v, want no delay", client, d)
				}
			}
			g.clock.advance(DefaultTTL) // the cache forgets
			for _, client := range []string{"127.0.0.1", "203.0.113.9", "uid:1000"} {
				if rec := g.serve(t, client, "admin", "right-password"); rec.Code != 200 {
					t.Errorf("uncached, from %s: status %d (Retry-After %q), want 200", client, rec.Code, rec.Header().Get("Retry-After"))
				}
				for _, d := range g.slept.take() {
					if d > throttle.DefaultUserMaxDelay {
						t.Errorf("uncached, from %s: delayed %v, more than the cap %v", client, d, throttle.DefaultUserMaxDelay)
					}
				}
				g.clock.advance(DefaultTTL)
			}
			// The owner's successes gave the attacker no fresh burst: its
			// next guess, from a new address, is still slowed.
			rec := g.serve(t, attack.addr(200), "admin", "guess-again")
			d := g.slept.take()
			if rec.Code != http.StatusTooManyRequests && (len(d) == 0 || d[0] <= 0) {
				t.Errorf("attacker's next guess: status %d, delays %v; want slowed or refused", rec.Code, d)
			}
		})
	}
}

// A remote address that spends its own burst is refused (429, no hash);
// that refusal is its alone.
func TestRemoteAddressRefused(t *testing.T) {
	g := newGuarded(t)
	for i := range throttle.DefaultAddrBurst {
		if rec := g.serve(t, "198.51.100.1", fmt.Sprint("user", i), "wrong-password"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, rec.Code)
		}
	}
	var rec *httptest.ResponseRecorder
	n := g.verifies(func() { rec = g.serve(t, "198.51.100.1", "admin", "right-password") })
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" || n != 0 {
		t.Errorf("the spraying address: status %d Retry-After %q with %d hashes, want 429, \"1\", none", rec.Code, rec.Header().Get("Retry-After"), n)
	}
	if rec := g.serve(t, "198.51.100.2", "admin", "right-password"); rec.Code != 200 {
		t.Errorf("another address: status %d, want 200", rec.Code)
	}
	g.clock.advance(time.Second)
	if rec := g.serve(t, "198.51.100.1", "admin", "right-password"); rec.Code != 200 {
		t.Errorf("after Retry-After: status %d, want 200", rec.Code)
	}
}

func TestTokenEndpointThrottled(t *testing.T) {
	g := newGuarded(t)
	form := url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {"admin"}, "password": {"wrong-password"}}
	var last *httptest.ResponseRecorder
	for range throttle.DefaultAddrBurst + 1 {
		req := httptest.NewRequest("POST", "/v1/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "198.51.100.1:40000"
		last = httptest.NewRecorder()
		g.srv.ServeHTTP(last, req)
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" {
		t.Errorf("token endpoint after a burst: status %d Retry-After %q, want 429 with Retry-After", last.Code, last.Header().Get("Retry-After"))
	}
	if d := g.slept.take(); len(d) == 0 {
		t.Error("token endpoint: admin's guesses past the user burst were not delayed")
	}
}

func TestHashCounts(t *testing.T) {
	g := newGuarded(t)
	for _, tc := range []struct {
		name, user, pass string
		wantCode         int
		wantHashes       int
	}{
		{"wrong password", "admin", "wrong-password", 401, 1},
		{"unknown user", "nobody", "wrong-password", 401, 1},
		{"right password, cold", "admin", "right-password", 200, 1},
		{"right password, warm", "admin", "right-password", 200, 0},
		{"wrong password while warm", "admin", "wrong-password", 401, 1},
		{"right password, still warm", "admin", "right-password", 200, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res *http.Response
			n := g.verifies(func() { res = g.get(t, tc.user, tc.pass) })
			if res.StatusCode != tc.wantCode || n != tc.wantHashes {
				t.Errorf("status %d with %d hashes, want %d with %d", res.StatusCode, n, tc.wantCode, tc.wantHashes)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		g.clock.advance(DefaultTTL)
		var res *http.Response
		if n := g.verifies(func() { res = g.get(t, "admin", "right-password") }); res.StatusCode != 200 || n != 1 {
			t.Errorf("after the TTL: status %d with %d hashes, want 200 with 1", res.StatusCode, n)
		}
	})
}

func TestPasswordChangeDropsCache(t *testing.T) {
	g := newGuarded(t)
	if res := g.get(t, "admin", "right-password"); res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", g.ts.URL+"/v1/user/credentials", strings.NewReader(`{"type":"password","value":"new-password-1"}`))
	req.SetBasicAuth("admin", "right-password")
	req.Header.Set("Content-Type", "application/json")
	res, err := g.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("password change: status %d", res.StatusCode)
	}
	// The old pair was cached; the generation moved, so it is refused at once.
	if res := g.get(t, "admin", "right-password"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password after the change: status %d, want 401", res.StatusCode)
	}
	if res := g.get(t, "admin", "new-password-1"); res.StatusCode != 200 {
		t.Errorf("new password: status %d, want 200", res.StatusCode)
	}
}
