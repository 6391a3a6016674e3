package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// utc gives times in UTC, as the vault store does: pgx returns
// timestamptz in the process's local zone.
func utc(ts ...*time.Time) {
	for _, t := range ts {
		*t = t.UTC()
	}
}

const accountCols = `name, email, type, state, created_at, last_updated`

func scanAccount(row pgx.Row) (tokenserver.Account, error) {
	var a tokenserver.Account
	err := row.Scan(&a.Name, &a.Email, &a.Type, &a.State, &a.CreatedAt, &a.LastUpdated)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tokenserver.ErrNotFound
	}
	utc(&a.CreatedAt, &a.LastUpdated)
	return a, err
}

// GetAccount implements tokenserver.Store (cached).
func (s *Store) GetAccount(ctx context.Context, name string) (tokenserver.Account, error) {
	return through(ctx, s, &s.caches.accounts, name, func(ctx context.Context) (tokenserver.Account, error) {
		return scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, name))
	})
}

// ListAccounts implements tokenserver.Store, sorted by name.
func (s *Store) ListAccounts(ctx context.Context) ([]tokenserver.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tokenserver.Account, error) { return scanAccount(r) })
	if out == nil {
		out = []tokenserver.Account{}
	}
	return out, s.wrap(err)
}

// CreateAccount implements tokenserver.Store.
func (s *Store) CreateAccount(ctx context.Context, a tokenserver.Account) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.Name, a.Email, a.Type, a.State, a.CreatedAt, a.LastUpdated)
		return err
	}, nAccounts)
	if pgCode(err) == codeUniqueViolation {
		return tokenserver.ErrAlreadyExists
	}
	return err
}

// UpdateAccount implements tokenserver.Store.
func (s *Store) UpdateAccount(ctx context.Context, name string, fn func(tokenserver.Account) (tokenserver.Account, error)) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1 FOR UPDATE`, name))
		if err != nil {
			return err
		}
		a, err := fn(cur)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET email = $2, type = $3, state = $4, created_at = $5, last_updated = $6 WHERE name = $1`,
			name, a.Email, a.Type, a.State, a.CreatedAt, a.LastUpdated)
		return err
	}, nAccounts)
}

// DeleteAccount implements tokenserver.Store: the account, its users (by
// the foreign key) and its registry entries, in one transaction.
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM accounts WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return tokenserver.ErrNotFound
		}
		if _, err = tx.Exec(ctx, `DELETE FROM registries WHERE account = $1`, name); err != nil {
			return err
		}
		// The account's cached ECR tokens: ecr.CacheKey starts with the
		// quoted account name and a space.
		_, err = tx.Exec(ctx, `DELETE FROM ecr_tokens WHERE starts_with(key, $1)`, strconv.Quote(name)+" ")
		return err
	}, nAccounts, nUsers, nRegistriesOf(name))
}

const userCols = `username, account, uuid, type, source, sealed_password, password_hash, generation, created_at, last_updated`

func (s *Store) scanUser(row pgx.Row) (tokenserver.User, error) {
	var u tokenserver.User
	var sealed []byte
	err := row.Scan(&u.Username, &u.Account, &u.UUID, &u.Type, &u.Source, &sealed, &u.PasswordHash, &u.Generation, &u.CreatedAt, &u.LastUpdated)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, tokenserver.ErrNotFound
	}
	if err != nil {
		return u, err
	}
	utc(&u.CreatedAt, &u.LastUpdated)
	if sealed != nil {
		if u.Password, err = s.seal.openString(sealed, adUserPassword(u.Username)); err != nil {
			return u, fmt.Errorf("user %q password: %w", u.Username, err)
		}
	}
	return u, nil
}

func (s *Store) sealPassword(u tokenserver.User) []byte {
	if u.Password == "" {
		return nil
	}
	return s.seal.sealString(u.Password, adUserPassword(u.Username))
}

// GetUser implements tokenserver.Store (cached: Basic authentication).
func (s *Store) GetUser(ctx context.Context, username string) (tokenserver.User, error) {
	return through(ctx, s, &s.caches.userByName, username, func(ctx context.Context) (tokenserver.User, error) {
		return s.scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	})
}

// GetUserByUUID implements tokenserver.Store (cached: Bearer
// authentication).
func (s *Store) GetUserByUUID(ctx context.Context, id string) (tokenserver.User, error) {
	if id == "" {
		return tokenserver.User{}, tokenserver.ErrNotFound
	}
	return through(ctx, s, &s.caches.userByUUID, id, func(ctx context.Context) (tokenserver.User, error) {
		return s.scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE uuid = $1`, id))
	})
}

// ListUsers implements tokenserver.Store, sorted by user name.
func (s *Store) ListUsers(ctx context.Context, account string) ([]tokenserver.User, error) {
	var out []tokenserver.User
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if _, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, account)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+userCols+` FROM users WHERE account = $1 ORDER BY username`, account)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tokenserver.User, error) { return s.scanUser(r) })
		return err
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	if out == nil {
		out = []tokenserver.User{}
	}
	return out, nil
}

// CreateUser implements tokenserver.Store.
func (s *Store) CreateUser(ctx context.Context, u tokenserver.User) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			u.Username, u.Account, u.UUID, u.Type, u.Source, s.sealPassword(u), u.PasswordHash, u.Generation, u.CreatedAt, u.LastUpdated)
		return err
	}, nUsers)
	switch pgCode(err) {
	case codeUniqueViolation:
		return tokenserver.ErrAlreadyExists
	case codeForeignKey:
		return tokenserver.ErrNotFound
	}
	return err
}

// UpdateUser implements tokenserver.Store. The user name, account and
// uuid never change.
func (s *Store) UpdateUser(ctx context.Context, username string, fn func(tokenserver.User) (tokenserver.User, error)) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := s.scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1 FOR UPDATE`, username))
		if err != nil {
			return err
		}
		u, err := fn(cur)
		if err != nil {
			return err
		}
		u.Username = username
		_, err = tx.Exec(ctx, `UPDATE users SET type = $2, source = $3, sealed_password = $4, password_hash = $5, generation = $6,
			created_at = $7, last_updated = $8 WHERE username = $1`,
			username, u.Type, u.Source, s.sealPassword(u), u.PasswordHash, u.Generation, u.CreatedAt, u.LastUpdated)
		return err
	}, nUsers)
}

