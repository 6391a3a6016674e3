package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchored/anchored/internal/pgtest"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/pgstore"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/tokenserver/storetest"
)

var pg = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pg)) }

const testPassphrase = "test passphrase"

// open opens a store on dsn with a cheap key derivation.
func open(t testing.TB, dsn, passphrase string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Options{DSN: dsn, Passphrase: passphrase, LogN: 10,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// The PostgreSQL store passes the store body, registries included; every
// handle is a separate pool and listener, as a separate replica is.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Open {
		dsn := pg.NewDatabase(t)
		return func() tokenserver.Store { return open(t, dsn, testPassphrase) }
	})
}

func sqlExec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong passphrase", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		open(t, dsn, testPassphrase)
		_, err := pgstore.Open(ctx, pgstore.Options{DSN: dsn, Passphrase: "another passphrase", LogN: 10})
		if !errors.Is(err, pgstore.ErrWrongPassphrase) || strings.Contains(err.Error(), "another passphrase") {
			t.Errorf("Open with the wrong passphrase: %v", err)
		}
	})
	t.Run("schema newer than the binary", func(t *testing.T) {
		dsn := pg.NewDatabase(t)
		open(t, dsn, testPassphrase).Close()
		sqlExec(t, dsn, `UPDATE `+pgstore.VersionTable+` SET version = $1`, pgstore.SchemaVersion()+1)
		_, err := pgstore.Open(ctx, pgstore.Options{DSN: dsn, Passphrase: testPassphrase, LogN: 10})
		if !errors.Is(err, pgstore.ErrSchemaTooNew) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open on a newer schema: %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		_, err := pgstore.Open(ctx, pgstore.Options{DSN: "host=" + t.TempDir() + " user=x dbname=x password=hunter22", Passphrase: testPassphrase})
		if !errors.Is(err, pgstore.ErrUnreachable) || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("Open of nothing: %v", err)
		}
	})
	t.Run("unparsable DSN keeps its password", func(t *testing.T) {
		_, err := pgstore.Open(ctx, pgstore.Options{DSN: "postgres://u:hunter22@[::1:5432/x", Passphrase: testPassphrase})
		if err == nil || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("Open of a bad DSN: %v", err)
		}
	})
}

// A sealed value moved to another row does not open there: the row's
// identity is the associated data.
func TestSealedValuesAreBoundToTheirRow(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	s := open(t, dsn, testPassphrase)
	for _, k := range []string{"a.example.com", "b.example.com"} {
		e := registries.Entry{Name: k, Type: registries.TypeDockerV2, User: "u", Pass: "pass-of-" + k}
		if err := s.ChangeRegistry(ctx, "admin", k, func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
			t.Fatal(err)
		}
	}
	sqlExec(t, dsn, `UPDATE registries SET sealed_pass = (SELECT sealed_pass FROM registries WHERE registry = 'a.example.com') WHERE registry = 'b.example.com'`)
	fresh := open(t, dsn, testPassphrase) // no cache
	if e, err := fresh.GetRegistry(ctx, "admin", "b.example.com"); err == nil {
		t.Errorf("a swapped sealed password opened: %q", e.Pass)
	}
	if e, err := fresh.ListRegistries(ctx, "other"); err != nil || len(e) != 0 {
		t.Errorf("another account's entries: %v, %v", e, err)
	}
}

