package tokenserver_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/anchored/anchored/internal/pgtest"
	"github.com/anchored/anchored/pkg/pgstore"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/tokenserver/storetest"
)

// pg is this package's private PostgreSQL cluster, started by the first
// test that needs it and stopped by TestMain.
var pg = pgtest.New()

func openPG(t *testing.T, dsn string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Options{DSN: dsn, Passphrase: "test passphrase", LogN: 10,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func init() {
	tokenserver.SetPostgresStore(func(t *testing.T) tokenserver.Store { return openPG(t, pg.NewDatabase(t)) },
		func() { _ = pg.Close() })
}

// The PostgreSQL store passes the same body as the vault store.
func TestPostgresStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Open {
		dsn := pg.NewDatabase(t)
		return func() tokenserver.Store { return openPG(t, dsn) }
	})
}
