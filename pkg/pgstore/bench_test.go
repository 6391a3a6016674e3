package pgstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/vault"
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

// Bearer GET /v1/account through the API in process, on the vault store
// and on the PostgreSQL store: the cache, not the database, answers, so
// the two are close (go test -run '^$' -bench API ./pkg/pgstore).
func BenchmarkAPIBearer(b *testing.B) {
	for _, tc := range []struct {
		name  string
		store func(b *testing.B) tokenserver.Store
	}{
		{"vault", func(b *testing.B) tokenserver.Store {
			v, err := vault.Create(context.Background(), filepath.Join(b.TempDir(), "s", "vault"), testPassphrase, nil, vault.WithWorkFactor(vault.MinWorkFactor))
			if err != nil {
				b.Fatal(err)
			}
			return tokenserver.NewVaultStore(v)
		}},
		{"postgres", func(b *testing.B) tokenserver.Store { return open(b, pg.NewDatabase(b), testPassphrase) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := apiOn(b, tc.store(b))
			tok := "Bearer " + token(b, ts, "admin", "foobar")
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", ts.URL+"/v1/account", nil)
					req.Header.Set("Authorization", tok)
					res, err := ts.Client().Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}