func TestSigningKeys(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	a, b := open(t, dsn, testPassphrase), open(t, dsn, testPassphrase)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	key := func(kid string, at time.Time) tokenserver.KeyRecord {
		return tokenserver.KeyRecord{KID: kid, Alg: "HS256", Private: []byte("private-bytes-of-" + kid), CreatedAt: at}
	}
	if keys, err := a.SigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys on empty: %v, %v", keys, err)
	}
	// Replicas ensuring at once store one key.
	errs := make(chan error, 2)
	got := make([][]tokenserver.KeyRecord, 2)
	for i, s := range []*pgstore.Store{a, b} {
		go func() {
			var err error
			got[i], err = s.EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) { return key("k"+string(rune('1'+i)), t0), nil })
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(got[0]) != 1 || len(got[1]) != 1 || got[0][0].KID != got[1][0].KID || string(got[0][0].Private) != "private-bytes-of-"+got[0][0].KID {
		t.Fatalf("EnsureSigningKey from two replicas: %+v / %+v", got[0], got[1])
	}
	first := got[0][0].KID
	if keys, err := a.EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) {
		t.Error("generate called with a key stored")
		return key("x", t0), nil
	}); err != nil || len(keys) != 1 {
		t.Errorf("EnsureSigningKey with a key: %+v, %v", keys, err)
	}
	// Rotation: the old key verifies for keepFor, then goes.
	if err := b.RotateSigningKey(ctx, key("k3", t0.Add(time.Hour)), t0.Add(time.Hour), 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	keys, err := a.SigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].KID != "k3" || !keys[0].VerifyUntil.IsZero() || keys[1].KID != first ||
		!keys[1].VerifyUntil.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("after a rotation: %+v, %v", keys, err)
	}
	if err := a.RotateSigningKey(ctx, key("k4", t0.Add(4*time.Hour)), t0.Add(4*time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	keys, err = b.SigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].KID != "k4" || keys[1].KID != "k3" || !keys[1].VerifyUntil.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("after a second rotation (the first key expired): %+v, %v", keys, err)
	}
	if err := a.RotateSigningKey(ctx, key("k4", t0.Add(5*time.Hour)), t0.Add(5*time.Hour), time.Hour); err == nil {
		t.Error("a duplicate kid was stored")
	}
	if keys, _ := b.SigningKeys(ctx); len(keys) != 2 || !keys[0].VerifyUntil.IsZero() {
		t.Errorf("a failed rotation changed the keys: %+v", keys)
	}
}

// A dump of a populated database holds no stored secret.
func TestDumpHoldsNoSecret(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	s := open(t, dsn, testPassphrase)
	secrets := []string{"registry-pass-6c1f0e", "AKIAEXAMPLESECRETKEY/7Fq2", "plaintext-user-pw-91b2", "hs256-secret-bytes-4d8a1c", "pkcs8-private-key-bytes-e07f", "ecr-token-secret-3f9a51"}
	now := time.Now()
	if err := s.CreateAccount(ctx, tokenserver.Account{Name: "acct", Type: "user", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, tokenserver.User{Username: "plain", Account: "acct", UUID: "u1", Type: "native", Password: secrets[2], Generation: 1, CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	for i, p := range secrets[:2] {
		e := registries.Entry{Name: "r", Type: []string{registries.TypeDockerV2, registries.TypeAWSECR}[i], User: "user-visible", Pass: p}
		if err := s.ChangeRegistry(ctx, "acct", []string{"reg.example.com", "1.dkr.ecr.us-east-1.amazonaws.com"}[i], func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) {
		return tokenserver.KeyRecord{KID: "k1", Alg: "HS256", Private: []byte(secrets[3]), CreatedAt: now}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.ECRCache().Store(ctx, `"acct" 1.dkr.ecr.us-east-1.amazonaws.com ak:x`, ecr.Token{Username: "AWS", Password: secrets[5],
		RequestedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateSigningKey(ctx, tokenserver.KeyRecord{KID: "k2", Alg: "ES256", Private: []byte(secrets[4]), CreatedAt: now.Add(time.Second)}, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	// --inserts writes bytea and text as a reader of the dump sees them.
	out, err := exec.Command(pg.Bin(t, "pg_dump"), "--inserts", "--dbname", dsn).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	dump := string(out)
	if !strings.Contains(dump, "user-visible") || !strings.Contains(dump, "reg.example.com") || !strings.Contains(dump, "ak:x") {
		t.Fatalf("the dump lacks the rows it should hold (%d bytes)", len(dump))
	}
	for _, sec := range secrets {
		if strings.Contains(dump, sec) {
			t.Errorf("the dump holds the secret %q", sec)
		}
	}
}

// A database an older binary made (schema version 1) is migrated to this
// binary's version at Open, its records kept.
func TestMigratesAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	s := open(t, dsn, testPassphrase)
	now := time.Now()
	if err := s.CreateAccount(ctx, tokenserver.Account{Name: "kept", Type: "user", State: "enabled", CreatedAt: now, LastUpdated: now}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	sqlExec(t, dsn, `DROP TABLE ecr_tokens; UPDATE `+pgstore.VersionTable+` SET version = 1`)
	s = open(t, dsn, testPassphrase)
	if _, err := s.GetAccount(ctx, "kept"); err != nil {
		t.Errorf("a record of the older schema: %v", err)
	}
	if _, ok, err := s.ECRCache().Load(ctx, "k"); ok || err != nil {
		t.Errorf("the table of schema version 2 after the migration: %v, %v", ok, err)
	}
	if pgstore.SchemaVersion() != 2 {
		t.Errorf("SchemaVersion = %d", pgstore.SchemaVersion())
	}
}
