// Package storetest is the behaviour every tokenserver.Store must pass:
// accounts, users, the signing secret, and (registries/storetest) the
// registry entries. The vault store runs it today; a database shared by
// several daemons is the next implementation and runs the same body.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/registries"
	regstoretest "github.com/anchored/anchored/pkg/registries/storetest"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// Open returns a new handle on one storage: two handles are two processes
// sharing it.
type Open func() tokenserver.Store

// Run runs the body. newStorage makes a fresh, empty storage.
func Run(t *testing.T, newStorage func(t *testing.T) Open) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	account := func(name string) tokenserver.Account {
		return tokenserver.Account{Name: name, Email: name + "@example.com", Type: apitype.AccountTypeUser,
			State: apitype.AccountEnabled, CreatedAt: t0, LastUpdated: t0}
	}
	user := func(name, acct string) tokenserver.User {
		return tokenserver.User{Username: name, Account: acct, UUID: "uuid-" + name, Type: apitype.UserTypeNative,
			Source: "", Password: "pw-" + name, Generation: 1, CreatedAt: t0, LastUpdated: t0}
	}

	t.Run("accounts", func(t *testing.T) {
		s := newStorage(t)()
		if _, err := s.GetAccount(ctx, "a"); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("GetAccount on empty: %v", err)
		}
		for _, n := range []string{"b", "a"} {
			if err := s.CreateAccount(ctx, account(n)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateAccount(ctx, account("a")); !errors.Is(err, tokenserver.ErrAlreadyExists) {
			t.Errorf("duplicate account: %v", err)
		}
		list, err := s.ListAccounts(ctx)
		if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
			t.Errorf("ListAccounts = %+v, %v; want a, b", list, err)
		}
		err = s.UpdateAccount(ctx, "a", func(a tokenserver.Account) (tokenserver.Account, error) {
			a.Email, a.Name = "new@example.com", "renamed" // the key never changes
			return a, nil
		})
		if got, _ := s.GetAccount(ctx, "a"); err != nil || got.Email != "new@example.com" {
			t.Errorf("UpdateAccount: %v, now %+v", err, got)
		}
		boom := errors.New("boom")
		if err := s.UpdateAccount(ctx, "a", func(tokenserver.Account) (tokenserver.Account, error) { return tokenserver.Account{}, boom }); !errors.Is(err, boom) {
			t.Errorf("aborted update: %v", err)
		}
		if err := s.UpdateAccount(ctx, "nosuch", func(a tokenserver.Account) (tokenserver.Account, error) { return a, nil }); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("update of a missing account: %v", err)
		}
	})

	t.Run("users", func(t *testing.T) {
		s := newStorage(t)()
		if err := s.CreateUser(ctx, user("alice", "a")); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("user in a missing account: %v", err)
		}
		for _, n := range []string{"a", "b"} {
			if err := s.CreateAccount(ctx, account(n)); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []tokenserver.User{user("bob", "a"), user("alice", "a"), user("carol", "b")} {
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateUser(ctx, user("alice", "b")); !errors.Is(err, tokenserver.ErrAlreadyExists) {
			t.Errorf("a user name taken in another account: %v", err)
		}
		list, err := s.ListUsers(ctx, "a")
		if err != nil || len(list) != 2 || list[0].Username != "alice" || list[1].Username != "bob" {
			t.Errorf("ListUsers(a) = %+v, %v", list, err)
		}
		if _, err := s.ListUsers(ctx, "nosuch"); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("ListUsers of a missing account: %v", err)
		}
		if u, err := s.GetUserByUUID(ctx, "uuid-carol"); err != nil || u.Username != "carol" {
			t.Errorf("GetUserByUUID = %+v, %v", u, err)
		}
		if _, err := s.GetUserByUUID(ctx, ""); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("GetUserByUUID(\"\"): %v", err)
		}
		err = s.UpdateUser(ctx, "alice", func(u tokenserver.User) (tokenserver.User, error) {
			u.Password, u.Generation, u.UUID = "", 2, "changed" // keys never change
			u.PasswordHash = "$argon2id$..."
			return u, nil
		})
		u, _ := s.GetUser(ctx, "alice")
		if err != nil || u.PasswordHash == "" || u.Password != "" || u.Generation != 2 || u.UUID != "uuid-alice" {
			t.Errorf("UpdateUser: %v, now %+v", err, u)
		}
		if err := s.DeleteUser(ctx, "bob"); err != nil {
			t.Error(err)
		}
		if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})

	t.Run("deleting an account deletes what it owns", func(t *testing.T) {
		s := newStorage(t)()
		for _, n := range []string{"a", "b"} {
			if err := s.CreateAccount(ctx, account(n)); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateUser(ctx, user("u-"+n, n)); err != nil {
				t.Fatal(err)
			}
			e := registries.Entry{Name: "r", Type: registries.TypeDockerV2, User: "x", Pass: "y", CreatedAt: t0, LastUpdated: t0}
			if err := s.ChangeRegistry(ctx, n, "reg.example.com", func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteAccount(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetUser(ctx, "u-a"); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("the account's user survived: %v", err)
		}
		if list, err := s.ListRegistries(ctx, "a"); err != nil || len(list) != 0 {
			t.Errorf("the account's registries survived: %+v, %v", list, err)
		}
		if _, err := s.GetUser(ctx, "u-b"); err != nil {
			t.Errorf("another account's user: %v", err)
		}
		if list, err := s.ListRegistries(ctx, "b"); err != nil || len(list) != 1 {
			t.Errorf("another account's registries: %+v, %v", list, err)
		}
		if err := s.DeleteAccount(ctx, "a"); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})

	t.Run("one signing secret across handles", func(t *testing.T) {
		open := newStorage(t)
		const n = 6
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			s := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				sec, err := s.SigningSecret(ctx, func() (string, error) { return "secret-" + string(rune('a'+i)), nil })
				if err != nil {
					t.Error(err)
				}
				got[i] = sec
			}()
		}
		wg.Wait()
		for _, g := range got {
			if g == "" || g != got[0] {
				t.Fatalf("secrets %q: want one", got)
			}
		}
	})

	t.Run("registries", func(t *testing.T) {
		regstoretest.Run(t, func(t *testing.T) regstoretest.Open {
			open := newStorage(t)
			return func() registries.Store { return open() }
		})
	})
}
