package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/apitype"
)

// opsDaemon is a built anchored on a temp directory, with a loopback HTTP
// listener and its socket.
type opsDaemon struct {
	*daemonProc
	dir, addr, socket, config, vault string
}

// startOps starts anchored with the config text extra added to a config
// with listen.http and default_admin_password.
func startOps(t *testing.T, extra string) *opsDaemon {
	t.Helper()
	return startOpsListen(t, "", extra)
}

// startOpsListen is startOps with lines added under listen: (indented).
func startOpsListen(t *testing.T, listen, extra string) *opsDaemon {
	t.Helper()
	d := &opsDaemon{dir: t.TempDir(), addr: freeAddr(t)}
	d.config = filepath.Join(d.dir, "config.yaml")
	d.socket = filepath.Join(d.dir, "run", "anchored.sock")
	d.vault = filepath.Join(d.dir, "state", "vault")
	d.writeConfig(t, listen, extra)
	cmd := exec.Command(testbin.Path(t, "anchored"), "--config", d.config, "--vault", d.vault, "--socket", d.socket)
	cmd.Env = []string{"ANCHORE_VAULT_PASSPHRASE=test passphrase", "HOME=" + d.dir}
	d.daemonProc = start(t, cmd)
	d.waitFor(t, "addr="+d.addr)
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Signal(os.Interrupt)
			<-d.done
		}
	})
	return d
}

func (d *opsDaemon) writeConfig(t *testing.T, listen, extra string) {
	t.Helper()
	body := "listen:\n  http: " + d.addr + "\n" + listen + "default_admin_password: foobar\n" + extra
	if err := os.WriteFile(d.config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// call sends a request over TCP (the default transport: leaks sees it);
// auth is "user:pass" or "". It returns the status and the body.
func (d *opsDaemon) call(t *testing.T, method, path, auth, body string, header ...string) (int, string) {
	t.Helper()
	return doHTTP(t, http.DefaultClient, method, "http://"+d.addr+path, auth, body, header...)
}

func doHTTP(t *testing.T, c *http.Client, method, url, auth, body string, header ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if u, p, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(u, p)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// socketClient talks to the daemon's socket, through leaks.
func (d *opsDaemon) socketClient() *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", d.socket)
	}}
	return &http.Client{Transport: leaks.Transport(tr)}
}

func want(t *testing.T, what string, code int, body string, wantCode int, wantIn string) {
	t.Helper()
	if code != wantCode || !strings.Contains(body, wantIn) {
		t.Errorf("%s: %d %q, want %d with %q", what, code, body, wantCode, wantIn)
	}
}

