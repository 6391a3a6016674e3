package storecopy_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/storecopy"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/vault"
)

func newStore(t *testing.T) *tokenserver.VaultStore {
	t.Helper()
	v, err := vault.Create(context.Background(), filepath.Join(t.TempDir(), "s", "vault"), "pass", nil, vault.WithWorkFactor(vault.MinWorkFactor))
	if err != nil {
		t.Fatal(err)
	}
	return tokenserver.NewVaultStore(v)
}

func put(t *testing.T, s tokenserver.Store, account, key, pass string) {
	t.Helper()
	e := registries.Entry{Name: key, Type: registries.TypeDockerV2, User: "u", Pass: pass}
	if err := s.ChangeRegistry(context.Background(), account, key, func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
		t.Fatal(err)
	}
}

// Everything is copied (registries of an account not made yet too), the
// verification catches a changed secret, and a full destination is
// refused untouched.
func TestCopyAndVerify(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	src := newStore(t)
	if err := src.CreateAccount(ctx, tokenserver.Account{Name: "a", Type: "user", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateUser(ctx, tokenserver.User{Username: "u1", Account: "a", UUID: "x1", PasswordHash: "$scrypt$...", Generation: 7, CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	put(t, src, "a", "reg.example.com", "pass-one")
	put(t, src, "helper-only", "other.example.com", "pass-two")
	key := func(kid string, at time.Time) tokenserver.KeyRecord {
		return tokenserver.KeyRecord{KID: kid, Alg: "HS256", Private: []byte("secret-bytes-of-" + kid + "-0123456789abcdef"), CreatedAt: at}
	}
	if _, err := src.EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) { return key("k1", now.Add(-2*time.Hour)), nil }); err != nil {
		t.Fatal(err)
	}
	for i, kid := range []string{"k2", "k3"} {
		if err := src.RotateSigningKey(ctx, key(kid, now.Add(time.Duration(i-1)*time.Hour)), now, 3*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	dst := newStore(t)
	n, err := storecopy.Copy(ctx, src, dst)
	if err != nil || n != (storecopy.Counts{Accounts: 1, Users: 1, Registries: 2, SigningKeys: 3}) {
		t.Fatalf("Copy = %+v, %v", n, err)
	}
	if u, err := dst.GetUser(ctx, "u1"); err != nil || u.Generation != 7 {
		t.Errorf("copied user: %+v, %v", u, err)
	}
	if keys, err := dst.SigningKeys(ctx); err != nil || len(keys) != 3 || keys[0].KID != "k3" || !keys[0].VerifyUntil.IsZero() ||
		!keys[2].VerifyUntil.Equal(now.Add(3*time.Hour).UTC()) {
		t.Errorf("copied keys: %+v, %v", keys, err)
	}
	put(t, dst, "helper-only", "other.example.com", "pass-changed")
	if err := storecopy.Verify(ctx, src, dst); !errors.Is(err, storecopy.ErrMismatch) {
		t.Errorf("Verify after a changed password: %v", err)
	}
	if _, err := storecopy.Copy(ctx, src, dst); !errors.Is(err, storecopy.ErrNotEmpty) {
		t.Errorf("Copy into a full store: %v", err)
	}
	if e, err := dst.GetRegistry(ctx, "helper-only", "other.example.com"); err != nil || e.Pass != "pass-changed" {
		t.Errorf("a refused copy changed the destination: %+v, %v", e, err)
	}
}
