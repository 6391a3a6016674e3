package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/anchored/anchored/internal/pgtest"
)

var pg = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pg)) }

// Each test gets its own database; a stopped cluster refuses connections
// and serves the same data again after Start.
func TestDatabasesAreSeparateAndSurviveRestart(t *testing.T) {
	ctx := context.Background()
	a, b := pg.NewDatabase(t), pg.NewDatabase(t)
	if a == b {
		t.Fatalf("two tests share %q", a)
	}
	exec := func(dsn, sql string) error {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, sql)
		return err
	}
	if err := exec(a, "CREATE TABLE x (v int); INSERT INTO x VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if err := exec(b, "SELECT * FROM x"); err == nil {
		t.Error("a table made in one test's database is visible in another's")
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := exec(a, "SELECT 1"); err == nil {
		t.Error("a stopped cluster accepted a connection")
	}
	pg.Start(t)
	c, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v int
	if err := c.QueryRow(ctx, "SELECT v FROM x").Scan(&v); err != nil || v != 7 {
		t.Errorf("after restart: %d, %v", v, err)
	}
	if _, err := os.Stat(pg.Bin(t, "pg_dump")); err != nil {
		t.Errorf("pg_dump: %v", err)
	}
}
