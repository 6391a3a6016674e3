// Package storecopy copies everything one tokenserver.Store holds into
// another, empty one (anchored store copy: the vault file to PostgreSQL
// and back), then verifies the copy by reading both again. Secrets travel
// in memory only: each store seals them its own way.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// ErrNotEmpty means the destination already holds records.
var ErrNotEmpty = errors.New("the destination store is not empty: copy only into a new one")

// ErrMismatch means the verification found a difference.
var ErrMismatch = errors.New("the copy differs from the source")

// RegistryLister lists the accounts that have registry entries (an
// account's entries may exist before the account: the helper stores them).
// Both stores implement it.
type RegistryLister interface {
	RegistryAccounts(ctx context.Context) ([]string, error)
}

// Counts reports what was copied.
type Counts struct {
	Accounts, Users, Registries, SigningKeys int
}

func (c Counts) String() string {
	return fmt.Sprintf("%d accounts, %d users, %d registry entries, %d signing keys", c.Accounts, c.Users, c.Registries, c.SigningKeys)
}

// snapshot is everything a store holds, in a comparable form.
type snapshot struct {
	accounts   []tokenserver.Account
	users      []tokenserver.User
	registries map[string][]registries.Entry
	keys       []tokenserver.KeyRecord // newest first
}

func read(ctx context.Context, s tokenserver.Store) (snapshot, error) {
	var snap snapshot
	var err error
	if snap.accounts, err = s.ListAccounts(ctx); err != nil {
		return snap, fmt.Errorf("accounts: %w", err)
	}
	for _, a := range snap.accounts {
		us, err := s.ListUsers(ctx, a.Name)
		if err != nil {
			return snap, fmt.Errorf("users of %s: %w", a.Name, err)
		}
		snap.users = append(snap.users, us...)
	}
	names := make([]string, 0, len(snap.accounts))
	for _, a := range snap.accounts {
		names = append(names, a.Name)
	}
	if rl, ok := s.(RegistryLister); ok {
		more, err := rl.RegistryAccounts(ctx)
		if err != nil {
			return snap, fmt.Errorf("registry accounts: %w", err)
		}
		names = append(names, more...)
	}
	slices.Sort(names)
	snap.registries = map[string][]registries.Entry{}
	for _, n := range slices.Compact(names) {
		es, err := s.ListRegistries(ctx, n)
		if err != nil {
			return snap, fmt.Errorf("registries of %s: %w", n, err)
		}
		if len(es) > 0 {
			snap.registries[n] = es
		}
	}
	snap.keys, err = s.SigningKeys(ctx)
	return snap, err
}

// Copy copies from into to, which must be empty, and verifies the copy.
func Copy(ctx context.Context, from, to tokenserver.Store) (Counts, error) {
	var c Counts
	dst, err := read(ctx, to)
	if err != nil {
		return c, fmt.Errorf("read the destination: %w", err)
	}
	if len(dst.accounts) > 0 || len(dst.registries) > 0 || len(dst.keys) > 0 {
		return c, ErrNotEmpty
	}
	src, err := read(ctx, from)
	if err != nil {
		return c, fmt.Errorf("read the source: %w", err)
	}
	for _, a := range src.accounts {
		if err := to.CreateAccount(ctx, a); err != nil {
			return c, fmt.Errorf("account %s: %w", a.Name, err)
		}
		c.Accounts++
	}
	for _, u := range src.users {
		if err := to.CreateUser(ctx, u); err != nil {
			return c, fmt.Errorf("user %s: %w", u.Username, err)
		}
		c.Users++
	}
	for account, es := range src.registries {
		for _, e := range es {
			if err := to.ChangeRegistry(ctx, account, e.Registry, func(*registries.Entry) (*registries.Entry, error) { return &e, nil }); err != nil {
				return c, fmt.Errorf("registry %s of %s: %w", e.Registry, account, err)
			}
			c.Registries++
		}
	}
	if err := copyKeys(ctx, src.keys, to); err != nil {
		return c, fmt.Errorf("signing keys: %w", err)
	}
	c.SigningKeys = len(src.keys)
	return c, Verify(ctx, from, to)
}

// copyKeys stores keys (newest first) through the seam's two writers: the
// oldest by EnsureSigningKey, each next by RotateSigningKey at the zero
// time, which removes nothing and, since every key but the newest already
// has its VerifyUntil, changes none of them.
func copyKeys(ctx context.Context, keys []tokenserver.KeyRecord, to tokenserver.Store) error {
	if len(keys) == 0 {
		return nil
	}
	for _, k := range keys[1:] {
		if k.VerifyUntil.IsZero() {
			return fmt.Errorf("key %s: an older key that still signs; rotate the source first", k.KID)
		}
	}
	oldest := keys[len(keys)-1]
	if _, err := to.EnsureSigningKey(ctx, func() (tokenserver.KeyRecord, error) { return oldest, nil }); err != nil {
		return err
	}
	for i := len(keys) - 2; i >= 0; i-- {
		if err := to.RotateSigningKey(ctx, keys[i], time.Time{}, 0); err != nil {
			return err
		}
	}
	return nil
}

// Verify reads both stores and compares every record, secrets included.
// Times compare at microseconds: PostgreSQL keeps no finer.
func Verify(ctx context.Context, a, b tokenserver.Store) error {
	x, err := read(ctx, a)
	if err != nil {
		return fmt.Errorf("verify: read the source: %w", err)
	}
	y, err := read(ctx, b)
	if err != nil {
		return fmt.Errorf("verify: read the copy: %w", err)
	}
	normalize(&x)
	normalize(&y)
	switch {
	case !reflect.DeepEqual(x.accounts, y.accounts):
		return fmt.Errorf("%w: accounts", ErrMismatch)
	case !reflect.DeepEqual(x.users, y.users):
		return fmt.Errorf("%w: users", ErrMismatch)
	case !reflect.DeepEqual(x.registries, y.registries):
		return fmt.Errorf("%w: registry entries", ErrMismatch)
	case !reflect.DeepEqual(x.keys, y.keys):
		return fmt.Errorf("%w: signing keys", ErrMismatch)
	}
	return nil
}

func normalize(s *snapshot) {
	t := func(v *time.Time) { *v = v.Truncate(time.Microsecond).UTC() }
	for i := range s.accounts {
		t(&s.accounts[i].CreatedAt)
		t(&s.accounts[i].LastUpdated)
	}
	for i := range s.users {
		t(&s.users[i].CreatedAt)
		t(&s.users[i].LastUpdated)
	}
	for i := range s.keys {
		t(&s.keys[i].CreatedAt)
		t(&s.keys[i].VerifyUntil)
	}
	for _, es := range s.registries {
		for i := range es {
			t(&es[i].CreatedAt)
			t(&es[i].LastUpdated)
		}
	}
}
