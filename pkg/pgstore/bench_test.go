package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// The read of every Bearer request (a user by uuid) from the cache, and a
// registry write (one transaction: lock, read, upsert, NOTIFY): go test
// -run '^$' -bench . ./pkg/pgstore.
func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	dsn := pg.NewDatabase(b)
	s := open(b, dsn, testPassphrase)
	now := time.Now()
	if err := s.CreateAccount(ctx, tokenserver.Account{Name: "a", Type: "user", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateUser(ctx, tokenserver.User{Username: "u", Account: "a", UUID: "id-u", Generation: 1, CreatedAt: now, LastUpdated: now}); err != nil {
		b.Fatal(err)
	}
	b.Run("GetUserByUUID cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GetUserByUUID(ctx, "id-u"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ChangeRegistry", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			e := registries.Entry{Name: "r", Type: registries.TypeDockerV2, User: "x", Pass: "bench-pass"}
			if err := s.ChangeRegistry(ctx, "a", fmt.Sprintf("r%d.example.com", i), func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
