package pgstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/pgstore"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// Caches hold until a notification: a change made through another handle
// is seen by a cached reader (user by name and uuid, account, registries).
// Without notifications, the bounded-staleness fallback sees it within
// Options.Staleness.
func TestCachesFollowOtherReplicas(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen bool
	}{{"notified", true}, {"staleness fallback", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := pg.NewDatabase(t)
			writer := open(t, dsn, testPassphrase)
			o := pgstore.Options{DSN: dsn, Passphrase: testPassphrase, LogN: 10, Staleness: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
			if !tc.listen {
				o = pgstore.WithoutListener(o)
			}
			reader, err := pgstore.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(reader.Close)
			now := time.Now()
			if err := writer.CreateAccount(ctx, tokenserver.Account{Name: "a", Type: "user", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
				t.Fatal(err)
			}
			if err := writer.CreateUser(ctx, tokenserver.User{Username: "u", Account: "a", UUID: "id-u", Generation: 1, PasswordHash: "h1", CreatedAt: now, LastUpdated: now}); err != nil {
				t.Fatal(err)
			}
			put := func(pass string) {
				e := registries.Entry{Name: "r", Type: registries.TypeDockerV2, User: "x", Pass: pass}
				if err := writer.ChangeRegistry(ctx, "a", "reg.example.com", func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
					t.Fatal(err)
				}
			}
			put("registry-pass-1")
			// Fill the reader's caches.
			read := func() (byName, byUUID int64, state, pass string) {
				u1, err1 := reader.GetUser(ctx, "u")
				u2, err2 := reader.GetUserByUUID(ctx, "id-u")
				ac, err3 := reader.GetAccount(ctx, "a")
				// The list (the helper's get) fills the cache the entry
				// is then read from.
				list, err4 := reader.ListRegistries(ctx, "a")
				e, err5 := reader.GetRegistry(ctx, "a", "reg.example.com")
				for _, err := range []error{err1, err2, err3, err4, err5} {
					if err != nil {
						t.Fatal(err)
					}
				}
				if len(list) != 1 || list[0].Pass != e.Pass {
					t.Fatalf("the list %+v and the entry %+v differ", list, e)
				}
				return u1.Generation, u2.Generation, ac.State, e.Pass
			}
			read()
			if err := writer.UpdateUser(ctx, "u", func(u tokenserver.User) (tokenserver.User, error) { u.Generation = 2; return u, nil }); err != nil {
				t.Fatal(err)
			}
			if err := writer.UpdateAccount(ctx, "a", func(a tokenserver.Account) (tokenserver.Account, error) { a.State = "disabled"; return a, nil }); err != nil {
				t.Fatal(err)
			}
			put("registry-pass-2")
			deadline := time.Now().Add(5 * time.Second) // generous: the bound is a second, or 200 ms of staleness
			for {
				n, u, st, p := read()
				if n == 2 && u == 2 && st == "disabled" && p == "registry-pass-2" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the reader still serves generation %d/%d, state %s, pass %s", n, u, st, p)
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Deleting the account: the reader's cached account, user and
			// registry entries go too.
			if err := writer.DeleteAccount(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			deadline = time.Now().Add(5 * time.Second)
			for {
				_, errU := reader.GetUser(ctx, "u")
				_, errA := reader.GetAccount(ctx, "a")
				list, errR := reader.ListRegistries(ctx, "a")
				if errors.Is(errU, tokenserver.ErrNotFound) && errors.Is(errA, tokenserver.ErrNotFound) && errR == nil && len(list) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the delete the reader still serves user %v, account %v, registries %d (%v)", errU, errA, len(list), errR)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// A rotation through one replica is used by the other within a second:
// the notification reloads its keys (its own interval is an hour), so its
// next token carries the new kid; tokens from before still verify on both.
func TestRotationReachesOtherReplicas(t *testing.T) {
	dsn := pg.NewDatabase(t)
	a, b := apiOn(t, open(t, dsn, testPassphrase)), apiOn(t, open(t, dsn, testPassphrase))
	before := token(t, a, "admin", "foobar")
	code, _, body := call(t, a, "POST", "/v1/keys/rotate", "admin:foobar", "")
	var rotated struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &rotated); code != 200 || err != nil || len(rotated.Keys) != 2 {
		t.Fatalf("rotate on A: %d %s", code, body)
	}
	newKID := rotated.Keys[0].KID
	deadline := time.Now().Add(time.Second)
	for kidOf(t, token(t, b, "admin", "foobar")) != newKID {
		if time.Now().After(deadline) {
			t.Fatal("B does not sign with A's new key a second after the rotation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, ts := range []*httptest.Server{a, b} {
		if code, _, _ := call(t, ts, "GET", "/v1/account", "Bearer "+before, ""); code != 200 {
			t.Errorf("a token from before the rotation: %d", code)
		}
	}
}

// kidOf is the kid in a token's header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		KID string `json:"kid"`
	}
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Fatalf("token header %q", head)
	}
	return h.KID
}
