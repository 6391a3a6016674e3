package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/pgtest"
	"github.com/anchored/anchored/internal/testbin"
)

// pg is this package's private PostgreSQL cluster (main_test.go stops it).
var pg = pgtest.New()

// fleetConfig is the config of a replica on the database at dsn.
func fleetConfig(dsn string) string {
	return "store: postgres\ndatabase:\n  url: '" + dsn + "'\nuser_authentication:\n  oauth:\n    enabled: true\n"
}

func tokenFrom(t *testing.T, d *opsDaemon, user, pass string) string {
	t.Helper()
	res, err := http.PostForm("http://"+d.addr+"/v1/oauth/token", url.Values{"grant_type": {"password"}, "client_id": {"anonymous"},
		"username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || res.StatusCode != 200 || tr.AccessToken == "" {
		t.Fatalf("token from %s: %d, %v", d.addr, res.StatusCode, err)
	}
	return tr.AccessToken
}

func bearer(t *testing.T, d *opsDaemon, token string) int {
	t.Helper()
	code, _ := d.call(t, "GET", "/v1/account", "", "", "Authorization", "Bearer "+token)
	return code
}

// Two replicas on one database: a token from one is good on the other; a
// password change on one kills the token on the other within a second;
// registry writes through both at once all land; a duplicate is a 409.
func TestFleetOnPostgres(t *testing.T) {
	dsn := pg.NewDatabase(t)
	a := startOps(t, fleetConfig(dsn))
	b := startOps(t, fleetConfig(dsn))
	if !strings.Contains(a.stderr(), "using the PostgreSQL store") {
		t.Fatalf("replica A is not on PostgreSQL:\n%s", a.stderr())
	}

	{
		code, body := a.call(t, "POST", "/v1/accounts", "admin:foobar", `{"name":"team1"}`)
		want(t, "make account", code, body, 200, "")
	}
	{
		code, body := b.call(t, "POST", "/v1/accounts/team1/users", "admin:foobar", `{"username":"alice","password":"alice-password-1"}`)
		want(t, "make user", code, body, 200, "")
	}
	tok := tokenFrom(t, a, "alice", "alice-password-1")
	if code := bearer(t, b, tok); code != 200 {
		t.Fatalf("A's token on B: %d", code)
	}
	if code := bearer(t, a, tok); code != 200 {
		t.Fatalf("A's token on A: %d", code)
	}
	{
		code, body := b.call(t, "POST", "/v1/accounts/team1/users/alice/credentials", "admin:foobar",
			`{"type":"password","value":"alice-password-2"}`)
		want(t, "password change on B", code, body, 200, "")
	}
	deadline := time.Now().Add(time.Second)
	for bearer(t, a, tok) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the old token still works on A a second after the password change on B")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := a.call(t, "GET", "/v1/account", "alice:alice-password-1", ""); code != 401 {
		t.Errorf("the old password on A: %d, want 401", code)
	}
	if code, _ := a.call(t, "GET", "/v1/account", "alice:alice-password-2", ""); code != 200 {
		t.Errorf("the new password on A: %d, want 200", code)
	}

	// 16 clients, each writing through one replica or the other.
	const clients, each = 16, 5
	var mu sync.Mutex
	var acked []string
	var failures []string
	var wg sync.WaitGroup
	for c := range clients {
		d := []*opsDaemon{a, b}[c%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				reg := fmt.Sprintf("r%d-%d.example.com", c, i)
				body := `{"registry":"` + reg + `","registry_user":"u","registry_pass":"fleet-pass-` + reg + `"}`
				req, _ := http.NewRequest("POST", "http://"+d.addr+"/v1/registries?validate=false", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth("admin", "foobar")
				res, err := http.DefaultClient.Do(req)
				mu.Lock()
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == 200 {
						acked = append(acked, reg)
					} else {
						failures = append(failures, fmt.Sprintf("%s: %d", reg, res.StatusCode))
					}
				} else {
					failures = append(failures, fmt.Sprintf("%s: %v", reg, err))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("writes refused: %v", failures)
	}
	for _, d := range []*opsDaemon{a, b} {
		code, body := d.call(t, "GET", "/v1/registries", "admin:foobar", "")
		var list []struct {
			Registry string `json:"registry"`
		}
		if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
			t.Fatalf("list on %s: %d %v", d.addr, code, err)
		}
		have := map[string]bool{}
		for _, r := range list {
			have[r.Registry] = true
		}
		for _, r := range acked {
			if !have[r] {
				t.Errorf("%s acknowledged but missing on %s", r, d.addr)
			}
		}
		if len(list) != len(acked) {
			t.Errorf("%s lists %d registries, %d were acknowledged", d.addr, len(list), len(acked))
		}
	}
	// A registry change and an account disable on one replica are seen
	// by the other within a second.
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Errorf("%s: not seen by the other replica within a second", what)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if code, _ := a.call(t, "GET", "/v1/registries/r1-0.example.com", "admin:foobar", ""); code != 200 {
		t.Fatalf("get on A: %d", code)
	}
	if code, body := b.call(t, "DELETE", "/v1/registries/r1-0.example.com", "admin:foobar", ""); code != 200 {
		t.Fatalf("delete on B: %d %s", code, body)
	}
	eventually("a registry deleted on B", func() bool {
		code, _ := a.call(t, "GET", "/v1/registries/r1-0.example.com", "admin:foobar", "")
		return code == 404
	})
	if code, _ := b.call(t, "GET", "/v1/account", "alice:alice-password-2", ""); code != 200 {
		t.Fatalf("alice on B: %d", code)
	}
	if code, body := a.call(t, "PUT", "/v1/accounts/team1/state", "admin:foobar", `{"state":"disabled"}`); code != 200 {
		t.Fatalf("disable on A: %d %s", code, body)
	}
	eventually("an account disabled on A", func() bool {
		code, _ := b.call(t, "GET", "/v1/account", "alice:alice-password-2", "")
		return code == 401 || code == 403
	})

	// anchored keys rotate, on the database the config names: both
	// replicas sign with the new key within a second; A's old token
	// (alice's is dead; admin's) still verifies on B.
	old := tokenFrom(t, a, "admin", "foobar")
	rot := exec.Command(testbin.Path(t, "anchored"), "--config", a.config, "keys", "rotate")
	rot.Env = []string{"ANCHORE_VAULT_PASSPHRASE=test passphrase", "HOME=" + a.dir}
	out, err := rot.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "New signing key") {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	newKID := strings.Fields(strings.TrimPrefix(string(out), "New signing key "))[0]
	for _, d := range []*opsDaemon{a, b} {
		eventually("a rotation by anchored keys rotate", func() bool { return tokenKID(t, tokenFrom(t, d, "admin", "foobar")) == newKID })
	}
	if code := bearer(t, b, old); code != 200 {
		t.Errorf("a token from before the rotation on B: %d", code)
	}

	body := `{"registry":"r0-0.example.com","registry_user":"u","registry_pass":"another-pass-x"}`
	{
		code, body := b.call(t, "POST", "/v1/registries?validate=false", "admin:foobar", body)
		want(t, "a duplicate through the other replica", code, body, 409, "")
	}
}

// SIGKILL of one replica while clients write through both loses no
// write either acknowledged.
func TestFleetReplicaKilled(t *testing.T) {
	dsn := pg.NewDatabase(t)
	a := startOps(t, fleetConfig(dsn))
	b := startOps(t, fleetConfig(dsn))
	var mu sync.Mutex
	var acked []string
	ackedOnB := make(chan struct{}, 100)
	var wg sync.WaitGroup
	for c := range 8 {
		d := []*opsDaemon{a, b}[c%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				reg := fmt.Sprintf("k%d-%d.example.com", c, i)
				req, _ := http.NewRequest("POST", "http://"+d.addr+"/v1/registries?validate=false",
					strings.NewReader(`{"registry":"`+reg+`","registry_user":"u","registry_pass":"killed-pass-`+reg+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth("admin", "foobar")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					continue // B is gone: not acknowledged
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, reg)
					mu.Unlock()
					if d == b {
						select {
						case ackedOnB <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	for range 5 { // B has acknowledged some: kill it mid-stream
		<-ackedOnB
	}
	b.cmd.Process.Kill()
	<-b.done // reaped: its cleanup sees the exit
	wg.Wait()
	code, body := a.call(t, "GET", "/v1/registries", "admin:foobar", "")
	if code != 200 {
		t.Fatalf("list on A: %d", code)
	}
	for _, r := range acked {
		if !strings.Contains(body, `"`+r+`"`) {
			t.Errorf("%s was acknowledged and is lost", r)
		}
	}
	if len(acked) < 5 {
		t.Errorf("only %d writes acknowledged", len(acked))
	}
}

// A replica that cannot start on the database says why in one line: exit
// 1 for the database down (systemd's Restart=on-failure retries), 2 for
// what a restart cannot fix (the wrong passphrase, a password in the URL).
func TestFleetRefusesToStart(t *testing.T) {
	dsn := pg.NewDatabase(t)
	startOps(t, fleetConfig(dsn)) // the database now has its sealing salt
	dir := t.TempDir()
	for _, tc := range []struct {
		name, dsn, pass, want string
		code                  int
	}{
		{"unreachable", "host=" + filepath.Join(dir, "nothing") + " user=x dbname=x", "test passphrase", "anchored: database: database unreachable", 1},
		{"wrong passphrase", dsn, "another passphrase", "anchored: database: database secrets are sealed with a different passphrase", 2},
		{"password in the URL", "postgres://u:hunter22-db@localhost/x", "test passphrase", "database.url must not carry a password", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(cfg, []byte(fleetConfig(tc.dsn)), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(testbin.Path(t, "anchored"), "--config", cfg, "--vault", filepath.Join(dir, "vault"), "--socket", filepath.Join(dir, "s", "a.sock"))
			cmd.Env = []string{"ANCHORE_VAULT_PASSPHRASE=" + tc.pass, "HOME=" + dir}
			out, err := cmd.CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			var last string
			for _, l := range lines {
				if strings.HasPrefix(l, "anchored: ") {
					last = l
				}
			}
			if cmd.ProcessState.ExitCode() != tc.code || !strings.Contains(last, tc.want) || strings.Contains(string(out), "hunter22") {
				t.Errorf("exit %v, output:\n%s\nwant exit %d and a line with %q", err, out, tc.code, tc.want)
			}
		})
	}
}

// storeCopyRun runs anchored store copy and returns its exit code and output.
func storeCopyRun(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t, "anchored"), append([]string{"--config", filepath.Join(t.TempDir(), "none.yaml"), "store", "copy"}, args...)...)
	cmd.Env = env
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// A vault's state copied to PostgreSQL serves the same logins and entries
// from a replica there, and copies back into a new vault; a copy into a
// store that holds records is refused and changes nothing.
func TestStoreCopy(t *testing.T) {
	d := startOps(t, "")
	code, body := d.call(t, "POST", "/v1/accounts", "admin:foobar", `{"name":"team1"}`)
	want(t, "account", code, body, 200, "")
	code, body = d.call(t, "POST", "/v1/accounts/team1/users", "admin:foobar", `{"username":"alice","password":"alice-copy-pw"}`)
	want(t, "user", code, body, 200, "")
	code, body = d.call(t, "POST", "/v1/registries?validate=false", "admin:foobar", `{"registry":"reg.example.com","registry_user":"u","registry_pass":"copied-registry-pass"}`)
	want(t, "registry", code, body, 200, "")
	d.cmd.Process.Signal(os.Interrupt)
	<-d.done

	env := []string{"ANCHORE_VAULT_PASSPHRASE=test passphrase", "HOME=" + d.dir}
	dsn := pg.NewDatabase(t)
	code, out := storeCopyRun(t, env, "--from", "vault:"+d.vault, "--to", "postgres:"+dsn)
	if code != 0 || !strings.Contains(out, "copied 2 accounts, 2 users, 1 registry entries") || !strings.Contains(out, "verified") {
		t.Fatalf("vault to postgres: exit %d\n%s", code, out)
	}
	code, out = storeCopyRun(t, env, "--from", "vault:"+d.vault, "--to", "postgres:"+dsn)
	if code != 1 || !strings.Contains(out, "not empty") {
		t.Errorf("a copy into a full store: exit %d\n%s", code, out)
	}
	back := filepath.Join(t.TempDir(), "back", "vault")
	code, out = storeCopyRun(t, env, "--from", "postgres:"+dsn, "--to", "vault:"+back)
	if code != 0 || !strings.Contains(out, "copied 2 accounts, 2 users, 1 registry entries, 0 signing keys; the copy verified") {
		t.Errorf("postgres to a new vault: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{{"--from", "file:/x", "--to", "postgres:" + dsn}, {"--from", "vault:" + back, "--to", "postgres://u:hunter22@h/db"},
		{"--from", "vault:" + back, "--to", "postgresql://u:hunter22@h/db"}, {"--from", "vault:" + back, "--to", "host=h password=hunter22"}} {
		if code, out := storeCopyRun(t, env, bad...); code != 2 || strings.Contains(out, "hunter22") {
			t.Errorf("store copy %q: exit %d\n%s", bad, code, out)
		}
	}

	r := startOps(t, fleetConfig(dsn))
	code, _ = r.call(t, "GET", "/v1/account", "alice:alice-copy-pw", "")
	want(t, "alice on the copy", code, "", 200, "")
	code, body = r.call(t, "GET", "/v1/registries", "admin:foobar", "")
	want(t, "registries on the copy", code, body, 200, "reg.example.com")
}

// make run-fleet's script, on free ports and a temp directory: both
// replicas answer, a token from A is accepted by B, and a stop leaves
// nothing running.
func TestMakeRunFleet(t *testing.T) {
	addrA, addrB := freeAddr(t), freeAddr(t)
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "run-fleet.sh"))
	cmd.Env = append(os.Environ(), "ANCHORED_BIN="+testbin.Path(t, "anchored"), "ANCHORED_STATE="+filepath.Join(t.TempDir(), "state"),
		"ANCHORED_HTTP_A="+addrA, "ANCHORED_HTTP_B="+addrB)
	p := start(t, cmd)
	a, b := &opsDaemon{daemonProc: p, addr: addrA}, &opsDaemon{daemonProc: p, addr: addrB}
	deadline := time.Now().Add(60 * time.Second)
	for _, d := range []*opsDaemon{a, b} {
		for {
			res, err := http.Get("http://" + d.addr + "/health")
			if err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s did not answer: %v\n%s", d.addr, err, p.stderr())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code := bearer(t, b, tokenFrom(t, a, "admin", "foobar")); code != 200 {
		t.Errorf("A's token on B: %d", code)
	}
	if !strings.Contains(p.stderr(), "a token from A is accepted by B") {
		t.Errorf("make run-fleet does not say what to try:\n%s", p.stderr())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.done; err != nil {
		t.Errorf("run-fleet after SIGTERM: %v\n%s", err, p.stderr())
	}
	for _, addr := range []string{addrA, addrB} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still answers after the stop", addr)
		}
	}
}
