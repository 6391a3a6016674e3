package tokenserver

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anchored/anchored/pkg/vault"
)

// The signing keys in the vault (docs/vault-format.md, signing_keys). A
// version 1 vault's signing_secret is presented as one HS256 key with a
// kid derived from the secret, and moved into signing_keys (format 2) by
// the first rotation; until then the vault is left as it is.

// SigningKeys implements Store.
func (s *VaultStore) SigningKeys(ctx context.Context) ([]KeyRecord, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, err
	}
	return keysFromVault(d)
}

// EnsureSigningKey implements Store. A legacy signing_secret counts as a
// key: nothing is written for it.
func (s *VaultStore) EnsureSigningKey(ctx context.Context, generate func() (KeyRecord, error)) ([]KeyRecord, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, err
	}
	if keys, err := keysFromVault(d); err != nil || len(keys) > 0 {
		return keys, err
	}
	var out []KeyRecord
	err = s.v.Update(ctx, func(d *vault.Document) error {
		keys, err := keysFromVault(d)
		if err != nil {
			return err
		}
		if len(keys) > 0 { // another process won the race
			out = keys
			return errKeep
		}
		k, err := generate()
		if err != nil {
			return err
		}
		if err := putVaultKey(d, k); err != nil {
			return err
		}
		out, err = keysFromVault(d)
		return err
	})
	if errors.Is(err, errKeep) {
		err = nil
	}
	if err == nil {
		s.keys.saw(s.v.Document())
	}
	return out, err
}

// RotateSigningKey implements Store, in one write of the vault.
func (s *VaultStore) RotateSigningKey(ctx context.Context, next KeyRecord, now time.Time, keepFor time.Duration) error {
	err := s.v.Update(ctx, func(d *vault.Document) error {
		if err := migrateSecret(d); err != nil {
			return err
		}
		if _, ok := d.SigningKeys[next.KID]; ok {
			return fmt.Errorf("signing key %q: %w", next.KID, ErrAlreadyExists)
		}
		until := now.Add(keepFor).UTC()
		for kid, k := range d.SigningKeys {
			if k.VerifyUntil.IsZero() {
				k.VerifyUntil = until
			}
			if k.VerifyUntil.Before(now) {
				delete(d.SigningKeys, kid)
			}
		}
		return putVaultKey(d, next)
	})
	if err == nil {
		s.keys.saw(s.v.Document())
	}
	return err
}

// OnSigningKeysChange implements KeysNotifier: fn runs when a document
// this store reads (or writes) has other signing keys than the last one.
func (s *VaultStore) OnSigningKeysChange(fn func()) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	s.keys.fns = append(s.keys.fns, fn)
}

var _ KeysNotifier = (*VaultStore)(nil)

// keysWatch tells the server when the vault's keys change. Documents are
// never changed once published, so a document seen before needs no look;
// a new one (another process's write re-read, or this one's) is compared
// by a fingerprint of its keys' ids and retirement times.
type keysWatch struct {
	doc  atomic.Pointer[vault.Document]
	mu   sync.Mutex
	last string
	fns  []func()
}

func (w *keysWatch) saw(d *vault.Document) {
	// A load first: the swap's write on every request would bounce the
	// cache line between cores.
	if d == nil || w.doc.Load() == d || w.doc.Swap(d) == d {
		return
	}
	fp := keysFingerprint(d)
	w.mu.Lock()
	changed := fp != w.last
	w.last = fp
	fns := w.fns
	w.mu.Unlock()
	if changed {
		for _, fn := range fns {
			fn()
		}
	}
}

func keysFingerprint(d *vault.Document) string {
	var b strings.Builder
	b.WriteString(secretKID([]byte(d.SigningSecret)))
	for _, kid := range slices.Sorted(maps.Keys(d.SigningKeys)) {
		fmt.Fprintf(&b, " %s@%d", kid, d.SigningKeys[kid].VerifyUntil.UnixNano())
	}
	return b.String()
}

// keysFromVault lists the document's keys, newest first; a version 1
// document's signing_secret is one HS256 key.
func keysFromVault(d *vault.Document) ([]KeyRecord, error) {
	if len(d.SigningKeys) == 0 && d.SigningSecret != "" {
		k, err := legacySecretKey(d.SigningSecret)
		if err != nil {
			return nil, err
		}
		return []KeyRecord{k}, nil
	}
	out := make([]KeyRecord, 0, len(d.SigningKeys))
	for _, k := range d.SigningKeys {
		out = append(out, KeyRecord{KID: k.KID, Alg: k.Alg, Private: slices.Clone(k.Private), CreatedAt: k.CreatedAt, VerifyUntil: k.VerifyUntil})
	}
	sortKeys(out)
	return out, nil
}

// errMalformedSecret: the version 1 signing_secret is not base64 of 32
// bytes or more. The value is never quoted.
var errMalformedSecret = errors.New("signing secret in the store is malformed")

func legacySecretKey(secret string) (KeyRecord, error) {
	b, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(b) < 32 {
		return KeyRecord{}, errMalformedSecret
	}
	return KeyRecord{KID: secretKID(b), Alg: "HS256", Private: b}, nil
}

// migrateSecret moves a version 1 signing_secret into signing_keys; the
// document becomes version 2.
func migrateSecret(d *vault.Document) error {
	if d.SigningSecret != "" && len(d.SigningKeys) == 0 {
		k, err := legacySecretKey(d.SigningSecret)
		if err != nil {
			return err
		}
		if err := putVaultKey(d, k); err != nil {
			return err
		}
		d.SigningSecret = ""
	}
	return nil
}

func putVaultKey(d *vault.Document, k KeyRecord) error {
	if k.KID == "" || k.Alg == "" || len(k.Private) == 0 {
		return errors.New("signing key: kid, alg and private key are required")
	}
	if d.SigningKeys == nil {
		d.SigningKeys = map[string]*vault.SigningKey{}
	}
	d.Version = max(d.Version, vault.SigningKeysVersion)
	d.SigningKeys[k.KID] = &vault.SigningKey{KID: k.KID, Alg: k.Alg, Private: slices.Clone(k.Private),
		CreatedAt: k.CreatedAt.UTC(), VerifyUntil: k.VerifyUntil.UTC()}
	return nil
}

// sortKeys orders keys newest first; among keys made at the same instant,
// the one that still signs first, then by kid, so the order is total.
func sortKeys(keys []KeyRecord) {
	slices.SortFunc(keys, func(a, b KeyRecord) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		if az, bz := a.VerifyUntil.IsZero(), b.VerifyUntil.IsZero(); az != bz {
			if az {
				return -1
			}
			return 1
		}
		return strings.Compare(a.KID, b.KID)
	})
}
