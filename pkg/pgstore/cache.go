package pgstore

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// Coherence. Every request authenticates (a user by name or uuid, its
// account) and the helper's get reads an account's registries; those reads
// are served from memory. A write names what it changes in a NOTIFY on
// channel, in its transaction, so every replica (this one included) hears
// of it at commit and drops that cache. While the notification connection
// is down a cached record is served for at most Options.Staleness, then
// read again; if the database cannot be read either, the last known
// record is served (nothing can change while nobody can write).

// channel is the NOTIFY channel; the payloads are the cache names.
const channel = "anchored_changes"

// Cache names (NOTIFY payloads).
const (
	nUsers      = "users"
	nAccounts   = "accounts"
	nRegistries = "registries" // all accounts'; "registries:ACCOUNT" one's
	nKeys       = "keys"       // no cache: the server's key ring reloads
)

// nRegistriesOf names one account's registry entries.
func nRegistriesOf(account string) string { return nRegistries + ":" + account }

type cached[V any] struct {
	v  V
	at time.Time
}

// cache is one map with a generation: a read that started before an
// invalidation must not store what it read after it.
type cache[K comparable, V any] struct {
	mu  sync.Mutex
	gen uint64
	m   map[K]cached[V]
}

func (c *cache[K, V]) get(k K) (cached[V], uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, c.gen, ok
}

func (c *cache[K, V]) put(k K, gen uint64, v V, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxEntries {
		c.m = map[K]cached[V]{}
	}
	c.m[k] = cached[V]{v: v, at: at}
}

// drop forgets k; the generation moves, so a load of k in flight does not
// store what it read before the change.
func (c *cache[K, V]) drop(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, k)
}

// fresh returns k's cached value if it may be served without a read.
func (c *cache[K, V]) fresh(s *Store, k K) (V, bool) {
	e, _, ok := c.get(k)
	if ok && (s.listening.Load() || time.Since(e.at) < s.stale) {
		return e.v, true
	}
	var zero V
	return zero, false
}

// last returns k's cached value however old when err means the database
// is down: the last known record is served (nothing can change while
// nobody can write).
func (c *cache[K, V]) last(k K, err error) (V, bool) {
	if err != nil && unavailable(err) {
		if e, _, ok := c.get(k); ok {
			return e.v, true
		}
	}
	var zero V
	return zero, false
}

func (c *cache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// maxEntries bounds each cache; past it the cache starts over.
const maxEntries = 1 << 16

type caches struct {
	userByName cache[string, tokenserver.User]
	userByUUID cache[string, tokenserver.User]
	accounts   cache[string, tokenserver.Account]
	registries cache[string, []registries.Entry]
}

func (c *caches) invalidate(name string) {
	if account, ok := strings.CutPrefix(name, nRegistries+":"); ok {
		c.registries.drop(account) // one account's entries
		return
	}
	switch name {
	case nUsers:
		c.userByName.clear()
		c.userByUUID.clear()
	case nAccounts:
		c.accounts.clear()
	case nRegistries:
		c.registries.clear()
	case nKeys:
	default: // unknown (a newer replica's): drop everything
		c.all()
	}
}

func (c *caches) all() {
	for _, n := range []string{nUsers, nAccounts, nRegistries} {
		c.invalidate(n)
	}
}

// through reads k from c, or loads it. A load that fails because the
// database is down serves the cached value however old.
func through[K comparable, V any](ctx context.Context, s *Store, c *cache[K, V], k K, load func(context.Context) (V, error)) (V, error) {
	if v, ok := c.fresh(s, k); ok {
		return v, nil
	}
	_, gen, _ := c.get(k)
	now := time.Now()
	v, err := load(ctx)
	if err != nil {
		if v, ok := c.last(k, err); ok {
			return v, nil
		}
		var zero V
		return zero, s.wrap(err)
	}
	c.put(k, gen, v, now)
	return v, nil
}

// subscribe opens the notification connection and listens on channel.
func subscribe(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// listen holds the notification connection (conn, opened by Open, so that
// caches are valid from the first request), reconnecting with backoff
// when it drops; each reconnection drops every cache, since notifications
// may have been missed while it was down.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, conn *pgx.Conn) {
	defer close(s.done)
	s.listening.Store(true)
	backoff := 50 * time.Millisecond
	for {
		err := s.receive(ctx, conn)
		conn.Close(context.Background())
		s.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("database change notifications lost; caches fall back to bounded staleness", "err", err)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if conn, err = subscribe(ctx, cfg); err == nil {
				break
			}
			backoff = min(backoff*2, 2*time.Second)
		}
		backoff = 50 * time.Millisecond
		s.caches.all()
		s.keysChanged.run()
		s.listening.Store(true)
		s.log.Info("database change notifications restored")
	}
}

func (s *Store) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.notified(n.Payload)
	}
}

// notified applies a change named by this replica or another.
func (s *Store) notified(name string) {
	s.caches.invalidate(name)
	if name == nKeys {
		s.keysChanged.run()
	}
}

func isConnLost(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
