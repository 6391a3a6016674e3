package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchored/anchored/pkg/helper/ecr"
)

// ECRCache returns the ECR token cache the replicas share: tokens sealed
// in ecr_tokens, with this process's memory in front, so that a fresh
// token is served without a database read and one replica's fetch serves
// the others (they read the database only when their copy is due for
// renewal or missing).
func (s *Store) ECRCache() ecr.Cache { return &ecrCache{s: s, mem: map[string]ecr.Token{}} }

// ECRLocker serialises token fetches for one key across replicas with a
// session advisory lock, so that one replica calls AWS per registry.
func (s *Store) ECRLocker() ecr.Locker { return ecrLocker{s} }

type ecrCache struct {
	s   *Store
	mu  sync.Mutex
	mem map[string]ecr.Token
}

func adECRToken(key string) string { return "ecr-token\x00" + key }

func (c *ecrCache) Load(ctx context.Context, key string) (ecr.Token, bool, error) {
	c.mu.Lock()
	t, ok := c.mem[key]
	c.mu.Unlock()
	if ok && t.ExpiresAt.Sub(time.Now()) > ecr.RenewBefore {
		return t, true, nil
	}
	var sealed []byte
	err := c.s.pool.QueryRow(ctx, `SELECT username, sealed_password, proxy_endpoint, requested_at, expires_at FROM ecr_tokens WHERE key = $1`, key).
		Scan(&t.Username, &sealed, &t.ProxyEndpoint, &t.RequestedAt, &t.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ecr.Token{}, false, nil
	}
	if err != nil {
		return ecr.Token{}, false, c.s.wrap(err)
	}
	if t.Password, err = c.s.seal.openString(sealed, adECRToken(key)); err != nil {
		return ecr.Token{}, false, fmt.Errorf("cached ecr token: %w", err)
	}
	utc(&t.RequestedAt, &t.ExpiresAt)
	c.remember(key, t)
	return t, true, nil
}

func (c *ecrCache) Store(ctx context.Context, key string, t ecr.Token) error {
	_, err := c.s.pool.Exec(ctx, `INSERT INTO ecr_tokens (key, username, sealed_password, proxy_endpoint, requested_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO UPDATE SET username = EXCLUDED.username,
		sealed_password = EXCLUDED.sealed_password, proxy_endpoint = EXCLUDED.proxy_endpoint,
		requested_at = EXCLUDED.requested_at, expires_at = EXCLUDED.expires_at`,
		key, t.Username, c.s.seal.sealString(t.Password, adECRToken(key)), t.ProxyEndpoint, t.RequestedAt, t.ExpiresAt)
	c.remember(key, t) // this replica serves it either way
	return c.s.wrap(err)
}

func (c *ecrCache) remember(key string, t ecr.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mem) >= maxEntries {
		c.mem = map[string]ecr.Token{}
	}
	c.mem[key] = t
}

type ecrLocker struct{ s *Store }

func (l ecrLocker) Lock(ctx context.Context, key string) (func(), error) {
	conn, err := l.s.pool.Acquire(ctx)
	if err != nil {
		return nil, l.s.wrap(err)
	}
	id := lockID("ecr\x00" + key)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, id); err != nil {
		conn.Release()
		return nil, l.s.wrap(err)
	}
	return func() {
		// A failed unlock closes the session, which releases the lock.
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, id); err != nil {
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
	}, nil
}
