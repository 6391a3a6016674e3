// Package pgstore is the PostgreSQL implementation of tokenserver.Store
// (and so of registries.Store): the state a fleet of anchored replicas
// shares. The schema is migrated at Open by tern from the migrations
// embedded in the binary; secrets are sealed per record (seal.go); the
// read paths of hot requests are cached in memory and invalidated across
// replicas by LISTEN/NOTIFY (cache.go).
package pgstore

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/anchored/anchored/pkg/tokenserver"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable is tern's table recording the schema version.
const VersionTable = "anchored_schema_version"

// Sentinels of Open; each is one clear line for the daemon to print.
var (
	ErrSchemaTooNew    = errors.New("database schema is newer than this anchored")
	ErrWrongPassphrase = errors.New("database secrets are sealed with a different passphrase than this replica's vault passphrase")
	ErrUnreachable     = errors.New("database unreachable")
)

// Options configure Open.
type Options struct {
	// DSN is a PostgreSQL connection string (URL or keyword/value).
	DSN string
	// Password, when set, is the database password (it overrides one in
	// the DSN): read from a file, never from argv.
	Password string
	// Passphrase derives the sealing key (the vault passphrase).
	Passphrase string
	// LogN is scrypt's cost for a new database's key (default DefaultLogN;
	// an existing database keeps the cost it was made with).
	LogN int
	// Staleness bounds how long a cached record is served while the
	// change notifications are not being received (default 1s).
	Staleness time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// MaxConns caps the pool (default pgxpool's).
	MaxConns int32
	// noListen leaves the notification connection down for good (tests
	// of the bounded-staleness fallback; export_test.go).
	noListen bool
}

// Store is the PostgreSQL store. It is safe for concurrent use; Close it.
type Store struct {
	pool   *pgxpool.Pool
	seal   *sealer
	log    *slog.Logger
	stale  time.Duration
	caches caches
	// listening is true while the notification connection is up: cached
	// records are then valid until a notification invalidates them.
	listening   atomic.Bool
	keysChanged hooks
	cancel      context.CancelFunc
	done        chan struct{}
	closeOnce   sync.Once
}

var _ tokenserver.Store = (*Store)(nil)

// Open connects, migrates the schema, derives the sealing key and starts
// the change listener. Its errors wrap the sentinels above.
func Open(ctx context.Context, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		// pgconn's parse errors can quote the DSN, password included.
		return nil, errors.New("database URL does not parse")
	}
	if o.Password != "" {
		cfg.ConnConfig.Password = o.Password
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Staleness <= 0 {
		o.Staleness = time.Second
	}
	if o.LogN == 0 {
		o.LogN = DefaultLogN
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	s := &Store{pool: pool, log: o.Logger, stale: o.Staleness}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if s.seal, err = s.unseal(ctx, o.Passphrase, o.LogN); err != nil {
		pool.Close()
		return nil, err
	}
	if o.noListen {
		s.cancel, s.done = func() {}, make(chan struct{})
		close(s.done)
		return s, nil
	}
	conn, err := subscribe(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: listen for changes: %w", ErrUnreachable, err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.listen(lctx, cfg.ConnConfig.Copy(), conn)
	return s, nil
}

// Close stops the listener and closes the pool.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
		s.pool.Close()
	})
}

// Ping reports whether the database answers (for readiness).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return s.wrap(err)
	}
	return nil
}

// Migrations returns the embedded migrations, for tools and tests.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// SchemaVersion is the schema version this binary migrates to.
func SchemaVersion() int32 {
	names, err := migrate.FindMigrations(Migrations())
	if err != nil {
		panic(err)
	}
	return int32(len(names))
}

// migrate brings the schema to this binary's version under tern's
// advisory lock (replicas starting together migrate once), refusing a
// schema newer than the binary: an older replica must not write to tables
// it does not know.
func (s *Store) migrate(ctx context.Context) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer c.Release()
	m, err := migrate.NewMigrator(ctx, c.Conn(), VersionTable)
	if err != nil {
		return fmt.Errorf("schema version table: %w", err)
	}
	if err := m.LoadMigrations(Migrations()); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	cur, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if known := int32(len(m.Migrations)); cur > known {
		return fmt.Errorf("%w: the database is at schema version %d, this binary knows up to %d: upgrade anchored", ErrSchemaTooNew, cur, known)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	return nil
}

// unseal derives the sealing key from the database's salt, making the
// salt and the verifier first in a new database (the first replica wins a
// race; the others derive again from its salt).
func (s *Store) unseal(ctx context.Context, passphrase string, logN int) (*sealer, error) {
	if passphrase == "" {
		return nil, errors.New("no passphrase to derive the database sealing key from")
	}
	for range 2 {
		var salt, verifier []byte
		var n int
		err := s.pool.QueryRow(ctx, `SELECT kdf_salt, kdf_log_n, verifier FROM anchored_meta WHERE id = 1`).Scan(&salt, &n, &verifier)
		if errors.Is(err, pgx.ErrNoRows) {
			salt = make([]byte, 32)
			if _, err := rand.Read(salt); err != nil {
				return nil, err
			}
			sl, err := newSealer(passphrase, salt, logN)
			if err != nil {
				return nil, err
			}
			tag, err := s.pool.Exec(ctx, `INSERT INTO anchored_meta (id, kdf_salt, kdf_log_n, verifier) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING`,
				salt, logN, sl.sealString(verifierPlain, adVerifier))
			if err != nil {
				return nil, fmt.Errorf("store the sealing salt: %w", s.wrap(err))
			}
			if tag.RowsAffected() == 1 {
				return sl, nil
			}
			continue // another replica made it first: use its salt
		}
		if err != nil {
			return nil, fmt.Errorf("read the sealing salt: %w", s.wrap(err))
		}
		sl, err := newSealer(passphrase, salt, n)
		if err != nil {
			return nil, err
		}
		if v, err := sl.openString(verifier, adVerifier); err != nil || v != verifierPlain {
			return nil, ErrWrongPassphrase
		}
		return sl, nil
	}
	return nil, errors.New("sealing salt: lost a race twice")
}

// wrap marks errors that mean the database cannot be reached with
// tokenserver.ErrUnavailable (the API answers 503 with Retry-After).
func (s *Store) wrap(err error) error {
	if err == nil || errors.Is(err, tokenserver.ErrUnavailable) {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", tokenserver.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether err means the database (or the way to it)
// is down, as opposed to a refused statement.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down or starting; 53300: too many connections.
		return len(pe.Code) == 5 && pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnLost(err)
}

// lockID is the advisory lock of a record: the 64-bit FNV-1a hash of its
// identity (a collision only serialises two unrelated changes).
func lockID(identity string) int64 {
	h := fnv.New64a()
	h.Write([]byte(identity))
	return int64(h.Sum64())
}

// pg error codes the store maps to its sentinels.
const (
	codeUniqueViolation = "23505"
	codeForeignKey      = "23503"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// tx runs fn in a transaction and commits; notify names the caches the
// change invalidates, here (at once) and on every other replica (NOTIFY
// is delivered at commit).
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error, notify ...string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		for _, n := range notify {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap(err)
	}
	for _, n := range notify {
		s.notified(n)
	}
	return nil
}
