package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// KeyRecord is one signing key as the store keeps it. (The rotation work
// defines tokenserver.KeyRecord with these fields; this one stands in for
// it until the two meet.)
type KeyRecord struct {
	KID, Alg string
	// Private is the HS256 secret's bytes, or a PKCS#8 DER private key.
	Private []byte
	// CreatedAt orders keys: the newest signs.
	CreatedAt time.Time
	// VerifyUntil is when a retired key stops verifying; zero while the
	// key is current.
	VerifyUntil time.Time
}

const keyCols = `kid, alg, sealed_private, created_at, verify_until`

func (s *Store) signingKeys(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]KeyRecord, error) {
	rows, err := q.Query(ctx, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at DESC, kid DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (KeyRecord, error) {
		var k KeyRecord
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

// SigningKeys returns every stored signing key, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]KeyRecord, error) {
	keys, err := s.signingKeys(ctx, s.pool)
	return keys, s.wrap(err)
}

// keysLock serialises the signing-key writers across replicas.
const keysLock = "signing-keys"

func (s *Store) insertKey(ctx context.Context, tx pgx.Tx, k KeyRecord) error {
	var until *time.Time
	if !k.VerifyUntil.IsZero() {
		until = &k.VerifyUntil
	}
	_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5)`,
		k.KID, k.Alg, s.seal.seal(k.Private, adSigningKey(k.KID)), k.CreatedAt, until)
	return err
}

// EnsureSigningKey stores generate()'s key when there is none (replicas
// asking at once store one) and returns every key, newest first.
func (s *Store) EnsureSigningKey(ctx context.Context, generate func() (KeyRecord, error)) ([]KeyRecord, error) {
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) > 0 {
		return keys, err
	}
	var keys []KeyRecord
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
	})
	return keys, err
}

// RotateSigningKey, in one transaction: keys without a VerifyUntil get
// now+keepFor, next is stored, and keys whose VerifyUntil is before now
// are deleted.
func (s *Store) RotateSigningKey(ctx context.Context, next KeyRecord, now time.Time, keepFor time.Duration) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(keysLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET verify_until = $1 WHERE verify_until IS NULL`, now.Add(keepFor)); err != nil {
			return err
		}
		if err := s.insertKey(ctx, tx, next); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE verify_until < $1`, now)
		return err
	})
}
