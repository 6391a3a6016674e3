package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/testbin"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// daemonProc is a running anchored whose stderr is watched line by line.
type daemonProc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	seen  chan string // every stderr line
	done  chan error
}

func start(t *testing.T, cmd *exec.Cmd) *daemonProc {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProc{cmd: cmd, seen: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			// Every log and audit record of the suite's daemons is checked
			// for stored passwords, as response bodies are (main_test.go).
			// Only the daemon's records: a wrapper's own lines (make run's
			// banner shows its demo login on purpose) are not the log.
			if l := sc.Text(); strings.HasPrefix(l, "time=") || strings.HasPrefix(l, `{"time"`) {
				leaks.Text("anchored log", l)
			}
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.seen <- sc.Text():
			default:
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return p
}

// waitFor returns once a stderr line contains s; it fails if the process
// ends first.
func (p *daemonProc) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(60 * time.Second) // a hung child must not hang the suite
	for {
		select {
		case l := <-p.seen:
			if strings.Contains(l, s) {
				return
			}
		case err := <-p.done:
			p.done <- err
			t.Fatalf("anchored ended (%v) before logging %q; stderr:\n%s", err, s, p.stderr())
		case <-timeout:
			t.Fatalf("anchored did not log %q; stderr:\n%s", s, p.stderr())
		}
	}
}

func (p *daemonProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// TestMakeRunSeedTranscript starts anchored as "make run" does (the same
// script, on a free port and a temp directory) and runs the seed's curl
// commands with real curl.
func TestMakeRunSeedTranscript(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed for the shell transcript (.ci/run installs it)")
	}
	root := repoRoot(t)
	state := filepath.Join(t.TempDir(), "state")
	addr := freeAddr(t)
	cmd := exec.Command(filepath.Join(root, "scripts", "run.sh"))
	cmd.Env = append(os.Environ(), "ANCHORED_BIN="+testbin.Path(t, "anchored"), "ANCHORED_STATE="+state, "ANCHORED_HTTP="+addr)
	p := start(t, cmd)
	p.waitFor(t, "addr="+addr)

	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"", 0o700}, {"passphrase", 0o600}, {"vault", 0o600}, {"anchored.sock", 0o600}} {
		fi, err := os.Stat(filepath.Join(state, f.name))
		if err != nil || fi.Mode().Perm() != f.mode {
			t.Errorf("%s/%s: %v, %v; want mode %04o", state, f.name, fi.Mode(), err, f.mode)
		}
	}
	_, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("bash", filepath.Join(root, "cmd", "anchored", "testdata", "seed.sh"), "http://localhost:"+port).CombinedOutput()
	if err != nil {
		t.Errorf("seed transcript: %v\n%s\nanchored stderr:\n%s", err, out, p.stderr())
	}
	if !strings.Contains(p.stderr(), "curl -u admin:foobar http://localhost:"+port+"/v1/accounts") {
		t.Errorf("make run does not print what to try next; stderr:\n%s", p.stderr())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.done; err != nil {
		t.Errorf("anchored after SIGTERM: %v, want exit 0", err)
	}
}

