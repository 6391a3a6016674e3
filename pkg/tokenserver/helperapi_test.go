package tokenserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/backendtest"
	"github.com/anchored/anchored/pkg/helper/daemonclient"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/passhash"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/vault"
)

const testPassphrase = "test passphrase"

// serveSocket serves srv on a Unix socket as the daemon does: every
// connection marked as a socket peer (the daemon checks SO_PEERCRED there).
func serveSocket(t *testing.T, srv http.Handler) string {
	t.Helper()
	// Short path: sun_path holds 108 bytes and t.TempDir() can be long.
	dir, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: leaks.Handler(srv), ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
		return WithConnInfo(ctx, ConnInfo{Transport: TransportUnix, PeerUID: 0, PeerGID: 0})
	}}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return socket
}

// daemonOver starts a server over the vault at path and returns a client
// of its socket.
func daemonOver(t *testing.T, path string, opts RegistryOptions) *daemonclient.Client {
	t.Helper()
	v, err := vault.Open(context.Background(), path, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), Config{
		Registries: opts, Logger: slog.New(slog.DiscardHandler),
		Hasher: passhash.New(passhash.WithLogN(4)),
	}, NewVaultStore(v))
	if err != nil {
		t.Fatal(err)
	}
	return &daemonclient.Client{Socket: serveSocket(t, srv)}
}

func vaultBackendOver(path string, res func(v *vault.Vault) *ecr.Resolver) *registries.VaultBackend {
	return &registries.VaultBackend{
		Path: path, Account: "admin",
		Passphrase:    func() (string, error) { return testPassphrase, nil },
		Resolver:      res,
		CreateOptions: []vault.Option{vault.WithWorkFactor(10)},
	}
}

func emptyVault(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "vault")
	if _, err := vault.Create(context.Background(), path, testPassphrase, nil, vault.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	return path
}

// The helper's one behaviour body, against both backends.
func TestBackendBehaviour(t *testing.T) {
	t.Run("vault", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) helper.Backend {
			return vaultBackendOver(emptyVault(t), nil)
		})
	})
	t.Run("daemon", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) helper.Backend {
			return daemonOver(t, emptyVault(t), RegistryOptions{})
		})
	})
}

