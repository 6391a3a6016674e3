package tokenserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
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
}

// TestVaultStoreOnReload: the reload hook hears a change made through
// another handle (another process) once, and nothing for reads of an
// unchanged file or for this handle's own writes.
func TestVaultStoreOnReload(t *testing.T) {
	ctx := context.Background()
	v1 := newVault(t)
	v2, err := vault.Open(ctx, v1.Path(), "test passphrase")
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := NewVaultStore(v1), NewVaultStore(v2)
	var oks, fails int
	s1.OnReload(func(ok bool) {
		if ok {
			oks++
		} else {
			fails++
		}
	})
	now := time.Now().UTC().Truncate(time.Second)
	if err := s1.CreateAccount(ctx, Account{Name: "own", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	s1.ListAccounts(ctx)
	if oks != 0 || fails != 0 {
		t.Fatalf("own write and unchanged reads: %d reloads, %d failures; want none", oks, fails)
	}
	if err := s2.CreateAccount(ctx, Account{Name: "other", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.GetAccount(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	s1.ListAccounts(ctx)
	if oks != 1 || fails != 0 {
		t.Errorf("after another handle's write: %d reloads, %d failures; want 1, 0", oks, fails)
	}
}

// TestVaultStoreLegacySecret: a version 1 vault's signing_secret is one
// HS256 key with a kid derived from it, left as it is until a rotation
// moves it into signing_keys (format 2), where it keeps its kid.
func TestVaultStoreLegacySecret(t *testing.T) {
	ctx := context.Background()
	v := newVault(t)
	secret := bytes.Repeat([]byte{0xa5}, 32)
	enc := base64.StdEncoding.EncodeToString(secret)
	if err := v.Update(ctx, func(d *vault.Document) error { d.SigningSecret = enc; return nil }); err != nil {
		t.Fatal(err)
	}
	s := NewVaultStore(v)
	keys, err := s.EnsureSigningKey(ctx, func() (KeyRecord, error) { return KeyRecord{}, errors.New("must not generate") })
	if err != nil || len(keys) != 1 || keys[0].Alg != "HS256" || !bytes.Equal(keys[0].Private, secret) || keys[0].KID != secretKID(secret) {
		t.Fatalf("legacy key = %+v, %v", keys, err)
	}
	if d := v.Document(); d.Version != 1 || d.SigningSecret != enc || len(d.SigningKeys) != 0 {
		t.Errorf("reading the keys rewrote the vault: version %d", d.Version)
	}
	now := time.Now()
	next := KeyRecord{KID: "new", Alg: "HS256", Private: bytes.Repeat([]byte{1}, 32), CreatedAt: now}
	if err := s.RotateSigningKey(ctx, next, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	d := v.Document()
	if d.Version != vault.SigningKeysVersion || d.SigningSecret != "" || len(d.SigningKeys) != 2 {
		t.Fatalf("after a rotation: version %d, secret kept %v, %d keys", d.Version, d.SigningSecret != "", len(d.SigningKeys))
	}
	old := d.SigningKeys[secretKID(secret)]
	if old == nil || !bytes.Equal(old.Private, secret) || !old.VerifyUntil.Equal(now.Add(time.Hour)) {
		t.Errorf("the legacy key after a rotation = %+v", old)
	}
	// A malformed version 1 secret is an error that does not quote it.
	v2 := newVault(t)
	if err := v2.Update(ctx, func(d *vault.Document) error { d.SigningSecret = "not base64 s3cr3t"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := NewVaultStore(v2).SigningKeys(ctx); !errors.Is(err, errMalformedSecret) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("malformed secret: %v", err)
	}
}