// TestAccountLifecycle runs the account workflow of Anchore's functional
// tests (and anchore-cli's account commands) against the built daemon:
// create, disable, delete with "deleting" observed, gone, re-create with
// the same name and nothing of the old one left.
func TestAccountLifecycle(t *testing.T) {
	d := startOps(t, "")
	const admin = "admin:foobar"
	code, body := d.call(t, "POST", "/v1/accounts", admin, `{"name":"team1","email":"not-an-email"}`)
	want(t, "email without @", code, body, 400, "is not a 'email'")
	code, body = d.call(t, "POST", "/v1/accounts", admin, `{"name":"team1","email":"ops@example.com"}`)
	want(t, "create account", code, body, 200, `"state": "enabled"`)
	long := strings.Repeat("p", 200) // Anchore's unanchored pattern allows it
	code, body = d.call(t, "POST", "/v1/accounts/team1/users", admin, `{"username":"tuser","password":"`+long+`"}`)
	want(t, "create user with a 200-character password", code, body, 200, `"username": "tuser"`)
	code, body = d.call(t, "GET", "/v1/user", "tuser:"+long, "")
	want(t, "the long password logs in", code, body, 200, `"username": "tuser"`)
	code, body = d.call(t, "POST", "/v1/registries?validate=false", admin, `{"registry":"reg.example:5000","registry_user":"u1","registry_pass":"team1-registry-pw"}`, "x-anchore-account", "team1")
	want(t, "registry of team1", code, body, 200, "reg.example:5000")

	code, body = d.call(t, "DELETE", "/v1/accounts/team1", admin, "")
	want(t, "delete an enabled account", code, body, 400, "Cannot go from state enabled to state deleting")
	code, body = d.call(t, "PUT", "/v1/accounts/team1/state", admin, `{"state":"disabled"}`)
	want(t, "disable", code, body, 200, `"state": "disabled"`)
	code, body = d.call(t, "DELETE", "/v1/accounts/team1", admin, "")
	want(t, "delete", code, body, 200, `"state": "deleting"`)

	// Deleting: visible in GET and list, unusable.
	code, body = d.call(t, "GET", "/v1/accounts/team1", admin, "")
	want(t, "GET while deleting", code, body, 200, `"state": "deleting"`)
	code, body = d.call(t, "GET", "/v1/accounts?state=deleting", admin, "")
	want(t, "list deleting", code, body, 200, `"name": "team1"`)
	code, body = d.call(t, "GET", "/v1/user", "tuser:"+long, "")
	want(t, "user of a deleting account", code, body, 403, "not enabled")
	code, body = d.call(t, "PUT", "/v1/accounts/team1/state", admin, `{"state":"enabled"}`)
	want(t, "re-enable while deleting", code, body, 400, "Cannot go from state deleting")
	code, body = d.call(t, "POST", "/v1/accounts/team1/users", admin, `{"username":"tuser2","password":"secret99"}`)
	want(t, "new user while deleting", code, body, 400, "being deleted")
	code, body = d.call(t, "GET", "/v1/registries", admin, "", "x-anchore-account", "team1")
	want(t, "registries of a deleting account", code, body, 400, "being deleted")
	code, body = d.call(t, "DELETE", "/v1/accounts/team1", admin, "")
	want(t, "delete again", code, body, 200, `"state": "deleting"`)
	code, body = d.call(t, "POST", "/v1/accounts", admin, `{"name":"team1"}`)
	want(t, "re-create while deleting", code, body, 400, "Account already exists")

	// The background teardown ends with the account gone.
	d.waitFor(t, "account deleted")
	code, body = d.call(t, "GET", "/v1/accounts/team1", admin, "")
	want(t, "GET after teardown", code, body, 404, "Account not found")
	code, _ = d.call(t, "GET", "/v1/user", "tuser:"+long, "")
	if code != 401 {
		t.Errorf("user of a deleted account: %d, want 401", code)
	}

	// The name is free again, and nothing of the old account comes back.
	code, body = d.call(t, "POST", "/v1/accounts", admin, `{"name":"team1"}`)
	want(t, "re-create", code, body, 200, `"state": "enabled"`)
	code, body = d.call(t, "GET", "/v1/accounts/team1/users", admin, "")
	want(t, "users of the new account", code, body, 200, "[]")
	code, body = d.call(t, "GET", "/v1/registries", admin, "", "x-anchore-account", "team1")
	want(t, "registries of the new account", code, body, 200, "[]")
	// The admin account and its user were not touched.
	code, body = d.call(t, "GET", "/v1/account", admin, "")
	want(t, "admin untouched", code, body, 200, `"name": "admin"`)
}

// statusShape is Anchore's swagger StatusResponse, every property
// required: decoding rejects unknown or missing members.
func decodeStrict(t *testing.T, what, body string, v any, keys ...string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v in %s", what, err, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err == nil {
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %q in %s", what, k, body)
			}
		}
	}
}

var statusKeys = []string{"available", "busy", "up", "message", "version", "db_version", "detail"}

