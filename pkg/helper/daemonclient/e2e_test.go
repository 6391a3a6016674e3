package daemonclient_test

// End to end, with the built binaries run as Docker and systemd run them:
// the helper answered by a running anchored without a passphrase, the
// fallback to the vault when it stops, one AWS call for 20 concurrent
// helper processes, and no acknowledged write lost when anchored is
// stopped or killed under load.

import (
	"bytes"
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/registries"
	"github.com/anchored/anchored/pkg/vault"
)

const (
	passphrase = "e2e vault passphrase"
	adminPass  = "e2e-admin-password"
	ecrHost    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
)

// world is one test's state: a vault, its passphrase file and anchored's
// config, in a private directory.
type world struct {
	t        *testing.T
	dir      string
	vault    string
	passFile string
	socket   string
	http     string
	config   string
	daemon   *exec.Cmd
	stderr   *bytes.Buffer
}

func newWorld(t *testing.T, entries ...vault.Registry) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, dir: dir,
		vault:    filepath.Join(dir, "state", "vault"),
		passFile: filepath.Join(dir, "passphrase"),
		socket:   filepath.Join(dir, "run", "anchored.sock"),
		config:   filepath.Join(dir, "config.yaml"),
	}
	if err := os.WriteFile(w.passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := vault.NewDocument()
	for _, e := range entries {
		e.Name, e.CreatedAt, e.LastUpdated = e.Registry, time.Now(), time.Now()
		doc.AccountRegistries("admin")[e.Registry] = &e
	}
	if _, err := vault.Create(context.Background(), w.vault, passphrase, doc, vault.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.http = ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("vault: %s\nlisten:\n  socket: %s\n  http: %s\nhelper_account: admin\ndefault_admin_password: %s\n", w.vault, w.socket, w.http, adminPass)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.stop(syscall.SIGKILL) })
	return w
}

// baseEnv is a clean environment: no passphrase, no AWS, no XDG state of
// the user running the tests.
func (w *world) baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir, "XDG_RUNTIME_DIR=" + w.dir,
		"XDG_CONFIG_HOME=" + filepath.Join(w.dir, "cfg"), "XDG_DATA_HOME=" + filepath.Join(w.dir, "data")}
}

// start runs anchored and waits until it answers over HTTP.
func (w *world) start(env []string) {
	w.t.Helper()
	w.stderr = &bytes.Buffer{}
	c := exec.Command(testbin.Path(w.t, "anchored"), "--config", w.config, "--passphrase-file", w.passFile)
	c.Env = env
	c.Stderr = w.stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.daemon = c
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + w.http + "/health"); err == nil {
			res.Body.Close()
			if _, err := os.Stat(w.socket); err == nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.stop(syscall.SIGKILL)
	w.t.Fatalf("anchored did not start: %s", w.stderr)
}

// stop signals anchored and waits for it to exit.
func (w *world) stop(sig syscall.Signal) {
	if w.daemon == nil {
		return
	}
	w.daemon.Process.Signal(sig)
	w.daemon.Wait()
	w.daemon = nil
}

// helperRun runs docker-credential-anchore ACTION with stdin, as Docker does.
func (w *world) helperRun(env []string, action, stdin string) (stdout, stderr string, code int) {
	w.t.Helper()
	c := exec.Command(testbin.Path(w.t, "docker-credential-anchore"), action)
	c.Env = env
	c.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestHelperThroughDaemonAndFallback(t *testing.T) {
	w := newWorld(t, vault.Registry{Registry: "reg.example.com", Type: registries.TypeDockerV2, User: "reguser", Pass: "reg-secret-e2e", Verify: true})
	w.start(w.baseEnv())
	viaSocket := append(w.baseEnv(), "ANCHORED_SOCKET="+w.socket, "ANCHORE_VAULT="+w.vault)
	want := `{"ServerURL":"reg.example.com","Username":"reguser","Secret":"reg-secret-e2e"}`

	// No passphrase anywhere in the helper's environment: only the daemon
	// can answer this.
	out, errOut, code := w.helperRun(viaSocket, "get", "reg.example.com")
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("get through the daemon = %q (stderr %q, exit %d), want %s", out, errOut, code, want)
	}
	daemonMiss, _, daemonMissCode := w.helperRun(viaSocket, "get", "other.example.com")

	w.stop(syscall.SIGTERM)

	// Daemon stopped, passphrase given: the vault answers, identically.
	direct := append(viaSocket, "ANCHORE_VAULT_PASSPHRASE_FILE="+w.passFile)
	out, errOut, code = w.helperRun(direct, "get", "reg.example.com")
	if code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("get with the daemon stopped = %q (stderr %q, exit %d), want %s", out, errOut, code, want)
	}
	directMiss, _, directMissCode := w.helperRun(direct, "get", "other.example.com")
	if daemonMiss != directMiss || daemonMissCode != directMissCode || strings.TrimSpace(directMiss) != "credentials not found in native keychain" {
		t.Errorf("not found: daemon %q exit %d, vault %q exit %d; want Docker's not-found text from both", daemonMiss, daemonMissCode, directMiss, directMissCode)
	}

	// Daemon stopped, no passphrase: Docker's not-found, the cause on stderr.
	out, errOut, code = w.helperRun(viaSocket, "get", "reg.example.com")
	if code != 1 || strings.TrimSpace(out) != "credentials not found in native keychain" || !strings.Contains(errOut, "passphrase") {
		t.Errorf("get with neither daemon nor passphrase = %q, stderr %q, exit %d", out, errOut, code)
	}
}

