package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// One replica's token is served by the other; a token due for renewal in
// one replica's memory is read again from the database; deleting the
// account drops its tokens and no other account's.
func TestECRCacheShared(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	a, b := open(t, dsn, testPassphrase), open(t, dsn, testPassphrase)
	ca, cb := a.ECRCache(), b.ECRCache()
	key, err := ecr.CacheKey("team1", "123456789012.dkr.ecr.us-east-1.amazonaws.com", ecr.Credentials{User: "AKIAEXAMPLE", Pass: "aws-secret"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecr.CacheKey("team2", "123456789012.dkr.ecr.us-east-1.amazonaws.com", ecr.Credentials{User: "AKIAEXAMPLE", Pass: "aws-secret"})
	now := time.Now().UTC().Truncate(time.Microsecond)
	tok := ecr.Token{Username: "AWS", Password: "ecr-token-one", ProxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
		RequestedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
	if _, ok, err := cb.Load(ctx, key); ok || err != nil {
		t.Fatalf("Load before any Store: %v, %v", ok, err)
	}
	if err := ca.Store(ctx, key, tok); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := cb.Load(ctx, key); !ok || err != nil || got != tok {
		t.Fatalf("B's Load = %+v, %v, %v; want A's token", got, ok, err)
	}
	// A's copy is due for renewal; B renews: A reads B's.
	old := tok
	old.ExpiresAt = now.Add(10 * time.Minute)
	if err := ca.Store(ctx, key, old); err != nil {
		t.Fatal(err)
	}
	renewed := tok
	renewed.Password = "ecr-token-two"
	if err := cb.Store(ctx, key, renewed); err != nil {
		t.Fatal(err)
	}
	if got, _, err := ca.Load(ctx, key); err != nil || got.Password != "ecr-token-two" {
		t.Errorf("A after B's renewal: %+v, %v", got, err)
	}
	if err := ca.Store(ctx, other, tok); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateAccount(ctx, tokenserver.Account{Name: "team1", Type: "user", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteAccount(ctx, "team1"); err != nil {
		t.Fatal(err)
	}
	fresh := open(t, dsn, testPassphrase).ECRCache() // no memory of its own
	if _, ok, err := fresh.Load(ctx, key); ok || err != nil {
		t.Errorf("a deleted account's token survived: %v, %v", ok, err)
	}
	if _, ok, err := fresh.Load(ctx, other); !ok || err != nil {
		t.Errorf("another account's token: %v, %v", ok, err)
	}
}

// One replica at a time fetches a key's token.
func TestECRLocker(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	la, lb := open(t, dsn, testPassphrase).ECRLocker(), open(t, dsn, testPassphrase).ECRLocker()
	unlock, err := la.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if u, err := lb.Lock(short, "k"); err == nil {
		u()
		t.Fatal("two replicas held one key's lock")
	} else if errors.Is(err, context.Canceled) {
		t.Fatalf("lock wait: %v", err)
	}
	if u, err := lb.Lock(ctx, "other"); err != nil {
		t.Errorf("another key's lock: %v", err)
	} else {
		u()
	}
	unlock()
	u, err := lb.Lock(ctx, "k")
	if err != nil {
		t.Fatalf("after the unlock: %v", err)
	}
	u()
}
