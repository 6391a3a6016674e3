package registries

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

// VaultBackend is the in-process helper.Backend (direct mode): it opens
// the vault file itself, which costs one scrypt, and runs Service over it,
// as anchored's helper endpoints run Service over the vault it holds open.
// It is built for one process per request; a caller that asks more than
// once (the kubelet provider: list, then get) reuses the vault the first
// call opened, re-read only if the file changed (vault.Refresh, as the
// daemon does), so it pays one scrypt, not one per call.
//
// Use a VaultBackend by pointer and do not copy it after first use.
type VaultBackend struct {
	// Path is the vault file.
	Path string
	// Account is whose entries are served (config helper_account).
	Account string
	// Passphrase finds the vault passphrase; it is asked only once a
	// request is known to be well formed, so bad input costs no scrypt.
	Passphrase func() (string, error)
	// Resolver returns the ECR resolver for awsecr entries, given the open
	// vault (its token cache lives there in direct mode). nil: awsecr
	// entries cannot be served.
	Resolver func(v *vault.Vault) *ecr.Resolver
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
	// CreateOptions are used when Store creates a missing vault (tests set
	// a low work factor).
	CreateOptions []vault.Option

	mu     sync.Mutex
	opened *vault.Vault // the vault open opened, for the calls after it
}

var _ helper.Backend = (*VaultBackend)(nil)

// service is the workflow over an open vault.
func (b *VaultBackend) service(v *vault.Vault) *Service {
	s := &Service{Store: &VaultStore{V: v}, Now: b.Now}
	if b.Resolver != nil {
		s.Resolver = b.Resolver(v)
	}
	return s
}

// open opens the vault, or refreshes the one an earlier call opened;
// every failure is helper.ErrUnavailable.
func (b *VaultBackend) open(ctx context.Context) (*vault.Vault, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.opened != nil {
		if _, err := b.opened.Refresh(ctx); err != nil {
			return nil, helper.Unavailable(err)
		}
		return b.opened, nil
	}
	p, err := b.Passphrase()
	if err != nil {
		return nil, helper.Unavailable(err)
	}
	v, err := vault.Open(ctx, b.Path, p)
	if err != nil {
		return nil, helper.Unavailable(err)
	}
	b.opened = v
	return v, nil
}

// Get implements helper.Backend.
func (b *VaultBackend) Get(ctx context.Context, serverURL string) (helper.Credentials, error) {
	if _, err := helper.Normalize(serverURL); err != nil {
		return helper.Credentials{}, err
	}
	v, err := b.open(ctx)
	if err != nil {
		return helper.Credentials{}, err
	}
	return b.service(v).Resolve(ctx, b.Account, serverURL)
}

// Store implements helper.Backend. The vault is created (empty) when none
// exists and a passphrase is available; the store then runs on it.
func (b *VaultBackend) Store(ctx context.Context, c helper.Credentials) error {
	if _, err := helper.Normalize(c.ServerURL); err != nil {
		return err
	}
	p, err := b.Passphrase()
	if err != nil {
		return helper.Unavailable(err)
	}
	v, err := vault.Open(ctx, b.Path, p)
	if errors.Is(err, vault.ErrMissing) {
		v, err = vault.Create(ctx, b.Path, p, vault.NewDocument(), b.CreateOptions...)
		if errors.Is(err, vault.ErrExists) {
			// Another process created it first: add to theirs.
			v, err = vault.Open(ctx, b.Path, p)
		}
	}
	if err != nil {
		return helper.Unavailable(err)
	}
	return b.service(v).StoreCredentials(ctx, b.Account, c)
}

// Erase implements helper.Backend. Erasing from a vault that does not
// exist succeeds.
func (b *VaultBackend) Erase(ctx context.Context, serverURL string) error {
	if _, err := helper.Normalize(serverURL); err != nil {
		return err
	}
	v, err := b.open(ctx)
	if errors.Is(err, vault.ErrMissing) {
		return nil
	}
	if err != nil {
		return err
	}
	return b.service(v).EraseCredentials(ctx, b.Account, serverURL)
}

// List implements helper.Backend.
func (b *VaultBackend) List(ctx context.Context) (map[string]string, error) {
	v, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	return b.service(v).ListCredentials(ctx, b.Account)
}
