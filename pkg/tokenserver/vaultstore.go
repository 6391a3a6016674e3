package tokenserver

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/vault"
)

// VaultStore is the Store kept in the vault file. Reads refresh from the
// file first (a stat, and a re-read only if it changed), so changes made by
// docker-credential-anchore or another daemon are seen; writes are the
// vault's read-modify-write under its lock.
type VaultStore struct {
	v      *vault.Vault
	byUUID atomic.Pointer[uuidIndex]
	keys   keysWatch // vaultkeys.go
	// onReload, if set, hears every re-read of the file that another
	// process changed (true) and every refresh that failed (false): the
	// daemon's vault reload metric.
	onReload func(ok bool)
	// The registry entries: pkg/registries' vault store, reading through
	// doc so that a request refreshes once.
	*registries.VaultStore
}

// NewVaultStore returns a Store over an open vault.
func NewVaultStore(v *vault.Vault) *VaultStore {
	s := &VaultStore{v: v}
	s.VaultStore = &registries.VaultStore{V: v, Doc: s.doc}
	return s
}

var _ Store = (*VaultStore)(nil)

// OnReload sets fn to hear each reload of the vault file after another
// process changed it (ok) and each refresh that failed (not ok: the file
// went missing, or its new contents do not open). Call it before the store
// is used.
func (s *VaultStore) OnReload(fn func(ok bool)) { s.onReload = fn }

func (s *VaultStore) doc(ctx context.Context) (*vault.Document, error) {
	// One stat per request is enough to see other processes' writes; a
	// request reads the store several times (user, account, record), and
	// the stat was half of a warm request's cost (this daemon's own writes
	// replace the document in memory and are seen at once).
	f, _ := ctx.Value(freshKey{}).(*atomic.Bool)
	if f != nil && f.Load() {
		return s.v.Document(), nil
	}
	changed, err := s.v.Refresh(ctx)
	if s.onReload != nil && (changed || err != nil) {
		s.onReload(err == nil)
	}
	if err != nil {
		return nil, fmt.Errorf("refresh vault: %w", err)
	}
	if f != nil {
		f.Store(true)
	}
	d := s.v.Document()
	s.keys.saw(d)
	return d, nil
}

type freshKey struct{}

// withFreshness marks ctx as one request's: the store's reads within it
// refresh from the file once. The gate calls it.
func withFreshness(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, new(atomic.Bool))
}

func accountFromVault(a *vault.Account) Account {
	return Account{Name: a.Name, Email: a.Email, Type: a.Type, State: a.State, CreatedAt: a.CreatedAt, LastUpdated: a.LastUpdated}
}

// toVault copies a's fields onto dst, keeping dst's unknown fields.
func (a Account) toVault(dst *vault.Account) {
	dst.Name, dst.Email, dst.Type, dst.State, dst.CreatedAt, dst.LastUpdated = a.Name, a.Email, a.Type, a.State, a.CreatedAt, a.LastUpdated
}

func userFromVault(u *vault.User) User {
	return User{Username: u.Username, Account: u.Account, UUID: u.UUID, Type: u.Type, Source: u.Source,
		Password: u.Password, PasswordHash: u.PasswordHash, Generation: u.Generation,
		CreatedAt: u.CreatedAt, LastUpdated: u.LastUpdated}
}

func (u User) toVault(dst *vault.User) {
	dst.Username, dst.Account, dst.UUID, dst.Type, dst.Source = u.Username, u.Account, u.UUID, u.Type, u.Source
	dst.Password, dst.PasswordHash, dst.Generation = u.Password, u.PasswordHash, u.Generation
	dst.CreatedAt, dst.LastUpdated = u.CreatedAt, u.LastUpdated
}

// GetAccount implements Store.
func (s *VaultStore) GetAccount(ctx context.Context, name string) (Account, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return Account{}, err
	}
	a, ok := d.Accounts[name]
	if !ok {
		return Account{}, ErrNotFound
	}
	return accountFromVault(a), nil
}

