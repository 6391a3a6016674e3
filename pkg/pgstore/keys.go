package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/anchored/anchored/pkg/tokenserver"
)

// The signing keys (tokenserver.Store's SigningKeys, EnsureSigningKey,
// RotateSigningKey), in signing_keys, private keys sealed. A change sends
// the "keys" notification; every replica's server reloads its keys
// (tokenserver.KeysNotifier), so a rotation on one is used by all.

const keyCols = `kid, alg, sealed_private, created_at, verify_until`

// keyOrder is the vault store's order: newest first; among keys made at
// the same instant the one that signs first, then by kid.
const keyOrder = `ORDER BY created_at DESC, (verify_until IS NULL) DESC, kid COLLATE "C"`

func (s *Store) signingKeys(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]tokenserver.KeyRecord, error) {
	rows, err := q.Query(ctx, `SELECT `+keyCols+` FROM signing_keys `+keyOrder)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tokenserver.KeyRecord, error) {
		var k tokenserver.KeyRecord
		var sealed []byte
		var until *time.Time
		if err := r.Scan(&k.KID, &k.Alg, &sealed, &k.CreatedAt, &until); err != nil {
			return k, err
		}
		if until != nil {
			k.VerifyUntil = until.UTC()
		}
		k.CreatedAt = k.CreatedAt.UTC()
		var err error
		if k.Private, err = s.seal.open(sealed, adSigningKey(k.KID)); err != nil {
			return k, fmt.Errorf("signing key %q: %w", k.KID, err)
		}
		return k, nil
	})
}

// SigningKeys implements tokenserver.Store: every stored key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]tokenserver.KeyRecord, error) {
	keys, err := s.signingKeys(ctx, s.pool)
	return keys, s.wrap(err)
}

// keysLock serialises the signing-key writers across replicas.
const keysLock = "signing-keys"

func (s *Store) insertKey(ctx context.Context, tx pgx.Tx, k tokenserver.KeyRecord) error {
	if k.KID == "" || k.Alg == "" || len(k.Private) == 0 {
		return errors.New("signing key: kid, alg and private key are required")
	}
	var until *time.Time
	if !k.VerifyUntil.IsZero() {
		until = &k.VerifyUntil
	}
	_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5)`,
		k.KID, k.Alg, s.seal.seal(k.Private, adSigningKey(k.KID)), k.CreatedAt, until)
	if pgCode(err) == codeUniqueViolation {
		return fmt.Errorf("signing key %q: %w", k.KID, tokenserver.ErrAlreadyExists)
	}
	return err
}

// EnsureSigningKey implements tokenserver.Store: generate()'s key is
// stored when there is none (replicas asking at once store one), and every
// key is returned, newest first.
func (s *Store) EnsureSigningKey(ctx context.Context, generate func() (tokenserver.KeyRecord, error)) ([]tokenserver.KeyRecord, error) {
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) > 0 {
		return keys, err
	}
	var keys []tokenserver.KeyRecord
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(keysLock)); err != nil {
			return err
		}
		var err error
		if keys, err = s.signingKeys(ctx, tx); err != nil || len(keys) > 0 {
			return err
		}
		k, err := generate()
		if err != nil {
			return err
		}
		if err := s.insertKey(ctx, tx, k); err != nil {
			return err
		}
		keys, err = s.signingKeys(ctx, tx)
		return err
	}, nKeys)
	return keys, err
}

// RotateSigningKey implements tokenserver.Store, in one transaction: keys
// without a VerifyUntil get now+keepFor, next is stored, and keys whose
// VerifyUntil is before now are deleted.
func (s *Store) RotateSigningKey(ctx context.Context, next tokenserver.KeyRecord, now time.Time, keepFor time.Duration) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(keysLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET verify_until = $1 WHERE verify_until IS NULL`, now.Add(keepFor)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE verify_until < $1`, now); err != nil {
			return err
		}
		return s.insertKey(ctx, tx, next)
	}, nKeys)
}

// OnSigningKeysChange implements tokenserver.KeysNotifier: fn runs when
// any replica (this one included) changed the keys, and when the
// notification connection comes back (a change may have been missed).
func (s *Store) OnSigningKeysChange(fn func()) { s.keysChanged.add(fn) }

var _ tokenserver.KeysNotifier = (*Store)(nil)

// hooks is a list of functions to call, safe for concurrent use.
type hooks struct {
	mu  sync.Mutex
	fns []func()
}

func (h *hooks) add(fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, fn)
}

func (h *hooks) run() {
	h.mu.Lock()
	fns := h.fns
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
