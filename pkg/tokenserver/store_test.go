package tokenserver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/vault"
)

// TestVaultStore: the sentinels, and changes made through another handle on
// the same file (another process) are seen without a restart.
func TestVaultStore(t *testing.T) {
	ctx := context.Background()
	v1 := newVault(t)
	v2, err := vault.Open(ctx, v1.Path(), "test passphrase")
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := NewVaultStore(v1), NewVaultStore(v2)
	now := time.Now().UTC().Truncate(time.Second)
	a := Account{Name: "team1", Type: "user", State: "enabled", CreatedAt: now, LastUpdated: now}

	if _, err := s2.GetAccount(ctx, "team1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetAccount before create = %v, want ErrNotFound", err)
	}
	if err := s1.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s2.CreateAccount(ctx, a); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second CreateAccount = %v, want ErrAlreadyExists", err)
	}
	if got, err := s2.GetAccount(ctx, "team1"); err != nil || got != a {
		t.Errorf("other handle GetAccount = %+v, %v; want %+v", got, err, a)
	}
	u := User{Username: "alice", Account: "team1", UUID: "u1", Type: "native", Password: "pw", Generation: 1, CreatedAt: now, LastUpdated: now}
	if err := s1.CreateUser(ctx, User{Username: "x", Account: "nosuch"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("CreateUser in a missing account = %v, want ErrNotFound", err)
	}
	if err := s1.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := s2.GetUserByUUID(ctx, "u1"); err != nil || got != u {
		t.Errorf("GetUserByUUID = %+v, %v; want %+v", got, err, u)
	}
	boom := errors.New("boom")
	if err := s2.UpdateUser(ctx, "alice", func(u User) (User, error) { u.Password = "changed"; return u, boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateUser with a failing updater = %v, want boom", err)
	}
	if got, _ := s1.GetUser(ctx, "alice"); got.Password != "pw" {
		t.Errorf("a failed updater changed the record: %+v", got)
	}
	if err := s2.DeleteAccount(ctx, "team1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.GetUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("user of a deleted account: %v, want ErrNotFound", err)
	}
	gen := func() (string, error) { return "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=", nil }
	s1secret, err := s1.SigningSecret(ctx, gen)
	if err != nil {
		t.Fatal(err)
	}
	s2secret, err := s2.SigningSecret(ctx, func() (string, error) { return "", errors.New("must not generate twice") })
	if err != nil || s2secret != s1secret {
		t.Errorf("second SigningSecret = %q, %v; want the first one", s2secret, err)
	}
}