func TestConcurrentHelperECRGets(t *testing.T) {
	fake := awsfake.Start(t)
	w := newWorld(t, vault.Registry{Registry: ecrHost, Type: registries.TypeAWSECR, User: "AKIAE2EEXAMPLE", Pass: "aws-secret-e2e", Verify: true})
	w.start(fake.Environ(w.baseEnv()))
	env := append(w.baseEnv(), "ANCHORED_SOCKET="+w.socket, "ANCHORE_VAULT="+w.vault)
	const n = 20
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := w.helperRun(env, "get", ecrHost)
			if code != 0 {
				out = fmt.Sprintf("exit %d: %s %s", code, out, errOut)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	for i, out := range outs {
		var c struct{ Username, Secret string }
		if err := json.Unmarshal([]byte(out), &c); err != nil || c.Username != "AWS" || c.Secret == "" || out != outs[0] {
			t.Fatalf("get %d = %q; want user AWS and the same token as the others", i, out)
		}
	}
	if got := len(fake.ECRCalls()); got != 1 {
		t.Errorf("%d concurrent helper gets made %d ECR calls, want 1", n, got)
	}
}

// Durability: 32 clients add registry entries over the API while anchored
// is stopped (SIGTERM), then again while it is killed (SIGKILL). After each,
// the vault opens, every write answered 2xx is there, whole.
func TestDurabilityUnderSignals(t *testing.T) {
	w := newWorld(t)
	for round, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		w.start(w.baseEnv())
		acked := writeUntilGone(t, w, round, sig)
		if len(acked) == 0 {
			t.Fatalf("round %d: no write was acknowledged before %v", round, sig)
		}
		v, err := vault.Open(context.Background(), w.vault, passphrase)
		if err != nil {
			t.Fatalf("after %v the vault does not open: %v", sig, err)
		}
		regs := v.Document().Registries["admin"]
		for key, pass := range acked {
			r, ok := regs[key]
			if !ok {
				t.Errorf("after %v: acknowledged entry %q is missing", sig, key)
				continue
			}
			if r.Pass != pass || r.User != "u-"+key || r.Type != registries.TypeDockerV2 {
				t.Errorf("after %v: entry %q is not whole: %+v", sig, key, r)
			}
		}
		for key, r := range regs {
			if r.Pass != "pw-"+key {
				t.Errorf("after %v: entry %q holds another write's password", sig, key)
			}
		}
		t.Logf("%v: %d writes acknowledged, %d entries stored", sig, len(acked), len(regs))
	}
	// And anchored starts again on what is left.
	w.start(w.baseEnv())
	w.stop(syscall.SIGTERM)
}

// writeUntilGone runs 32 writers against anchored, signals it once some
// writes are in, and returns the acknowledged entries (key -> password).
func writeUntilGone(t *testing.T, w *world, round int, sig syscall.Signal) map[string]string {
	t.Helper()
	var (
		mu    sync.Mutex
		acked = map[string]string{}
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				key := fmt.Sprintf("r%d-c%d-%d.example.com", round, i, j)
				body, _ := json.Marshal(map[string]any{"registry": key, "registry_user": "u-" + key, "registry_pass": "pw-" + key, "registry_type": "docker_v2"})
				req, _ := http.NewRequest("POST", "http://"+w.http+"/v1/registries?validate=false", bytes.NewReader(body))
				req.SetBasicAuth("admin", adminPass)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					return // the daemon is gone
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode/100 == 2 {
					mu.Lock()
					acked[key] = "pw-" + key
					mu.Unlock()
				} else if res.StatusCode < 500 {
					// A 5xx while stopping is an unacknowledged write, which
					// may or may not have landed; a 4xx is a bug.
					t.Errorf("write %s: status %d", key, res.StatusCode)
					return
				}
			}
		}()
	}
	// Signal once writes are flowing (each costs an scrypt, so there are
	// always some in flight).
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.stop(sig)
	wg.Wait()
	return acked
}

// TestHelperFallsBackWhenDaemonDoesNotAnswer: a socket that accepts and
// closes at once (what anchored does to a peer it refuses) does not break
// the pull: with a passphrase, the vault answers, and stderr says why in
// one line.
func TestHelperFallsBackWhenDaemonDoesNotAnswer(t *testing.T) {
	w := newWorld(t, vault.Registry{Registry: "reg.example.com", Type: registries.TypeDockerV2, User: "reguser", Pass: "reg-secret-e2e", Verify: true})
	if err := os.MkdirAll(filepath.Dir(w.socket), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", w.socket)
	if err != nil {
		t.Fatal(err)
	}
	var accepted sync.WaitGroup
	accepted.Add(1)
	go func() {
		defer accepted.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); accepted.Wait() })

	env := append(w.baseEnv(), "ANCHORED_SOCKET="+w.socket, "ANCHORE_VAULT="+w.vault, "ANCHORE_VAULT_PASSPHRASE_FILE="+w.passFile)
	out, errOut, code := w.helperRun(env, "get", "reg.example.com")
	want := `{"ServerURL":"reg.example.com","Username":"reguser","Secret":"reg-secret-e2e"}`
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("get = %q (stderr %q, exit %d), want %s", out, errOut, code, want)
	}
	wantPrefix := "docker-credential-anchore: anchored at " + w.socket + " did not answer ("
	if !strings.HasPrefix(errOut, wantPrefix) || !strings.HasSuffix(errOut, "); using the vault\n") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr = %q, want one line %q…%q", errOut, wantPrefix, "); using the vault")
	}
	if strings.Contains(errOut, "reg-secret-e2e") || strings.Contains(errOut, passphrase) {
		t.Errorf("stderr holds a secret: %q", errOut)
	}
}
