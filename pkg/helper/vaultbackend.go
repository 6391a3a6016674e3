package helper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

// VaultBackend is the in-process Backend (direct mode): each call opens the
// vault file itself, which costs one scrypt. It keeps no state between
// calls, so one process per Docker request is what it is built for.
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
}

var _ Backend = (*VaultBackend)(nil)

func (b *VaultBackend) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

// open opens the vault; every failure is ErrUnavailable.
func (b *VaultBackend) open(ctx context.Context) (*vault.Vault, string, error) {
	p, err := b.Passphrase()
	if err != nil {
		return nil, "", Unavailable(err)
	}
	v, err := vault.Open(ctx, b.Path, p)
	if err != nil {
		return nil, p, Unavailable(err)
	}
	return v, p, nil
}

// Get implements Backend.
func (b *VaultBackend) Get(ctx context.Context, serverURL string) (Credentials, error) {
	k, err := Normalize(serverURL)
	if err != nil {
		return Credentials{}, err
	}
	v, _, err := b.open(ctx)
	if err != nil {
		return Credentials{}, err
	}
	return Resolve(ctx, v.Document(), b.Account, k, serverURL, func() *ecr.Resolver {
		if b.Resolver == nil {
			return nil
		}
		return b.Resolver(v)
	})
}

// Resolve finds the entry for k in account's entries of d and turns it into
// the credentials to send: stored user and secret, or for awsecr an ECR
// token from the resolver. Shared by both backends' server sides.
func Resolve(ctx context.Context, d *vault.Document, account string, k Key, serverURL string, resolver func() *ecr.Resolver) (Credentials, error) {
	r, ok := Lookup(d.Registries[account], k)
	if !ok {
		return Credentials{}, fmt.Errorf("%w: %q", ErrNotFound, k.Key)
	}
	if r.Type != TypeAWSECR {
		return Credentials{ServerURL: serverURL, Username: r.User, Secret: r.Pass}, nil
	}
	res := resolver()
	if res == nil {
		return Credentials{}, fmt.Errorf("ecr entry %q: no ECR resolver configured", r.Registry)
	}
	// The token is for the host asked. The entry matched k by the lookup
	// rule, so its host part is k's host unless it is a wildcard ("*" or
	// "123456789012.dkr.ecr.eu-west-1.amazonaws.com*"), when k's host is the
	// one to ask for. Deciding this needs no ecr-login: a cached token is
	// served without asking whether the host is ECR (a host that is not
	// fails at fetch time with ecr.ErrNotECR, and is never cached).
	tok, err := res.Token(ctx, account, k.Host, ecr.Credentials{User: r.User, Pass: r.Pass})
	if err != nil {
		return Credentials{}, fmt.Errorf("ecr entry %q: %w", r.Registry, err)
	}
	return Credentials{ServerURL: serverURL, Username: tok.Username, Secret: tok.Password}, nil
}

// errUnchanged makes vault.Update write nothing.
var errUnchanged = errors.New("unchanged")

// Store implements Backend: the entry gets type docker_v2; an identity
// token (Username "<token>") is kept as it is. The vault is created when
// none exists and a passphrase is available.
func (b *VaultBackend) Store(ctx context.Context, c Credentials) error {
	k, err := Normalize(c.ServerURL)
	if err != nil {
		return err
	}
	p, err := b.Passphrase()
	if err != nil {
		return Unavailable(err)
	}
	now := b.now()
	put := func(d *vault.Document) error { return storeEntry(d, b.Account, k, c, now) }
	v, err := vault.Open(ctx, b.Path, p)
	if errors.Is(err, vault.ErrMissing) {
		doc := vault.NewDocument()
		if err := put(doc); err != nil {
			return err
		}
		_, err = vault.Create(ctx, b.Path, p, doc, b.CreateOptions...)
		if !errors.Is(err, vault.ErrExists) {
			if err != nil {
				return Unavailable(err)
			}
			return nil
		}
		// Another process created it first: add to theirs.
		v, err = vault.Open(ctx, b.Path, p)
	}
	if err != nil {
		return Unavailable(err)
	}
	err = v.Update(ctx, put)
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// storeEntry puts c under k, keeping the entry's creation time. Storing
// what is already there writes nothing (errUnchanged), so concurrent
// identical stores (docker login twice) all succeed cheaply.
func storeEntry(d *vault.Document, account string, k Key, c Credentials, now time.Time) error {
	regs := d.AccountRegistries(account)
	old, ok := regs[k.Key]
	if ok && old.Type == TypeDockerV2 && old.User == c.Username && old.Pass == c.Secret && old.ServerURL == c.ServerURL {
		return errUnchanged
	}
	r := &vault.Registry{
		Registry: k.Key, Name: k.Key, Type: TypeDockerV2, User: c.Username, Pass: c.Secret,
		Verify: true, ServerURL: c.ServerURL, CreatedAt: now.UTC(), LastUpdated: now.UTC(),
	}
	if ok {
		r.CreatedAt, r.Name, r.Verify, r.Extra = old.CreatedAt, old.Name, old.Verify, old.Extra
	}
	regs[k.Key] = r
	return nil
}

// Erase implements Backend: exactly the normalised key, never an entry the
// lookup rule would find. Erasing what is not there (or from a vault that
// does not exist) succeeds and writes nothing.
func (b *VaultBackend) Erase(ctx context.Context, serverURL string) error {
	k, err := Normalize(serverURL)
	if err != nil {
		return err
	}
	v, _, err := b.open(ctx)
	if errors.Is(err, vault.ErrMissing) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := v.Document().Registries[b.Account][k.Key]; !ok {
		return nil
	}
	err = v.Update(ctx, func(d *vault.Document) error {
		if _, ok := d.Registries[b.Account][k.Key]; !ok {
			return errUnchanged
		}
		delete(d.Registries[b.Account], k.Key)
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// List implements Backend.
func (b *VaultBackend) List(ctx context.Context) (map[string]string, error) {
	v, _, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	return ListCredentials(v.Document(), b.Account), nil
}

// ListCredentials maps each of account's entries to its username, keyed by
// the server URL as a client stored it (the registry key for entries made
// by "registry add"). Never a secret.
func ListCredentials(d *vault.Document, account string) map[string]string {
	out := map[string]string{}
	for _, r := range d.Registries[account] {
		u := r.ServerURL
		if u == "" {
			u = r.Registry
		}
		out[u] = r.User
	}
	return out
}
