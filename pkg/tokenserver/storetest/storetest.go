// Package storetest is the behaviour every tokenserver.Store must pass:
// accounts, users, the signing keys, and (registries/storetest) the
// registry entries. The vault store runs it today; a database shared by
// several daemons is the next implementation and runs the same body.
package storetest

import (
	"bytes"
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
		wantA := account("a")
		wantA.Email = "new@example.com"
		if got, _ := s.GetAccount(ctx, "a"); err != nil || got != wantA {
			t.Errorf("UpdateAccount: %v, now %+v; want %+v", err, got, wantA)
		}
		if _, err := s.GetAccount(ctx, "renamed"); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("UpdateAccount made a renamed account: %v", err)
		}
		if got, err := s.GetAccount(ctx, "b"); err != nil || got != account("b") {
			t.Errorf("UpdateAccount(a) touched b: %+v, %v", got, err)
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
		wantAlice := user("alice", "a")
		wantAlice.Password, wantAlice.Generation, wantAlice.PasswordHash = "", 2, "$argon2id$..."
		if u, _ := s.GetUser(ctx, "alice"); err != nil || u != wantAlice {
			t.Errorf("UpdateUser: %v, now %+v; want %+v", err, u, wantAlice)
		}
		if _, err := s.GetUserByUUID(ctx, "changed"); !errors.Is(err, tokenserver.ErrNotFound) {
			t.Errorf("UpdateUser changed a uuid: %v", err)
		}
		for _, other := range []tokenserver.User{user("bob", "a"), user("carol", "b")} {
			if u, err := s.GetUser(ctx, other.Username); err != nil || u != other {
				t.Errorf("UpdateUser(alice) touched %s: %+v, %v", other.Username, u, err)
			}
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

	t.Run("signing keys", func(t *testing.T) { signingKeys(t, newStorage) })

	t.Run("registries", func(t *testing.T) {
		regstoretest.Run(t, func(t *testing.T) regstoretest.Open {
			open := newStorage(t)
			return func() registries.Store { return open() }
		})
	})
}

// signingKeys is the key section: one key from concurrent EnsureSigningKey
// calls on several handles, rotation then listing, removal of keys retired
// long enough ago, and the private bytes as they were stored.
func signingKeys(t *testing.T, newStorage func(t *testing.T) Open) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	key := func(kid string, at time.Time) tokenserver.KeyRecord {
		// Bytes of every value, NUL and high bytes included.
		priv := make([]byte, 48)
		for i := range priv {
			priv[i] = byte(i*37) ^ kid[0]
		}
		return tokenserver.KeyRecord{KID: kid, Alg: "HS256", Private: priv, CreatedAt: at}
	}
	same := func(a, b tokenserver.KeyRecord) bool {
		return a.KID == b.KID && a.Alg == b.Alg && bytes.Equal(a.Private, b.Private) &&
			a.CreatedAt.Equal(b.CreatedAt) && a.VerifyUntil.Equal(b.VerifyUntil)
	}
	kids := func(keys []tokenserver.KeyRecord) []string {
		var out []string
		for _, k := range keys {
			out = append(out, k.KID)
		}
		return out
	}

	t.Run("one key across handles", func(t *testing.T) {
		open := newStorage(t)
		if keys, err := open().SigningKeys(ctx); err != nil || len(keys) != 0 {
			t.Fatalf("SigningKeys on empty = %v, %v", kids(keys), err)
		}
		const n = 6
		got := make([][]tokenserver.KeyRecord, n)
		var wg sync.WaitGroup
		for i := range n {
			s := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys, err := s.EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) {
					return key(string(rune('a'+i)), t0), nil
				})
				if err != nil {
					t.Error(err)
				}
				got[i] = keys
			}()
		}
		wg.Wait()
		for _, g := range got {
			if len(g) != 1 || !same(g[0], got[0][0]) {
				t.Fatalf("keys %v: want one and the same", got)
			}
		}
		again, err := open().EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) {
			return tokenserver.KeyRecord{}, errors.New("must not generate: a key exists")
		})
		if err != nil || len(again) != 1 || !same(again[0], got[0][0]) {
			t.Errorf("EnsureSigningKey with a key stored = %v, %v", kids(again), err)
		}
		boom := errors.New("boom")
		if _, err := newStorage(t)().EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) { return tokenserver.KeyRecord{}, boom }); !errors.Is(err, boom) {
			t.Errorf("a failing generate: %v, want it returned", err)
		}
	})

	t.Run("rotate, list, expire", func(t *testing.T) {
		open := newStorage(t)
		s, other := open(), open()
		first := key("k1", t0)
		if _, err := s.EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) { return first, nil }); err != nil {
			t.Fatal(err)
		}
		hour := time.Hour
		t1 := t0.Add(10 * time.Minute)
		second := key("k2", t1)
		if err := s.RotateSigningKey(ctx, second, t1, hour); err != nil {
			t.Fatal(err)
		}
		keys, err := other.SigningKeys(ctx) // another handle sees the rotation
		first.VerifyUntil = t1.Add(hour)
		if err != nil || len(keys) != 2 || !same(keys[0], second) || !same(keys[1], first) {
			t.Fatalf("after one rotation (newest first) = %+v, %v", keys, err)
		}
		// Within the hour: k1 verifies still, k2 is retired, k3 signs.
		t2 := t1.Add(30 * time.Minute)
		third := key("k3", t2)
		if err := other.RotateSigningKey(ctx, third, t2, hour); err != nil {
			t.Fatal(err)
		}
		keys, _ = s.SigningKeys(ctx)
		second.VerifyUntil = t2.Add(hour)
		if len(keys) != 3 || !same(keys[0], third) || !same(keys[1], second) || !same(keys[2], first) {
			t.Fatalf("after two rotations = %+v", keys)
		}
		// Past k1's time: the next rotation removes it, and only it.
		t3 := t1.Add(hour + time.Second)
		fourth := key("k4", t3)
		if err := s.RotateSigningKey(ctx, fourth, t3, hour); err != nil {
			t.Fatal(err)
		}
		keys, _ = other.SigningKeys(ctx)
		third.VerifyUntil = t3.Add(hour)
		if len(keys) != 3 || !same(keys[0], fourth) || !same(keys[1], third) || !same(keys[2], second) {
			t.Fatalf("after the expiry = %v, want k4 k3 k2 (k1 removed, the others unchanged)", kids(keys))
		}
		if err := s.RotateSigningKey(ctx, key("k4", t3), t3, hour); !errors.Is(err, tokenserver.ErrAlreadyExists) {
			t.Errorf("rotating to a kid that exists: %v, want ErrAlreadyExists", err)
		}
		if keys2, _ := s.SigningKeys(ctx); len(keys2) != 3 || !same(keys2[0], fourth) || !same(keys2[1], third) || !same(keys2[2], second) {
			t.Errorf("a refused rotation changed the keys: %v", kids(keys2))
		}
	})

	t.Run("rotation leaves other records alone", func(t *testing.T) {
		s := newStorage(t)()
		a := tokenserver.Account{Name: "a", Type: apitype.AccountTypeUser, State: apitype.AccountEnabled, CreatedAt: t0, LastUpdated: t0}
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateSigningKey(ctx, key("k1", t0), t0, time.Hour); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetAccount(ctx, "a"); err != nil || got != a {
			t.Errorf("account after a rotation = %+v, %v", got, err)
		}
		if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 1 || keys[0].KID != "k1" {
			t.Errorf("a rotation on a store without keys: %v, %v", kids(keys), err)
		}
	})
}