// DeleteUser implements tokenserver.Store.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE username = $1`, username)
		if err == nil && tag.RowsAffected() == 0 {
			err = tokenserver.ErrNotFound
		}
		return err
	}, nUsers)
}

const registryCols = `registry, name, type, username, sealed_pass, verify, server_url, created_at, last_updated`

func (s *Store) scanEntry(account string, row pgx.Row) (registries.Entry, error) {
	var e registries.Entry
	var sealed []byte
	err := row.Scan(&e.Registry, &e.Name, &e.Type, &e.User, &sealed, &e.Verify, &e.ServerURL, &e.CreatedAt, &e.LastUpdated)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, registries.ErrRegistryNotFound
	}
	if err != nil {
		return e, err
	}
	utc(&e.CreatedAt, &e.LastUpdated)
	if e.Pass, err = s.seal.openString(sealed, adRegistry(account, e.Registry)); err != nil {
		return e, fmt.Errorf("registry %q password: %w", e.Registry, err)
	}
	return e, nil
}

// ListRegistries implements registries.Store (cached per account: the
// helper's get reads it).
func (s *Store) ListRegistries(ctx context.Context, account string) ([]registries.Entry, error) {
	list, err := s.registries(ctx, account)
	if err != nil {
		return nil, err
	}
	return append([]registries.Entry{}, list...), nil
}

func (s *Store) registries(ctx context.Context, account string) ([]registries.Entry, error) {
	return through(ctx, s, &s.caches.registries, account, func(ctx context.Context) ([]registries.Entry, error) {
		rows, err := s.pool.Query(ctx, `SELECT `+registryCols+` FROM registries WHERE account = $1 ORDER BY registry COLLATE "C"`, account)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (registries.Entry, error) { return s.scanEntry(account, r) })
	})
}

// RegistryAccounts returns the accounts that have registry entries,
// sorted (for copying a whole store).
func (s *Store) RegistryAccounts(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT account COLLATE "C" FROM registries ORDER BY 1`)
	if err != nil {
		return nil, s.wrap(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, s.wrap(err)
}

// GetRegistry implements registries.Store: from the account's cached
// entries when they are fresh, else one row (a write reads one entry; it
// must not cost the whole list after every other write invalidated it).
func (s *Store) GetRegistry(ctx context.Context, account, key string) (registries.Entry, error) {
	find := func(list []registries.Entry) (registries.Entry, error) {
		for _, e := range list {
			if e.Registry == key {
				return e, nil
			}
		}
		return registries.Entry{}, registries.ErrRegistryNotFound
	}
	if list, ok := s.caches.registries.fresh(s, account); ok {
		return find(list)
	}
	e, err := s.scanEntry(account, s.pool.QueryRow(ctx, `SELECT `+registryCols+` FROM registries WHERE account = $1 AND registry = $2`, account, key))
	if list, ok := s.caches.registries.last(account, err); ok {
		return find(list)
	}
	return e, s.wrap(err)
}

// ChangeRegistry implements registries.Store. Changes of one key are
// serialised by a transaction-scoped advisory lock on (account, key), so
// that two replicas creating the same entry do not both see it absent.
func (s *Store) ChangeRegistry(ctx context.Context, account, key string, fn func(cur *registries.Entry) (*registries.Entry, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(adRegistry(account, key))); err != nil {
			return err
		}
		var cur *registries.Entry
		e, err := s.scanEntry(account, tx.QueryRow(ctx, `SELECT `+registryCols+` FROM registries WHERE account = $1 AND registry = $2`, account, key))
		switch {
		case err == nil:
			cur = &e
		case !errors.Is(err, registries.ErrRegistryNotFound):
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if next == nil {
			if cur == nil {
				return registries.ErrNoChange
			}
			_, err = tx.Exec(ctx, `DELETE FROM registries WHERE account = $1 AND registry = $2`, account, key)
			return err
		}
		n := *next
		n.Registry = key
		_, err = tx.Exec(ctx, `INSERT INTO registries (account, `+registryCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (account, registry) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, username = EXCLUDED.username,
			sealed_pass = EXCLUDED.sealed_pass, verify = EXCLUDED.verify, server_url = EXCLUDED.server_url,
			created_at = EXCLUDED.created_at, last_updated = EXCLUDED.last_updated`,
			account, n.Registry, n.Name, n.Type, n.User, s.seal.sealString(n.Pass, adRegistry(account, key)), n.Verify, n.ServerURL, n.CreatedAt, n.LastUpdated)
		return err
	}, nRegistriesOf(account))
	if errors.Is(err, registries.ErrNoChange) {
		return nil
	}
	return err
}