// ListAccounts implements Store; the list is sorted by name.
func (s *VaultStore) ListAccounts(ctx context.Context) ([]Account, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(d.Accounts))
	for _, a := range d.Accounts {
		out = append(out, accountFromVault(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateAccount implements Store.
func (s *VaultStore) CreateAccount(ctx context.Context, a Account) error {
	return s.v.Update(ctx, func(d *vault.Document) error {
		if _, ok := d.Accounts[a.Name]; ok {
			return ErrAlreadyExists
		}
		va := &vault.Account{}
		a.toVault(va)
		d.Accounts[a.Name] = va
		return nil
	})
}

// UpdateAccount implements Store.
func (s *VaultStore) UpdateAccount(ctx context.Context, name string, fn func(Account) (Account, error)) error {
	return s.v.Update(ctx, func(d *vault.Document) error {
		va, ok := d.Accounts[name]
		if !ok {
			return ErrNotFound
		}
		a, err := fn(accountFromVault(va))
		if err != nil {
			return err
		}
		a.Name = name // the key never changes
		a.toVault(va)
		return nil
	})
}

// DeleteAccount implements Store: the account, its users and its registry
// entries go in one write.
func (s *VaultStore) DeleteAccount(ctx context.Context, name string) error {
	return s.v.Update(ctx, func(d *vault.Document) error {
		if _, ok := d.Accounts[name]; !ok {
			return ErrNotFound
		}
		delete(d.Accounts, name)
		for k, u := range d.Users {
			if u.Account == name {
				delete(d.Users, k)
			}
		}
		delete(d.Registries, name)
		return nil
	})
}

// GetUser implements Store.
func (s *VaultStore) GetUser(ctx context.Context, username string) (User, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return User{}, err
	}
	u, ok := d.Users[username]
	if !ok {
		return User{}, ErrNotFound
	}
	return userFromVault(u), nil
}

// GetUserByUUID implements Store. A scan: the vault holds few users.
func (s *VaultStore) GetUserByUUID(ctx context.Context, id string) (User, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return User{}, err
	}
	if u := s.userByUUID(d, id); u != nil && id != "" {
		return userFromVault(u), nil
	}
	return User{}, ErrNotFound
}

// uuidIndex maps uuids to users of one document. Every Bearer request
// looks its user up by uuid; a scan of every user was most of its cost
// with a few hundred users. Documents are never changed once published
// (Update works on a copy), so an index stays right for its document.
type uuidIndex struct {
	doc    *vault.Document
	byUUID map[string]*vault.User
}

func (s *VaultStore) userByUUID(d *vault.Document, id string) *vault.User {
	ix := s.byUUID.Load()
	if ix == nil || ix.doc != d {
		ix = &uuidIndex{doc: d, byUUID: make(map[string]*vault.User, len(d.Users))}
		for _, u := range d.Users {
			if u.UUID != "" {
				ix.byUUID[u.UUID] = u
			}
		}
		s.byUUID.Store(ix)
	}
	return ix.byUUID[id]
}

// ListUsers implements Store; sorted by user name. An unknown account is
// ErrNotFound.
func (s *VaultStore) ListUsers(ctx context.Context, account string) ([]User, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := d.Accounts[account]; !ok {
		return nil, ErrNotFound
	}
	out := []User{}
	for _, u := range d.Users {
		if u.Account == account {
			out = append(out, userFromVault(u))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, nil
}

// CreateUser implements Store.
func (s *VaultStore) CreateUser(ctx context.Context, u User) error {
	return s.v.Update(ctx, func(d *vault.Document) error {
		if _, ok := d.Accounts[u.Account]; !ok {
			return ErrNotFound
		}
		if _, ok := d.Users[u.Username]; ok {
			return ErrAlreadyExists
		}
		vu := &vault.User{}
		u.toVault(vu)
		d.Users[u.Username] = vu
		return nil
	})
}

// UpdateUser implements Store.
func (s *VaultStore) UpdateUser(ctx context.Context, username string, fn func(User) (User, error)) error {
	return s.v.Update(ctx, func(d *vault.Document) error {
		vu, ok := d.Users[username]
		if !ok {
			return ErrNotFound
		}
		u, err := fn(userFromVault(vu))
		if err != nil {
			return err
		}
		u.Username, u.Account, u.UUID = vu.Username, vu.Account, vu.UUID // keys never change
		u.toVault(vu)
		return nil
	})
}

// DeleteUser implements Store.
func (s *VaultStore) DeleteUser(ctx context.Context, username string) error {
	return s.v.Update(ctx, func(d *vault.Document) error {
		if _, ok := d.Users[username]; !ok {
			return ErrNotFound
		}
		delete(d.Users, username)
		return nil
	})
}

// errKeep aborts an update that found nothing to do.
var errKeep = fmt.Errorf("nothing to change")
