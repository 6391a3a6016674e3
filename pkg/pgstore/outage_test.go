package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/passhash"
	"github.com/anchored/anchored/pkg/pgstore"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// apiOn serves the API on store s with OAuth on; the admin password is
// foobar. The keys are re-read only when the store says they changed (or
// a token names an unknown kid): the interval is an hour.
func apiOn(t testing.TB, s tokenserver.Store) *httptest.Server {
	t.Helper()
	srv, err := tokenserver.New(context.Background(), tokenserver.Config{OAuthEnabled: true, Logger: slog.New(slog.DiscardHandler),
		Hasher: passhash.New(passhash.WithLogN(4)), KeyAlgorithm: "ES256", KeyRefresh: time.Hour}, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := srv.Bootstrap(context.Background(), "foobar", ""); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// call sends a request; auth is "user:pass" or "Bearer x".
func call(t *testing.T, ts *httptest.Server, method, path, auth, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(auth, "Bearer ") {
		req.Header.Set("Authorization", auth)
	} else if u, p, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(u, p)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func token(t testing.TB, ts *httptest.Server, user, pass string) string {
	t.Helper()
	res, err := ts.Client().PostForm(ts.URL+"/v1/oauth/token", url.Values{"grant_type": {"password"}, "client_id": {"anonymous"},
		"username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return tr.AccessToken
}

// The database stopped mid-run: authentication from the caches keeps
// working, writes are 503 with Retry-After (never a 500), nothing
// acknowledged is lost, and both replicas serve again by themselves once
// the database is back.
func TestDatabaseOutage(t *testing.T) {
	dsn := pg.NewDatabase(t)
	// No staleness allowance: once the notification connection is lost,
	// every cached read goes to the database, and only its failure makes
	// the cache answer.
	openNoStale := func() *pgstore.Store {
		s, err := pgstore.Open(context.Background(), pgstore.Options{DSN: dsn, Passphrase: testPassphrase, LogN: 10,
			Staleness: time.Nanosecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	sa := openNoStale()
	a, b := apiOn(t, sa), apiOn(t, openNoStale())
	tok := "Bearer " + token(t, a, "admin", "foobar")
	reg := func(name string) string {
		return `{"registry":"` + name + `","registry_user":"u","registry_pass":"outage-pass-` + name + `"}`
	}
	for _, ts := range []*httptest.Server{a, b} {
		for _, auth := range []string{tok, "admin:foobar"} {
			if code, _, body := call(t, ts, "GET", "/v1/account", auth, ""); code != 200 {
				t.Fatalf("before the outage: %d %s", code, body)
			}
		}
	}
	if code, _, _ := call(t, a, "POST", "/v1/registries?validate=false", "admin:foobar", reg("before.example.com")); code != 200 {
		t.Fatalf("write before the outage: %d", code)
	}

	// The write's own notification drops sa's cache again when it comes
	// back; a later one (notifications arrive in commit order) says it has.
	synced := make(chan struct{}, 1)
	sa.OnSigningKeysChange(func() {
		select {
		case synced <- struct{}{}:
		default:
		}
	})
	sqlExec(t, dsn, `SELECT pg_notify('anchored_changes', 'keys')`)
	select {
	case <-synced:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	ctx := context.Background()
	if _, err := sa.ListRegistries(ctx, "admin"); err != nil { // the helper's get: cached
		t.Fatal(err)
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			pg.Start(t)
		}
	}()
	for _, ts := range []*httptest.Server{a, b} {
		for _, auth := range []string{tok, "admin:foobar"} {
			if code, _, body := call(t, ts, "GET", "/v1/account", auth, ""); code != 200 {
				t.Errorf("cached authentication during the outage (%.12s): %d %s", auth, code, body)
			}
		}
		code, hdr, body := call(t, ts, "POST", "/v1/registries?validate=false", "admin:foobar", reg("during.example.com"))
		if code != 503 || hdr.Get("Retry-After") == "" || strings.Contains(body, "outage-pass") {
			t.Errorf("write during the outage: %d (Retry-After %q) %s, want 503 with Retry-After", code, hdr.Get("Retry-After"), body)
		}
		if code, _, _ := call(t, ts, "GET", "/v1/accounts", "admin:foobar", ""); code != 503 {
			t.Errorf("uncached read during the outage: %d, want 503", code)
		}
	}

	// A registry write's read of one entry: the last known list answers
	// for an account read before; another account's is unavailable.
	key := registries.EntryKey("before.example.com")
	if e, err := sa.GetRegistry(ctx, "admin", key); err != nil || e.Pass != "outage-pass-before.example.com" {
		t.Errorf("GetRegistry of a cached account during the outage = %+v, %v", e, err)
	}
	if _, err := sa.GetRegistry(ctx, "admin", "absent.example.com"); !errors.Is(err, registries.ErrRegistryNotFound) {
		t.Errorf("GetRegistry of an absent key of a cached account during the outage: %v", err)
	}
	if _, err := sa.GetRegistry(ctx, "nobody", key); !errors.Is(err, tokenserver.ErrUnavailable) {
		t.Errorf("GetRegistry of an uncached account during the outage: %v, want ErrUnavailable", err)
	}

	pg.Start(t)
	stopped = false
	for i, ts := range []*httptest.Server{a, b} {
		name := []string{"after-a.example.com", "after-b.example.com"}[i]
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _, _ := call(t, ts, "POST", "/v1/registries?validate=false", "admin:foobar", reg(name))
			if code == 200 {
				break
			}
			if code != 503 || time.Now().After(deadline) {
				t.Fatalf("write after the outage: %d", code)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	code, _, body := call(t, b, "GET", "/v1/registries", "admin:foobar", "")
	for _, r := range []string{"before.example.com", "after-a.example.com", "after-b.example.com"} {
		if code != 200 || !strings.Contains(body, `"`+r+`"`) {
			t.Errorf("after recovery, %s missing: %d %s", r, code, body)
		}
	}
	if strings.Contains(body, "during.example.com") {
		t.Error("a write answered 503 was stored")
	}
}