// Both backends over one vault give the same answers, errors included.
func TestBackendsAgree(t *testing.T) {
	ctx := context.Background()
	path := emptyVault(t)
	direct := vaultBackendOver(path, func(v *vault.Vault) *ecr.Resolver {
		return &ecr.Resolver{AWS: awsecr.Client{}, Cache: ecr.NewVaultCache(v)}
	})
	for _, c := range []helper.Credentials{
		{ServerURL: "https://index.docker.io/v1/", Username: "hub", Secret: "hub-secret"},
		{ServerURL: "reg.example.com:5000", Username: "u", Secret: "reg-secret"},
	} {
		if err := direct.Store(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// An awsauto ECR entry, refused the same way by both (allow_awsecr_iam_auto off).
	v, err := vault.Open(ctx, path, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	err = v.Update(ctx, func(d *vault.Document) error {
		d.AccountRegistries("admin")["123456789012.dkr.ecr.us-east-1.amazonaws.com"] = &vault.Registry{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Type: registries.TypeAWSECR, User: "awsauto", Pass: "awsauto", Verify: true}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	daemon := daemonOver(t, path, RegistryOptions{Resolver: &ecr.Resolver{AWS: awsecr.Client{}}})
	answer := func(b helper.Backend, url string) string {
		c, err := b.Get(ctx, url)
		if err != nil {
			return fmt.Sprintf("error notfound=%v: %v", errors.Is(err, helper.ErrNotFound), err)
		}
		return fmt.Sprintf("%+v", c)
	}
	for _, url := range []string{
		"docker.io", "https://index.docker.io/v1/", "reg.example.com:5000/team/app", "reg.example.com",
		"https://index.docker.io/v1/access-token", "ftp://x", "",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com",
	} {
		got, want := answer(daemon, url), answer(direct, url)
		if got != want {
			t.Errorf("Get(%q): daemon %q, vault %q", url, got, want)
		}
	}
	dl, err1 := daemon.List(ctx)
	vl, err2 := direct.List(ctx)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(dl, vl) {
		t.Errorf("List: daemon %v %v, vault %v %v", dl, err1, vl, err2)
	}
}

// The helper endpoints answer on the socket only, and need no password
// there.
func TestHelperEndpointsSocketOnly(t *testing.T) {
	e := newEnv(t, Config{})
	for _, p := range []string{"/v1/credential-helper/get", "/v1/credential-helper/list", "/v1/credential-helper/store", "/v1/credential-helper/erase"} {
		wantStatus(t, "TCP "+p, e.do("POST", p, "admin:foobar", `{}`), http.StatusNotFound)
	}
	c := &daemonclient.Client{Socket: serveSocket(t, e.srv)}
	if _, err := c.List(context.Background()); err != nil {
		t.Errorf("List over the socket without a password: %v", err)
	}
}

// 20 concurrent gets of a cold ECR registry through the daemon make one
// AWS call: the resolver's single flight, tokens in the daemon's memory.
func TestConcurrentECRGetsOneCall(t *testing.T) {
	ctx := context.Background()
	fake := awsfake.Start(t)
	fake.Setenv(t)
	path := emptyVault(t)
	v, err := vault.Open(ctx, path, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	const host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	err = v.Update(ctx, func(d *vault.Document) error {
		d.AccountRegistries("admin")[host] = &vault.Registry{Registry: host, Type: registries.TypeAWSECR, User: "AKIAEXAMPLEKEY", Pass: "aws-secret-key", Verify: true}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := daemonOver(t, path, RegistryOptions{Resolver: &ecr.Resolver{AWS: awsecr.Client{}}})
	var wg sync.WaitGroup
	answers := make([]helper.Credentials, 20)
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = c.Get(ctx, host)
		}()
	}
	wg.Wait()
	for i := range 20 {
		if errs[i] != nil || answers[i].Username != "AWS" || answers[i].Secret == "" || answers[i].Secret != answers[0].Secret {
			t.Fatalf("get %d = %+v, %v; want user AWS and the one token", i, answers[i], errs[i])
		}
	}
	if got := len(fake.ECRCalls()); got != 1 {
		t.Errorf("ECR calls = %d, want exactly 1", got)
	}
}

// TestOversizedStoreIsAnswered: a store over the body limit gets the
// daemon's 413, which it sends before reading the rest and then closes:
// the helper's client still reads that answer (its write may fail on the
// closed connection), and it is an answer, not a daemon that did not
// answer.
func TestOversizedStoreIsAnswered(t *testing.T) {
	c := daemonOver(t, emptyVault(t), RegistryOptions{})
	for _, size := range []int{apitype.HelperMaxBody + 1, 4 << 20} {
		err := c.Store(context.Background(), helper.Credentials{ServerURL: "reg.example", Username: "u", Secret: strings.Repeat("s", size)})
		var se *daemonclient.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusRequestEntityTooLarge || errors.Is(err, daemonclient.ErrNotRunning) {
			t.Errorf("store of a %d-byte secret: %v; want the daemon's 413", size, err)
		}
	}
}

// TestHelperAnswersHaveLength: every helper endpoint's JSON answer carries
// a Content-Length, which the helper's client reads the body by.
func TestHelperAnswersHaveLength(t *testing.T) {
	path := emptyVault(t)
	c := daemonOver(t, path, RegistryOptions{})
	// Enough entries that the list is over net/http's 2 KiB buffer, past
	// which it would chunk an answer without a length to HTTP/1.1.
	for i := range 30 {
		host := fmt.Sprintf("reg%02d.%s.example", i, strings.Repeat("x", 60))
		if err := c.Store(context.Background(), helper.Credentials{ServerURL: host, Username: "u", Secret: "store-secret"}); err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{Transport: leaks.Transport(&http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.Socket)
	}})}
	for _, tc := range []struct{ action, body string }{{"get", "reg00." + strings.Repeat("x", 60) + ".example"}, {"list", ""}, {"get", "absent.example"}} {
		res, err := client.Post("http://anchored/v1/credential-helper/"+tc.action, "text/plain", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.ContentLength <= 0 || res.Header.Get("Transfer-Encoding") != "" {
			t.Errorf("%s %q: status %d, Content-Length %d, Transfer-Encoding %q; want a length", tc.action, tc.body, res.StatusCode, res.ContentLength, res.Header.Get("Transfer-Encoding"))
		}
	}
}

// The helper's client asks the health endpoint ("vault status" uses it):
// anchored answers its HTTP/1.0 GET on the socket.
func TestDaemonClientHealth(t *testing.T) {
	c := daemonOver(t, emptyVault(t), RegistryOptions{})
	if code, err := c.Health(context.Background()); err != nil || code != http.StatusOK {
		t.Errorf("Health = %d, %v; want 200", code, err)
	}
}
