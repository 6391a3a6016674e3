package helpercli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/tokenserver"
	"github.com/anchored/anchored/pkg/vault"
)

// The entries every surface starts from.
const (
	dupHost    = "dup.example.com"
	managedECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	otherECR   = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
)

func seedDoc(now time.Time) *vault.Document {
	d := vault.NewDocument()
	regs := d.AccountRegistries("admin")
	regs[dupHost] = &vault.Registry{Registry: dupHost, Name: dupHost, Type: registries.TypeDockerV2, User: "u", Pass: "dup-secret",
		Verify: true, CreatedAt: now, LastUpdated: now}
	regs[managedECR] = &vault.Registry{Registry: managedECR, Name: managedECR, Type: registries.TypeAWSECR, User: "AKIAMANAGED",
		Pass: "managed-aws-secret", Verify: true, CreatedAt: now, LastUpdated: now}
	return d
}

// surfaceRow is one registry input. The add surfaces (CLI "registry add",
// API POST) always apply; proto, when set, is the same name as the
// Docker protocol carries it (store, or erase where JSON cannot carry the
// input), run through the helper in direct mode and through anchored.
type surfaceRow struct {
	name          string
	registry, typ string
	user, pass    string
	iamAuto       bool   // allow_awsecr_iam_auto
	proto         string // "store", "erase" or "" (not a protocol input: see why)
	why           string // why proto is ""
	protoURL      string // default: registry
	wantMsg       string // "" = success
	noAPI         bool   // JSON cannot carry the input
	wantKey       string // the key a success stores
}

const iamMsg = "'awsauto' is not enabled in service configuration"

var notECRMsg = registries.ErrNotECRHost.Error()

func surfaceRows() []surfaceRow {
	return []surfaceRow{
		{name: "trailing slash", registry: "reg.example.com/", user: "u", pass: "p", wantMsg: registries.ErrTrailingSlash.Error(),
			why: "Docker clients send server URLs with a trailing /"},
		{name: "scheme", registry: "https://reg.example.com", user: "u", pass: "p", wantMsg: registries.ErrScheme.Error(),
			why: "Docker clients send server URLs with a scheme"},
		{name: "duplicate", registry: "DUP.example.com", user: "u", pass: "p", wantMsg: registries.ErrExists.Error(),
			why: "docker login replaces its own entry"},
		// Anchore's order: the awsauto gate comes before the name checks.
		{name: "awsauto gated before the name", registry: "reg.example.com/", typ: "awsecr", user: "awsauto", pass: "awsauto", wantMsg: iamMsg,
			why: "the protocol has no type"},
		{name: "awsauto gated", registry: otherECR, typ: "awsecr", user: "awsauto", pass: "awsauto", wantMsg: iamMsg, why: "the protocol has no type"},
		{name: "awsauto allowed", registry: otherECR, typ: "awsecr", user: "awsauto", pass: "awsauto", iamAuto: true, wantKey: otherECR,
			why: "the protocol has no type"},
		{name: "_iam_role gated", registry: otherECR, typ: "awsecr", user: "_iam_role", pass: "arn:aws:iam::210987654321:role/pull", wantMsg: iamMsg,
			why: "the protocol has no type"},
		{name: "awsecr on a non-ECR host", registry: "public.ecr.aws", typ: "awsecr", user: "AKIAEXAMPLE", pass: "s", wantMsg: notECRMsg,
			why: "the protocol has no type"},
		{name: "awsecr wildcard for every host", registry: "*", typ: "awsecr", user: "AKIAEXAMPLE", pass: "s", wantMsg: notECRMsg,
			why: "the protocol has no type"},
		{name: "awsauto on a non-ECR host", registry: "reg.example.com", typ: "docker_v2", user: "awsauto", pass: "awsauto", iamAuto: true, wantMsg: notECRMsg,
			why: "docker login's user and password are its own"},
		{name: "control character", registry: "reg.example.com\x1b[2J", user: "u", pass: "p", proto: "store",
			wantMsg: "invalid registry name or server URL: contains a control character"},
		{name: "CR LF", registry: "reg.example.com\r\nX-Injected: 1", user: "u", pass: "p", proto: "store",
			wantMsg: "invalid registry name or server URL: contains a control character"},
		{name: "NUL", registry: "reg.example.com\x00", user: "u", pass: "p", proto: "store",
			wantMsg: "invalid registry name or server URL: contains a control character"},
		{name: "space", registry: "reg.example.com/a b", user: "u", pass: "p", proto: "store",
			wantMsg: "invalid registry name or server URL: contains a space"},
		{name: "invalid UTF-8", registry: "reg.example.com/\xff", user: "u", pass: "p", proto: "erase", noAPI: true,
			wantMsg: "invalid registry name or server URL: not valid UTF-8"},
		{name: "userinfo", registry: "user:hunter2@reg.example.com", user: "u", pass: "p", proto: "store",
			protoURL: "https://user:hunter2@reg.example.com/",
			wantMsg:  "invalid registry name or server URL: contains user information (user@ or user:password@); give the user and password as credentials"},
		{name: "wildcard", registry: "quay.io/vendor/*", user: "u", pass: "p", proto: "store", wantKey: "quay.io/vendor/*"},
	}
}