// TestSystemStatus: /v1/status, /v1/system and /v1/system/services in
// Anchore's shapes, a healthy daemon up; then, with the vault file gone,
// the same daemon not ready, and ready again once it is back.
func TestSystemStatus(t *testing.T) {
	d := startOps(t, "")
	code, body := d.call(t, "GET", "/v1/status", "", "")
	var st apitype.StatusResponse
	decodeStrict(t, "status", body, &st, statusKeys...)
	if code != 200 || !st.Up || !st.Available || st.Version == "" {
		t.Errorf("status: %d %+v", code, st)
	}
	code, body = d.call(t, "GET", "/v1/system", "admin:foobar", "")
	var sys apitype.SystemStatusResponse
	decodeStrict(t, "system", body, &sys, "service_states")
	if code != 200 || len(sys.ServiceStates) != 1 {
		t.Fatalf("system: %d %s", code, body)
	}
	svc := sys.ServiceStates[0]
	if svc.ServiceName != "apiext" || !svc.Status || !svc.ServiceDetail.Up || svc.HostID == "" || svc.BaseURL != "http://"+d.addr {
		t.Errorf("system service: %+v", svc)
	}
	code, body = d.call(t, "GET", "/v1/system/services", "admin:foobar", "")
	var list []apitype.Service
	decodeStrict(t, "services", body, &list)
	if code != 200 || len(list) != 1 || list[0].ServiceName != "apiext" {
		t.Errorf("services: %d %s", code, body)
	}
	code, body = d.call(t, "GET", "/readyz", "", "")
	want(t, "readyz", code, body, 200, "ready")
	code, _ = d.call(t, "GET", "/v1/system", "", "")
	if code != 401 {
		t.Errorf("system without credentials: %d, want 401", code)
	}
	d.call(t, "POST", "/v1/accounts", "admin:foobar", `{"name":"team1"}`)
	d.call(t, "POST", "/v1/accounts/team1/users", "admin:foobar", `{"username":"member","password":"memberpw1"}`)
	code, body = d.call(t, "GET", "/v1/system", "member:memberpw1", "")
	want(t, "system as a non-admin", code, body, 403, "Not authorized")

	// The store goes missing: not ready, service down; /health stays 200.
	if err := os.Rename(d.vault, d.vault+".away"); err != nil {
		t.Fatal(err)
	}
	code, body = d.call(t, "GET", "/readyz", "", "")
	want(t, "readyz without the vault", code, body, 503, "not ready")
	code, body = d.call(t, "GET", "/v1/status", "", "")
	decodeStrict(t, "status down", body, &st, statusKeys...)
	if code != 200 || st.Up || st.Available {
		t.Errorf("status without the vault: %d %+v", code, st)
	}
	code, _ = d.call(t, "GET", "/health", "", "")
	if code != 200 {
		t.Errorf("health without the vault: %d, want 200 (liveness)", code)
	}
	// A vault this daemon cannot open (another passphrase's; "locked" to
	// it) is not ready either.
	if err := os.WriteFile(d.vault, []byte("age-encryption.org/v1\n-> scrypt garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body = d.call(t, "GET", "/readyz", "", "")
	want(t, "readyz with an unreadable vault", code, body, 503, "not ready")
	if err := os.Rename(d.vault+".away", d.vault); err != nil {
		t.Fatal(err)
	}
	code, body = d.call(t, "GET", "/readyz", "", "")
	want(t, "readyz with the vault back", code, body, 200, "ready")
	code, body = d.call(t, "GET", "/v1/system", "admin:foobar", "")
	decodeStrict(t, "system back", body, &sys, "service_states")
	if code != 200 || !sys.ServiceStates[0].Status {
		t.Errorf("system with the vault back: %d %s", code, body)
	}
}

// TestMalformedPathEscape: a request line net/http cannot parse is
// answered in Anchore's JSON error, on TCP and on the socket.
func TestMalformedPathEscape(t *testing.T) {
	d := startOps(t, "")
	for _, dial := range []struct{ network, addr string }{{"tcp", d.addr}, {"unix", d.socket}} {
		c, err := net.Dial(dial.network, dial.addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /v1/registries/%%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46Zm9vYmFy\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", dial.network, err)
		}
		b, _ := io.ReadAll(res.Body)
		c.Close()
		var e apitype.Error
		if res.StatusCode != 400 || res.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &e) != nil ||
			e.HTTPCode != 400 || e.Detail.ErrorCodes == nil || e.Message == "" {
			t.Errorf("%s: GET /v1/registries/%%zz: %d %s %q, want Anchore's JSON 400", dial.network, res.StatusCode, res.Header.Get("Content-Type"), b)
		}
	}
	// The daemon still answers.
	code, _ := d.call(t, "GET", "/v1", "", "")
	if code != 200 {
		t.Errorf("after a malformed request: %d", code)
	}
}

// waitUntil polls cond (a state the daemon reaches on its own) with a
// generous bound.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForLine returns once a stderr line contains both a and b.
func (p *daemonProc) waitForLine(t *testing.T, a, b string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l := <-p.seen:
			if strings.Contains(l, a) && strings.Contains(l, b) {
				return
			}
		case err := <-p.done:
			p.done <- err
			t.Fatalf("anchored ended (%v) before logging %q with %q; stderr:\n%s", err, a, b, p.stderr())
		case <-timeout:
			t.Fatalf("anchored did not log %q with %q; stderr:\n%s", a, b, p.stderr())
		}
	}
}
