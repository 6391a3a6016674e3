// Package backendtest is the one behaviour test body of helper.Backend
// (STYLE: one body, every implementation): the vault in process and
// anchored over its socket run it alike, so the helper answers the same
// whichever path a request takes.
package backendtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/anchored/anchored/pkg/helper"
)

// Run runs the behaviour body. newBackend returns a backend over a fresh,
// empty store (it may create the store on the first Store).
func Run(t *testing.T, newBackend func(t *testing.T) helper.Backend) {
	ctx := context.Background()
	t.Run("empty", func(t *testing.T) {
		b := newBackend(t)
		if _, err := b.Get(ctx, "reg.example.com"); !errors.Is(err, helper.ErrNotFound) {
			t.Errorf("Get on an empty store: err = %v, want helper.ErrNotFound", err)
		}
		if err := b.Erase(ctx, "reg.example.com"); err != nil {
			t.Errorf("Erase on an empty store: %v, want success", err)
		}
	})

	t.Run("keys and lookup", func(t *testing.T) {
		b := newBackend(t)
		store(t, b, "https://index.docker.io/v1/", "hubuser", "hub-secret-1")
		store(t, b, "Reg.Example.com:443", "reguser", "reg-secret-2")
		store(t, b, "https://index.docker.io/v1/access-token", "<token>", "hub-identity-token-3")
		for _, tc := range []struct {
			url, user, secret string // user "" = not found
		}{
			{"https://index.docker.io/v1/", "hubuser", "hub-secret-1"},
			{"docker.io", "hubuser", "hub-secret-1"},
			{"index.docker.io", "hubuser", "hub-secret-1"},
			{"registry-1.docker.io", "hubuser", "hub-secret-1"},
			{"docker.io/library/alpine", "hubuser", "hub-secret-1"},
			{"reg.example.com", "reguser", "reg-secret-2"},
			{"https://reg.example.com/v2/", "reguser", "reg-secret-2"},
			{"REG.EXAMPLE.COM:443", "reguser", "reg-secret-2"},
			{"reg.example.com/team/app", "reguser", "reg-secret-2"},
			{"https://index.docker.io/v1/access-token", "<token>", "hub-identity-token-3"},
			// A key with a scheme and a path matches only itself.
			{"https://index.docker.io/v1/refresh-token", "", ""},
			{"https://reg.example.com/team/app", "", ""},
			{"reg.example.com:5000", "", ""},
			{"other.example.com", "", ""},
		} {
			got, err := b.Get(ctx, tc.url)
			if tc.user == "" {
				if !errors.Is(err, helper.ErrNotFound) {
					t.Errorf("Get(%q) = %+v, %v; want helper.ErrNotFound", tc.url, got, err)
				}
				continue
			}
			want := helper.Credentials{ServerURL: tc.url, Username: tc.user, Secret: tc.secret}
			if err != nil || got != want {
				t.Errorf("Get(%q) = %+v, %v; want %+v", tc.url, got, err, want)
			}
		}
	})

	t.Run("list keeps stored URLs and no secret", func(t *testing.T) {
		b := newBackend(t)
		store(t, b, "https://index.docker.io/v1/", "hubuser", "hub-secret-1")
		store(t, b, "reg.example.com:5000", "reguser", "reg-secret-2")
		got, err := b.List(ctx)
		want := map[string]string{"https://index.docker.io/v1/": "hubuser", "reg.example.com:5000": "reguser"}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("List = %v, %v; want %v", got, err, want)
		}
		if s := fmt.Sprint(got); strings.Contains(s, "secret") {
			t.Errorf("List holds a secret: %v", s)
		}
	})

	t.Run("store replaces", func(t *testing.T) {
		b := newBackend(t)
		store(t, b, "reg.example.com", "old", "old-secret")
		store(t, b, "https://reg.example.com", "new", "new-secret")
		got, err := b.Get(ctx, "reg.example.com")
		if err != nil || got.Username != "new" || got.Secret != "new-secret" {
			t.Errorf("Get after a second store = %+v, %v; want new/new-secret", got, err)
		}
	})

	t.Run("erase exactly the key", func(t *testing.T) {
		b := newBackend(t)
		store(t, b, "reg.example.com", "reguser", "reg-secret")
		// The lookup rule would find reg.example.com for this key; erase
		// must not.
		if err := b.Erase(ctx, "reg.example.com/team/app"); err != nil {
			t.Fatalf("Erase(repo key): %v", err)
		}
		if _, err := b.Get(ctx, "reg.example.com"); err != nil {
			t.Errorf("entry gone after erasing another key: %v", err)
		}
		if err := b.Erase(ctx, "https://REG.example.com:443/"); err != nil {
			t.Fatalf("Erase: %v", err)
		}
		if _, err := b.Get(ctx, "reg.example.com"); !errors.Is(err, helper.ErrNotFound) {
			t.Errorf("Get after Erase: err = %v, want helper.ErrNotFound", err)
		}
		if err := b.Erase(ctx, "reg.example.com"); err != nil {
			t.Errorf("second Erase: %v, want success", err)
		}
	})

	t.Run("concurrent identical stores", func(t *testing.T) {
		b := newBackend(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- b.Store(ctx, helper.Credentials{ServerURL: "reg.example.com", Username: "u", Secret: "same-secret"})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Store: %v", err)
			}
		}
		if got, err := b.Get(ctx, "reg.example.com"); err != nil || got.Secret != "same-secret" {
			t.Errorf("Get = %+v, %v", got, err)
		}
	})

	t.Run("bad server URL", func(t *testing.T) {
		b := newBackend(t)
		_, err := b.Get(ctx, "ftp://reg.example.com")
		if err == nil || errors.Is(err, helper.ErrNotFound) {
			t.Errorf("Get(ftp://...) err = %v, want a real error", err)
		}
	})
}

func store(t *testing.T, b helper.Backend, url, user, secret string) {
	t.Helper()
	if err := b.Store(context.Background(), helper.Credentials{ServerURL: url, Username: user, Secret: secret}); err != nil {
		t.Fatalf("Store(%q): %v", url, err)
	}
}
