package tokenserver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/passhash"
	"github.com/anchored/anchored/pkg/vault"
)

// testEnv is one server over a fresh vault (work factor 10) and a
// low-cost, counting password hasher.
type testEnv struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	vault  *vault.Vault
	hasher *passhash.Counting
	now    time.Time
}

func newVault(t *testing.T) *vault.Vault {
	t.Helper()
	v, err := vault.Create(context.Background(), filepath.Join(t.TempDir(), "state", "vault"), "test passphrase", nil, vault.WithWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// onPostgres prefixes the tests TestAPIOnPostgres reruns: newEnv under it
// serves from a fresh PostgreSQL store instead of the vault.
const onPostgres = "TestAPIOnPostgres/"

// newPGStore opens a fresh PostgreSQL store, and closePG stops the test
// cluster. pgstore imports this package, so only an external test file
// (pgstore_ext_test.go) can set them, through export_test.go.
var (
	newPGStore func(t *testing.T) Store
	closePG    = func() {}
)

// newEnv starts a server; cfg's zero fields get test defaults. The admin
// password is foobar.
func newEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	return newEnvOn(t, cfg, newVault(t))
}

// newEnvOn starts a server on v: two on handles of one vault file are two
// daemons sharing it.
func newEnvOn(t *testing.T, cfg Config, v *vault.Vault) *testEnv {
	t.Helper()
	e := newEnvOnStore(t, cfg, NewVaultStore(v))
	e.vault = v
	return e
}

// newEnvOnStore starts a server on st (its vault field is nil).
func newEnvOnStore(t *testing.T, cfg Config, st Store) *testEnv {
	t.Helper()
	// Microseconds: the PostgreSQL store keeps no finer, and tests compare
	// stored times with e.now.
	e := &testEnv{t: t, now: time.Now().Truncate(time.Microsecond)}
	e.hasher = passhash.NewCounting(passhash.New(passhash.WithLogN(4)))
	cfg.Hasher = e.hasher
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return e.now }
	}
	if strings.HasPrefix(t.Name(), onPostgres) {
		st = newPGStore(t)
	}
	srv, err := New(context.Background(), cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Bootstrap(context.Background(), "foobar", ""); err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	t.Cleanup(srv.Close)
	e.ts = httptest.NewServer(leaks.Handler(srv)) // registries_test.go asserts no body leaks a password
	t.Cleanup(e.ts.Close)
	return e
}

type resp struct {
	code   int
	header http.Header
	body   string
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// do sends a request; auth is "user:pass" for Basic, "Bearer x" verbatim,
// or "".
func (e *testEnv) do(method, path, auth, body string, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if strings.Contains(auth, " ") {
		req.Header.Set("Authorization", auth)
	} else if auth != "" {
		u, p, _ := strings.Cut(auth, ":")
		req.SetBasicAuth(u, p)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

// form posts a form to the token endpoint.
func (e *testEnv) form(v url.Values) resp {
	e.t.Helper()
	res, err := e.ts.Client().PostForm(e.ts.URL+"/v1/oauth/token", v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

// token gets a bearer token for user:pass.
func (e *testEnv) token(user, pass string) string {
	e.t.Helper()
	r := e.form(url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {user}, "password": {pass}})
	if r.code != 200 {
		e.t.Fatalf("token for %s: %d %s", user, r.code, r.body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	r.json(e.t, &tr)
	return tr.AccessToken
}

// mkUser creates account (if needed) and a user in it, as admin.
func (e *testEnv) mkUser(account, user, pass string) {
	e.t.Helper()
	if r := e.do("GET", "/v1/accounts/"+account, "admin:foobar", ""); r.code == 404 {
		if r := e.do("POST", "/v1/accounts", "admin:foobar", `{"name":"`+account+`"}`); r.code != 200 {
			e.t.Fatalf("create account: %d %s", r.code, r.body)
		}
	}
	if r := e.do("POST", "/v1/accounts/"+account+"/users", "admin:foobar", `{"username":"`+user+`","password":"`+pass+`"}`); r.code != 200 {
		e.t.Fatalf("create user: %d %s", r.code, r.body)
	}
}

func wantStatus(t *testing.T, what string, r resp, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: status %d, want %d (body %q)", what, r.code, code, r.body)
	}
}

// wantAnchoreError checks Anchore's error JSON.
func wantAnchoreError(t *testing.T, what string, r resp, code int, msg string) {
	t.Helper()
	wantStatus(t, what, r, code)
	var got struct {
		Message  string `json:"message"`
		HTTPCode int    `json:"httpcode"`
		Detail   struct {
			ErrorCodes []string `json:"error_codes"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Errorf("%s: body %q is not Anchore's error JSON: %v", what, r.body, err)
		return
	}
	if got.HTTPCode != code || got.Detail.ErrorCodes == nil || !strings.Contains(r.body, `"error_codes": []`) {
		t.Errorf("%s: body %q, want httpcode %d and empty error_codes", what, r.body, code)
	}
	if msg != "" && got.Message != msg {
		t.Errorf("%s: message %q, want %q", what, got.Message, msg)
	}
}

func wantUnauthorized(t *testing.T, what string, r resp) {
	t.Helper()
	if r.code != 401 || r.body != "Unauthorized" || r.header.Get("WWW-Authenticate") != `basic realm="Authentication required"` ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("%s: got %d %q (WWW-Authenticate %q, Content-Type %q), want Anchore's plain 401",
			what, r.code, r.body, r.header.Get("WWW-Authenticate"), r.header.Get("Content-Type"))
	}
}