// surfaceWorld is one fresh vault, seeded, with a config, and anchored's
// server over it on a socket.
type surfaceWorld struct {
	f      *cliFixture
	srv    *tokenserver.Server
	socket string
	// helperCalls counts the helper endpoints' requests on the socket.
	helperCalls atomic.Int32
}

func newSurfaceWorld(t *testing.T, iamAuto bool) *surfaceWorld {
	t.Helper()
	f := newCLIFixture(t, false)
	f.ecr = noFetchAWS{}
	if _, err := vault.Create(context.Background(), f.vaultPath, fixturePassphrase, seedDoc(f.now), vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(f.home, "config.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "allow_awsecr_iam_auto: %v\n", iamAuto), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env["ANCHORE_CONFIG"] = cfg
	// A short socket path: sun_path holds 108 bytes.
	dir, err := os.MkdirTemp("", "s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w := &surfaceWorld{f: f, socket: filepath.Join(dir, "a.sock")}
	f.env["ANCHORED_SOCKET"] = filepath.Join(dir, "none.sock") // direct mode unless daemon() is used
	v, err := vault.Open(context.Background(), f.vaultPath, fixturePassphrase)
	if err != nil {
		t.Fatal(err)
	}
	w.srv, err = tokenserver.New(context.Background(), tokenserver.Config{
		Now:    func() time.Time { return f.now },
		Logger: slog.New(slog.DiscardHandler),
		Registries: tokenserver.RegistryOptions{
			// No AWS: an awsecr add refreshes its token and fails
			// quietly (validate=false).
			Resolver: &ecr.Resolver{AWS: noFetchAWS{}, AllowIAMAuto: iamAuto, Now: func() time.Time { return f.now }},
		},
	}, tokenserver.NewVaultStore(v))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.srv.Bootstrap(context.Background(), "admin-password", ""); err != nil {
		t.Fatal(err)
	}
	// The vault bytes every refusal must leave alone include the admin.
	ln, err := net.Listen("unix", w.socket)
	if err != nil {
		t.Fatal(err)
	}
	count := http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/v1/credential-helper/") {
			w.helperCalls.Add(1)
		}
		w.srv.ServeHTTP(rw, req)
	})
	hs := &http.Server{Handler: count, ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
		return tokenserver.WithConnInfo(ctx, tokenserver.ConnInfo{Transport: tokenserver.TransportUnix})
	}}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return w
}

// daemon sends the helper's protocol actions to anchored's socket.
func (w *surfaceWorld) daemon() { w.f.env["ANCHORED_SOCKET"] = w.socket }

// outcome is what a surface answered: "" for success, else the message.
func (w *surfaceWorld) cli(r surfaceRow) string {
	typ := r.typ
	if typ == "" {
		typ = "docker_v2"
	}
	res := w.f.run("", "registry", "add", r.registry, r.user, r.pass, "--registry-type", typ, "--skip-validate")
	if res.code == 0 {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(res.stderr, "Error: "), "\n")
}

