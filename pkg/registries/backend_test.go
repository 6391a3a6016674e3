package registries

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

const testPass = "correct horse"

// newBackend returns a backend over a vault at work factor 10 (the race
// detector makes scrypt about 7x slower) in a fresh directory; create
// false leaves the vault missing.
func newBackend(t *testing.T, create bool) *VaultBackend {
	t.Helper()
	path := filepath.Join(t.TempDir(), "anchore", "vault")
	if create {
		if _, err := vault.Create(context.Background(), path, testPass, nil, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
			t.Fatal(err)
		}
	}
	return &VaultBackend{
		Path:          path,
		Account:       "admin",
		Passphrase:    func() (string, error) { return testPass, nil },
		Now:           func() time.Time { return t0 },
		CreateOptions: []vault.Option{vault.WithWorkFactor(vault.MinWorkFactor)},
	}
}

func TestVaultBackendRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, true)
	for _, c := range []helper.Credentials{
		{ServerURL: "https://index.docker.io/v1/", Username: "hubuser", Secret: "hubpass"},
		{ServerURL: "https://index.docker.io/v1/access-token", Username: "hubuser", Secret: "access"},
		{ServerURL: "registry.example.com:5000", Username: "<token>", Secret: "identity-token"},
	} {
		if err := b.Store(ctx, c); err != nil {
			t.Fatalf("store %s: %v", c.ServerURL, err)
		}
	}
	for _, tc := range []struct{ url, user, secret string }{
		{"docker.io", "hubuser", "hubpass"},
		{"index.docker.io/library/busybox", "hubuser", "hubpass"},
		{"https://index.docker.io/v1/access-token", "hubuser", "access"},
		{"registry.example.com:5000/ns/app", "<token>", "identity-token"},
	} {
		c, err := b.Get(ctx, tc.url)
		if err != nil || c.Username != tc.user || c.Secret != tc.secret || c.ServerURL != tc.url {
			t.Errorf("Get(%q) = %+v, %v; want %s/%s", tc.url, c, err, tc.user, tc.secret)
		}
	}
	got, err := b.List(ctx)
	want := map[string]string{
		"https://index.docker.io/v1/":             "hubuser",
		"https://index.docker.io/v1/access-token": "hubuser",
		"registry.example.com:5000":               "<token>",
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v, %v; want %v", got, err, want)
	}
	// Erase takes exactly the key: a repository URL never erases its
	// host's entry.
	if err := b.Erase(ctx, "registry.example.com:5000/ns/app"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "registry.example.com:5000"); err != nil {
		t.Errorf("host entry gone after erasing a repository key: %v", err)
	}
	if err := b.Erase(ctx, "https://registry.example.com:5000/v2/"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "registry.example.com:5000"); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("after erase: %v, want ErrNotFound", err)
	}
}

// Erasing or storing what changes nothing writes nothing.
func TestVaultBackendNoWrite(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, true)
	c := helper.Credentials{ServerURL: "registry.example.com", Username: "u", Secret: "p"}
	if err := b.Store(ctx, c); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Store(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := b.Erase(ctx, "other.example.com"); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Errorf("vault rewritten by a no-op store or erase")
	}
}

func TestVaultBackendCreatesOnStore(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, false)
	if _, err := b.Get(ctx, "registry.example.com"); !errors.Is(err, helper.ErrUnavailable) || !errors.Is(err, vault.ErrMissing) {
		t.Errorf("get from a missing vault: %v, want ErrUnavailable and vault.ErrMissing", err)
	}
	if err := b.Erase(ctx, "registry.example.com"); err != nil {
		t.Errorf("erase from a missing vault: %v", err)
	}
	if err := b.Store(ctx, helper.Credentials{ServerURL: "registry.example.com", Username: "u", Secret: "p"}); err != nil {
		t.Fatal(err)
	}
	if hi, err := vault.Inspect(b.Path); err != nil || hi.WorkFactor != vault.MinWorkFactor {
		t.Errorf("created vault: %+v, %v", hi, err)
	}
	if c, err := b.Get(ctx, "registry.example.com"); err != nil || c.Secret != "p" {
		t.Errorf("get after creating store: %+v, %v", c, err)
	}
}

func TestVaultBackendLocked(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, true)
	locked := errors.New("vault is locked: no passphrase")
	b.Passphrase = func() (string, error) { return "", locked }
	_, err := b.Get(ctx, "registry.example.com")
	if !errors.Is(err, helper.ErrUnavailable) || !errors.Is(err, locked) || err.Error() != locked.Error() {
		t.Errorf("get: %v, want ErrUnavailable with the cause's text", err)
	}
	if err := b.Store(ctx, helper.Credentials{ServerURL: "x", Username: "u"}); !errors.Is(err, helper.ErrUnavailable) {
		t.Errorf("store: %v, want ErrUnavailable", err)
	}
	b.Passphrase = func() (string, error) { return "wrong", nil }
	if _, err := b.Get(ctx, "registry.example.com"); !errors.Is(err, helper.ErrUnavailable) || !errors.Is(err, vault.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	// Bad input is refused before the passphrase is even looked for.
	if _, err := b.Get(ctx, "ftp://registry.example.com"); !errors.Is(err, helper.ErrUnsupportedScheme) {
		t.Errorf("unsupported scheme: %v", err)
	}
}