// TestRefusesToStart runs the built binary on bad configurations: exit 2,
// one line per problem.
func TestRefusesToStart(t *testing.T) {
	bin := testbin.Path(t, "anchored")
	dir := t.TempDir()
	missing := filepath.Join(t.TempDir(), "missing.pem")
	open := t.TempDir()
	os.Chmod(open, os.ModeSticky|0o777)
	for _, tc := range []struct {
		name, yaml, socket string
		env                []string
		want               []string
	}{
		{"hashed passwords without OAuth", "user_authentication:\n  hashed_passwords: true\n", "", nil,
			[]string{"user_authentication.hashed_passwords requires user_authentication.oauth.enabled: true"}},
		// Key pairs that do not match: internal/config/daemoncfg's tests.
		{"key files missing", "keys:\n  public_key_path: " + missing + "\n  private_key_path: " + missing + "\n", "", nil,
			[]string{"keys: open " + missing + ": no such file or directory"}},
		{"http on a non-loopback address", "listen:\n  http: 0.0.0.0:8228\n", "", nil,
			[]string{"plain http is accepted only on loopback addresses"}},
		{"https without certificate", "listen:\n  https: 127.0.0.1:8443\n", "", nil,
			[]string{"listen.https needs listen.tls_cert and listen.tls_key"}},
		{"unknown config key", "listen:\n  htp: 127.0.0.1:8228\n", "", nil,
			[]string{`unknown key "htp"`}},
		{"socket directory others can write", "", filepath.Join(open, "anchored.sock"), nil,
			[]string{"socket directory is writable by others"}},
		{"log format, metrics listener and audit file", "log_format: xml\nmetrics:\n  listen: 0.0.0.0:9464\naudit:\n  file: audit.log\n", "", nil,
			[]string{`log_format "xml": want text or json`, `metrics.listen "0.0.0.0:9464": plain http is accepted only on loopback`, `audit.file "audit.log": give an absolute path`}},
		{"two problems", "user_authentication:\n  hashed_passwords: true\nlisten:\n  http: 10.0.0.1:80\n", "", nil,
			[]string{"hashed_passwords requires", "only on loopback"}},
		// Issue 4: the file's unknown keys (with their lines), the
		// environment's bad values and the checks of what was decoded
		// all come out together.
		{"file, environment and checks at once",
			"user_authentication:\n  hashed_passwords: true\nlisten:\n  htp: x\n  http: 0.0.0.0:80\nvualt: /v\n", "",
			[]string{"ANCHORE_OAUTH_ENABLED=maybe"},
			[]string{`line 4: unknown key "htp"`, `line 6: unknown key "vualt"`,
				`ANCHORE_OAUTH_ENABLED="maybe" is not a boolean`,
				"hashed_passwords requires", `listen.http "0.0.0.0:80"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			os.WriteFile(cfg, []byte(tc.yaml), 0o600)
			sock := tc.socket
			if sock == "" {
				sock = filepath.Join(t.TempDir(), "anchored.sock")
			}
			cmd := exec.Command(bin, "--config", cfg, "--vault", filepath.Join(t.TempDir(), "v", "vault"), "--socket", sock)
			cmd.Env = append([]string{"ANCHORE_VAULT_PASSPHRASE=pw", "HOME=" + t.TempDir()}, tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
				t.Fatalf("exit: %v, want 2; stderr %q", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("stderr has %d lines, want %d: %q", len(lines), len(tc.want), stderr.String())
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], "anchored: ") || !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want \"anchored: ...%s...\"", i, lines[i], w)
				}
			}
		})
	}
}

// TestNoPassphrase: with no passphrase source the daemon says where it
// looks, in one line, not the helper's "start anchored" advice; exit 2.
func TestNoPassphrase(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(testbin.Path(t, "anchored"), "--config", filepath.Join(dir, "none.yaml"),
		"--vault", filepath.Join(dir, "v", "vault"), "--socket", filepath.Join(dir, "s", "anchored.sock"))
	cmd.Env = []string{"HOME=" + dir}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("exit: %v, want 2; stderr %q", err, stderr.String())
	}
	want := "anchored: no vault passphrase: set --passphrase-file, passphrase_file, ANCHORE_VAULT_PASSPHRASE_FILE or ANCHORE_VAULT_PASSPHRASE, or LoadCredential=vault-passphrase under systemd\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

// TestSIGTERMWithRequestsInFlight: requests whose bodies are still
// arriving when SIGTERM comes complete (and their writes land); then the
// process exits 0.
func TestSIGTERMWithRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("listen:\n  http: "+addr+"\ndefault_admin_password: foobar\n"), 0o600)
	cmd := exec.Command(testbin.Path(t, "anchored"), "--config", cfg, "--vault", filepath.Join(dir, "state", "vault"), "--socket", filepath.Join(dir, "state", "anchored.sock"))
	cmd.Env = []string{"ANCHORE_VAULT_PASSPHRASE=test passphrase", "HOME=" + dir}
	p := start(t, cmd)
	p.waitFor(t, "addr="+addr)

	const n = 3
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	auth := base64.StdEncoding.EncodeToString([]byte("admin:foobar"))
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := fmt.Sprintf(`{"name":"team%d"}`, i)
		// Headers only, with Expect: 100-continue. The server answers 100
		// when the handler starts reading the body: from then on the
		// request is in flight, which the test knows without any timing.
		fmt.Fprintf(c, "POST /v1/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", auth, len(body))
		readers[i] = bufio.NewReader(c)
		res, err := http.ReadResponse(readers[i], nil)
		if err != nil || res.StatusCode != http.StatusContinue {
			t.Fatalf("request %d: %v %v, want 100 Continue", i, res, err)
		}
		conns[i] = c
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitFor(t, "stopping: waiting for requests in flight")
	for i, c := range conns {
		io.WriteString(c, fmt.Sprintf(`{"name":"team%d"}`, i))
		res, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("request %d in flight: %v; stderr:\n%s", i, err, p.stderr())
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.Contains(string(b), fmt.Sprintf(`"name": "team%d"`, i)) {
			t.Errorf("request %d in flight: %d %s", i, res.StatusCode, b)
		}
	}
	if err := <-p.done; err != nil {
		t.Errorf("anchored after SIGTERM: %v, want exit 0; stderr:\n%s", err, p.stderr())
	}
	// New connections are refused once the stop began; the writes landed:
	// a second start sees the accounts.
	cmd2 := exec.Command(testbin.Path(t, "anchored"), "--config", cfg, "--vault", filepath.Join(dir, "state", "vault"), "--socket", filepath.Join(dir, "state", "anchored.sock"))
	cmd2.Env = cmd.Env
	p2 := start(t, cmd2)
	p2.waitFor(t, "addr="+addr)
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/accounts", nil)
	req.SetBasicAuth("admin", "foobar")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for i := range n {
		if !strings.Contains(string(b), fmt.Sprintf(`"name": "team%d"`, i)) {
			t.Errorf("after restart, accounts %s lack team%d", b, i)
		}
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p2.done; err != nil {
		t.Errorf("second anchored after SIGTERM: %v", err)
	}
}