func (w *surfaceWorld) api(t *testing.T, r surfaceRow) string {
	str := func(s string) *string { return &s }
	body, err := json.Marshal(apitype.RegistryRequest{Registry: r.registry, RegistryUser: str(r.user), RegistryPass: str(r.pass),
		RegistryType: str(r.typ)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/v1/registries?validate=false", bytes.NewReader(body))
	req.SetBasicAuth("admin", "admin-password")
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		return ""
	}
	var e apitype.Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("API answered %d %q", rec.Code, rec.Body)
	}
	return e.Message
}

func (w *surfaceWorld) helper(t *testing.T, action, serverURL, user, secret string) string {
	stdin := serverURL
	if action == "store" {
		b, err := json.Marshal(map[string]string{"ServerURL": serverURL, "Username": user, "Secret": secret})
		if err != nil {
			t.Fatal(err)
		}
		stdin = string(b)
	}
	var out, errb bytes.Buffer
	code := helperproto.Run(context.Background(), action, helperproto.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return w.f.env[k] },
		Now:    func() time.Time { return w.f.now },
		ECR:    noFetchAWS{},
	})
	if code == 0 {
		return ""
	}
	if errb.Len() != 0 {
		t.Errorf("helper %s: stderr %q", action, errb.String())
	}
	return strings.TrimSuffix(out.String(), "\n")
}

// One table of registry inputs through the CLI, the API and the helper
// protocol (direct and through anchored): the same outcome and the same
// message from each, and a refusal leaves the vault as it was, byte for
// byte.
func TestRegistryInputsSameOnEverySurface(t *testing.T) {
	for _, r := range surfaceRows() {
		t.Run(r.name, func(t *testing.T) {
			if r.proto == "" && r.why == "" {
				t.Fatal("a row is a protocol input or says why not")
			}
			type surface struct {
				name string
				run  func(w *surfaceWorld) string
			}
			surfaces := []surface{{"cli", func(w *surfaceWorld) string { return w.cli(r) }}}
			if !r.noAPI {
				surfaces = append(surfaces, surface{"api", func(w *surfaceWorld) string { return w.api(t, r) }})
			}
			if r.proto != "" {
				url := r.protoURL
				if url == "" {
					url = r.registry
				}
				surfaces = append(surfaces,
					surface{"helper direct", func(w *surfaceWorld) string { return w.helper(t, r.proto, url, r.user, r.pass) }},
					surface{"helper via anchored", func(w *surfaceWorld) string {
						w.daemon()
						out := w.helper(t, r.proto, url, r.user, r.pass)
						if w.helperCalls.Load() != 1 {
							t.Errorf("anchored saw %d helper requests, want 1", w.helperCalls.Load())
						}
						return out
					}})
			}
			for _, s := range surfaces {
				w := newSurfaceWorld(t, r.iamAuto)
				before := w.f.vaultBytes()
				got := s.run(w)
				if got != r.wantMsg {
					t.Errorf("%s: answered %q, want %q", s.name, got, r.wantMsg)
				}
				if strings.Contains(got, "hunter2") {
					t.Errorf("%s: the message repeats a password: %q", s.name, got)
				}
				if r.wantMsg != "" {
					if w.f.vaultBytes() != before {
						t.Errorf("%s: a refusal changed the vault", s.name)
					}
					continue
				}
				if e := w.f.doc().Registries["admin"][r.wantKey]; e == nil || e.User != r.user || e.Pass != r.pass {
					t.Errorf("%s: stored %+v under %q", s.name, e, r.wantKey)
				}
			}
		})
	}
}

// noFetchAWS recognises ECR hosts as the SDK does and fails every token
// fetch at once: these tests never reach AWS.
type noFetchAWS struct{ awsecr.Client }

func (noFetchAWS) Fetch(context.Context, string, ecr.Credentials) (ecr.Token, error) {
	return ecr.Token{}, errors.New("no AWS in this test")
}
