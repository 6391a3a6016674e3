package authcache

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/throttle"
	"github.com/anchored/anchored/pkg/passhash"
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
	hasher *passhash.Counting
	clock  *fakeClock
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
	g := &guarded{hasher: passhash.NewCounting(passhash.New(passhash.WithLogN(4))), clock: &fakeClock{t: time.Unix(1_800_000_000, 0)}}
	store := tokenserver.NewVaultStore(v)
	srv, err := tokenserver.New(ctx, tokenserver.Config{
		OAuthEnabled: true, HashedPasswords: true, Hasher: g.hasher,
		Logger: slog.New(slog.DiscardHandler),
		WrapPasswordCheck: Guard(store,
			&Cache{Now: g.clock.now},
			&throttle.Limiter{Now: g.clock.now}),
	}, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Bootstrap(ctx, "right-password", ""); err != nil {
		t.Fatal(err)
	}
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

func TestThrottleBurstThenRecover(t *testing.T) {
	g := newGuarded(t)
	for i := range throttle.DefaultUserBurst {
		if res := g.get(t, "admin", "wrong-password"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d, want 401", i+1, res.StatusCode)
		}
	}
	var res *http.Response
	n := g.verifies(func() { res = g.get(t, "admin", "right-password") })
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after the burst: status %d, want 429", res.StatusCode)
	}
	if ra := res.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want \"1\"", ra)
	}
	if n != 0 {
		t.Errorf("a throttled attempt ran %d hashes, want 0", n)
	}
	g.clock.advance(time.Second)
	if res := g.get(t, "admin", "right-password"); res.StatusCode != http.StatusOK {
		t.Fatalf("right password after Retry-After: status %d, want 200", res.StatusCode)
	}
	// The success reset the user's counter: one wrong password is a 401.
	if res := g.get(t, "admin", "wrong-password"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password after a success: status %d, want 401", res.StatusCode)
	}
}

func TestTokenEndpointThrottled(t *testing.T) {
	g := newGuarded(t)
	form := url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {"admin"}, "password": {"wrong-password"}}
	var last *http.Response
	for range throttle.DefaultUserBurst + 1 {
		res, err := g.ts.Client().PostForm(g.ts.URL+"/v1/oauth/token", form)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		last = res
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("token endpoint after a burst: status %d Retry-After %q, want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
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