// awsecr entries resolve through the ECR resolver: here one whose cache
// already holds a fresh token, so no AWS call is made.
func TestVaultBackendECR(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, true)
	const host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	v, err := vault.Open(ctx, b.Path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Update(ctx, func(d *vault.Document) error {
		d.AccountRegistries("admin")[host] = &vault.Registry{Registry: host, Type: TypeAWSECR, User: "AKIAEXAMPLE", Pass: "secret"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	creds := ecr.Credentials{User: "AKIAEXAMPLE", Pass: "secret"}
	key, err := ecr.CacheKey("admin", host, creds)
	if err != nil {
		t.Fatal(err)
	}
	cache := ecr.NewMemoryCache()
	if err := cache.Store(ctx, key, ecr.Token{Username: "AWS", Password: "ecr-token", RequestedAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	aws := &fakeAWS{err: errNoAnchored}
	b.Resolver = func(*vault.Vault) *ecr.Resolver {
		calls++
		return &ecr.Resolver{AWS: aws, Now: func() time.Time { return t0 }, Cache: cache}
	}
	c, err := b.Get(ctx, host+"/team/app")
	if err != nil || c.Username != "AWS" || c.Secret != "ecr-token" {
		t.Errorf("Get = %+v, %v; want AWS/ecr-token", c, err)
	}
	if calls != 1 {
		t.Errorf("resolver built %d times, want 1", calls)
	}
	// A cached token is served without asking AWS anything (in the helper,
	// without starting "anchored ecr").
	if aws.parses != 0 || aws.fetches != 0 {
		t.Errorf("AWS asked %d parses and %d fetches for a cached token, want none", aws.parses, aws.fetches)
	}
}

var errNoAnchored = errors.New("anchored not found")

// fakeAWS answers every call with err and counts the calls.
type fakeAWS struct {
	err             error
	parses, fetches int
}

func (f *fakeAWS) Parse(context.Context, string) (ecr.Registry, bool, error) {
	f.parses++
	return ecr.Registry{}, false, f.err
}

func (f *fakeAWS) Fetch(context.Context, string, ecr.Credentials) (ecr.Token, error) {
	f.fetches++
	return ecr.Token{}, f.err
}

// Concurrent stores: the same entry at once all succeed (docker login
// twice, helpers#333), and different entries are all kept, including when
// the first stores race to create the vault.
func TestVaultBackendConcurrentStores(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, false)
	const n = 6
	errs := make(chan error, 2*n)
	for i := range n {
		go func() {
			errs <- b.Store(ctx, helper.Credentials{ServerURL: "same.example.com", Username: "u", Secret: "p"})
		}()
		go func() {
			errs <- b.Store(ctx, helper.Credentials{ServerURL: "r" + string(rune('a'+i)) + ".example.com", Username: "u", Secret: "p"})
		}()
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Errorf("store: %v", err)
		}
	}
	got, err := b.List(ctx)
	if err != nil || len(got) != n+1 {
		t.Errorf("List = %v, %v; want %d entries", got, err, n+1)
	}
}

// A backend asked more than once (the kubelet provider lists, then gets)
// opens the vault once, and still sees what another process wrote since.
func TestVaultBackendOpensOnce(t *testing.T) {
	ctx := context.Background()
	writer := newBackend(t, true)
	if err := writer.Store(ctx, helper.Credentials{ServerURL: "a.example.com", Username: "u", Secret: "p1"}); err != nil {
		t.Fatal(err)
	}
	asked := 0
	reader := &VaultBackend{Path: writer.Path, Account: writer.Account, Now: writer.Now,
		Passphrase: func() (string, error) { asked++; return testPass, nil }}
	if m, err := reader.List(ctx); err != nil || m["a.example.com"] != "u" {
		t.Fatalf("List = %v, %v", m, err)
	}
	if c, err := reader.Get(ctx, "a.example.com"); err != nil || c.Secret != "p1" {
		t.Fatalf("Get = %+v, %v", c, err)
	}
	if err := writer.Store(ctx, helper.Credentials{ServerURL: "a.example.com", Username: "u", Secret: "p2"}); err != nil {
		t.Fatal(err)
	}
	if c, err := reader.Get(ctx, "a.example.com"); err != nil || c.Secret != "p2" {
		t.Errorf("Get after another's store = %+v, %v; want the new secret", c, err)
	}
	if asked != 1 {
		t.Errorf("the passphrase was asked %d times over three reads, want 1 (one open, one scrypt)", asked)
	}
}
