package registries

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/anchored/anchored/pkg/vault"
)

// Entry is one registry entry as the store keeps it: the seam's own type,
// not any store's file or table format.
type Entry struct {
	Registry string // the key: host[:port][/repo...][*], normalised
	Name     string // registry_name
	Type     string // TypeDockerV2 or TypeAWSECR
	User     string
	Pass     string
	Verify   bool // verify TLS
	// ServerURL is the server URL exactly as a Docker client sent it to
	// "store"; "" for entries made with "registry add" or the API.
	ServerURL   string
	CreatedAt   time.Time
	LastUpdated time.Time
}

// ErrNoChange, returned by a ChangeRegistry function, makes the change
// write nothing; ChangeRegistry then returns nil.
var ErrNoChange = errors.New("no change")

// Store keeps registry entries per account. It is the seam a second store
// (a database shared by several daemons) plugs into; storetest.Run is the
// behaviour every implementation must pass. Implementations are safe for
// concurrent use and see other processes' writes before they answer.
// Keys are given normalised (EntryKey, helper.Normalize); the store
// compares them as they are.
type Store interface {
	// ListRegistries returns account's entries sorted by Registry; none is
	// an empty list, not an error.
	ListRegistries(ctx context.Context, account string) ([]Entry, error)
	// GetRegistry returns the entry of exactly key, or an error wrapping
	// ErrRegistryNotFound.
	GetRegistry(ctx context.Context, account, key string) (Entry, error)
	// ChangeRegistry runs fn on the entry of key (nil when there is none)
	// atomically with respect to every other change: fn returns the entry
	// to store under key (its Registry is set to key), nil to delete it, or
	// an error to abort (ErrNoChange: abort quietly; any other error is
	// returned as it is). fn may run more than once and must not keep cur.
	ChangeRegistry(ctx context.Context, account, key string, fn func(cur *Entry) (*Entry, error)) error
}

// VaultStore is the Store kept in the vault file. Reads see other
// processes' writes (Doc refreshes); writes are the vault's
// read-modify-write under its lock. Fields the vault knows and Entry does
// not (a newer version's) are kept on every write.
type VaultStore struct {
	V *vault.Vault
	// Doc returns the document to read; nil means refresh V, then its
	// document. anchored passes one that refreshes once per request.
	Doc func(ctx context.Context) (*vault.Document, error)
}

var _ Store = (*VaultStore)(nil)

func (s *VaultStore) doc(ctx context.Context) (*vault.Document, error) {
	if s.Doc != nil {
		return s.Doc(ctx)
	}
	if _, err := s.V.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("refresh vault: %w", err)
	}
	return s.V.Document(), nil
}

func fromVault(r *vault.Registry) Entry {
	return Entry{Registry: r.Registry, Name: r.Name, Type: r.Type, User: r.User, Pass: r.Pass, Verify: r.Verify,
		ServerURL: r.ServerURL, CreatedAt: r.CreatedAt, LastUpdated: r.LastUpdated}
}

// toVault copies e onto dst, keeping dst's unknown fields.
func (e Entry) toVault(dst *vault.Registry) {
	dst.Registry, dst.Name, dst.Type, dst.User, dst.Pass, dst.Verify = e.Registry, e.Name, e.Type, e.User, e.Pass, e.Verify
	dst.ServerURL, dst.CreatedAt, dst.LastUpdated = e.ServerURL, e.CreatedAt, e.LastUpdated
}

// ListRegistries implements Store.
func (s *VaultStore) ListRegistries(ctx context.Context, account string) ([]Entry, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, err
	}
	regs := d.Registries[account]
	out := make([]Entry, 0, len(regs))
	for _, r := range regs {
		out = append(out, fromVault(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Registry < out[j].Registry })
	return out, nil
}

// RegistryAccounts returns the accounts that have registry entries,
// sorted (for copying a whole store: an account's entries may exist before
// the account does).
func (s *VaultStore) RegistryAccounts(ctx context.Context) ([]string, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(d.Registries))
	for a, regs := range d.Registries {
		if len(regs) > 0 {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out, nil
}

// GetRegistry implements Store.
func (s *VaultStore) GetRegistry(ctx context.Context, account, key string) (Entry, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return Entry{}, err
	}
	r, ok := d.Registries[account][key]
	if !ok {
		return Entry{}, ErrRegistryNotFound
	}
	return fromVault(r), nil
}

// ChangeRegistry implements Store. A change that fn declines before the
// lock is taken (checked on the current document first) costs no write,
// so "docker logout" of what is not there and a refused "store" are cheap.
func (s *VaultStore) ChangeRegistry(ctx context.Context, account, key string, fn func(cur *Entry) (*Entry, error)) error {
	apply := func(d *vault.Document) error {
		var cur *Entry
		old, ok := d.Registries[account][key]
		if ok {
			e := fromVault(old)
			cur = &e
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if next == nil {
			if !ok {
				return ErrNoChange
			}
			delete(d.Registries[account], key)
			return nil
		}
		dst := &vault.Registry{}
		if ok {
			dst.Extra = old.Extra
		}
		next.Registry = key
		next.toVault(dst)
		d.AccountRegistries(account)[key] = dst
		return nil
	}
	// A dry run on the current document: most refusals and no-ops are
	// known without the lock. The document is never changed in place
	// (vault.Update works on a copy), so apply runs on a throwaway copy.
	d, err := s.doc(ctx)
	if err != nil {
		return err
	}
	if err := apply(d.Clone()); err != nil {
		if errors.Is(err, ErrNoChange) {
			return nil
		}
		return err
	}
	err = s.V.Update(ctx, apply)
	if errors.Is(err, ErrNoChange) {
		return nil
	}
	return err
}
