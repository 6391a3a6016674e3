package helpercli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"filippo.io/age"

	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/internal/passphrase"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/helper/daemonclient"
	"github.com/anchored/anchored/pkg/vault"
)

// vaultHome is a temp HOME with XDG directories and a passphrase file, in
// which the built binary runs as a user would run it: no terminal (Setsid),
// the passphrase from ANCHORE_VAULT_PASSPHRASE_FILE.
type vaultHome struct {
	t                          *testing.T
	dir, vaultPath, socket, pf string
}

const homePass = "correct horse battery"

func newVaultHome(t *testing.T) *vaultHome {
	t.Helper()
	dir := t.TempDir()
	h := &vaultHome{
		t: t, dir: dir,
		vaultPath: filepath.Join(dir, "data", "anchore", "vault"),
		socket:    filepath.Join(dir, "run", "anchored.sock"),
		pf:        filepath.Join(dir, "passphrase"),
	}
	h.write(h.pf, homePass+"\n")
	if err := os.MkdirAll(filepath.Dir(h.socket), 0o700); err != nil {
		t.Fatal(err)
	}
	return h
}

// initHint is what vault init adds on stderr with the passphrase from
// ANCHORE_VAULT_PASSPHRASE_FILE and no passphrase_file in the config.
func (h *vaultHome) initHint() string {
	return "Note: new shells find the passphrase only if " + filepath.Join(h.dir, "config", "anchore", "config.yaml") + " says passphrase_file: " + h.pf + " (or start anchored)\n"
}

func (h *vaultHome) write(path, content string) {
	h.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// cmd builds the command; extraEnv entries override the defaults ("K=" unsets).
func (h *vaultHome) cmd(extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(testbin.Path(h.t, Name), args...)
	env := map[string]string{
		"PATH":                          os.Getenv("PATH"),
		"HOME":                          h.dir,
		"XDG_CONFIG_HOME":               filepath.Join(h.dir, "config"),
		"XDG_DATA_HOME":                 filepath.Join(h.dir, "data"),
		"XDG_RUNTIME_DIR":               filepath.Join(h.dir, "run"),
		"ANCHORE_VAULT_PASSPHRASE_FILE": h.pf,
	}
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range env {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func (h *vaultHome) run(extraEnv []string, args ...string) cliResult {
	h.t.Helper()
	return runProcess(h.t, h.cmd(extraEnv, args...), "")
}

func (h *vaultHome) bytes() []byte {
	h.t.Helper()
	b, err := os.ReadFile(h.vaultPath)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func expect(t *testing.T, got cliResult, code int, stdout, stderr string) {
	t.Helper()
	if got.code != code || got.stdout != stdout || got.stderr != stderr {
		t.Errorf("got exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q", got.code, got.stdout, got.stderr, code, stdout, stderr)
	}
}

func TestVaultInitStatusPasswd(t *testing.T) {
	h := newVaultHome(t)
	p := h.vaultPath

	expect(t, h.run(nil, "vault", "status"), 2, "",
		"Error: open vault: "+p+": vault missing (create it with 'docker-credential-anchore vault init')\n")

	// Flags after the arguments, a global flag after the command.
	expect(t, h.run(nil, "vault", "init", "--work-factor", "10", "--socket", h.socket), 0,
		"Vault created: "+p+" (scrypt work factor 10)\n", h.initHint())
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("vault mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("vault directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}

	before := h.bytes()
	expect(t, h.run(nil, "vault", "init", "--work-factor", "10"), 1, "",
		"Error: "+p+": vault already exists (use it, or move it away first)\n")
	if !bytes.Equal(h.bytes(), before) {
		t.Errorf("init over an existing vault changed it")
	}

	expect(t, h.run(nil, "vault", "status"), 0, strings.Join([]string{
		"Vault: " + p,
		"Format version: 1",
		"Work factor: 10",
		"Accounts: 0",
		"Users: 0",
		"Registries: 0",
		"ECR tokens: 0",
		"Daemon: not running (" + h.socket + ")",
	}, "\n")+"\n", "")

	expect(t, h.run([]string{"ANCHORE_VAULT_PASSPHRASE_FILE="}, "vault", "status"), 2, "",
		"Error: vault is locked: no passphrase (start anchored, or set ANCHORE_VAULT_PASSPHRASE_FILE)\n")
	wrong := filepath.Join(h.dir, "wrong")
	h.write(wrong, "not it\n")
	wrongPass := "Error: open vault: " + p + ": wrong passphrase (check the passphrase: --passphrase-file, ANCHORE_VAULT_PASSPHRASE_FILE, ANCHORE_VAULT_PASSPHRASE or what you typed)\n"
	expect(t, h.run(nil, "vault", "status", "--passphrase-file", wrong), 2, "", wrongPass)

	// passwd: the new passphrase from a file, a new work factor.
	newPF := filepath.Join(h.dir, "new")
	h.write(newPF, "a new passphrase\r\n")
	expect(t, h.run(nil, "vault", "passwd", "--new-passphrase-file", newPF, "--work-factor", "11"), 0,
		"Vault passphrase changed: "+p+" (scrypt work factor 11)\n", "")
	expect(t, h.run(nil, "vault", "status"), 2, "", wrongPass)
	got := h.run([]string{"ANCHORE_VAULT_PASSPHRASE_FILE=" + newPF}, "vault", "status", "--json")
	if got.code != 0 || !strings.Contains(got.stdout, `"work_factor": 11`) || !strings.Contains(got.stdout, `"daemon": "not running"`) {
		t.Errorf("status --json after passwd: %+v", got)
	}

	// passwd without a new passphrase and without a terminal.
	before = h.bytes()
	expect(t, h.run([]string{"ANCHORE_VAULT_PASSPHRASE_FILE=" + newPF}, "vault", "passwd"), 2, "",
		"Error: no new passphrase: give --new-passphrase-file, or run this on a terminal to type one\n")
	if !bytes.Equal(h.bytes(), before) {
		t.Errorf("a refused passwd changed the vault")
	}
}

func TestVaultUsageErrors(t *testing.T) {
	h := newVaultHome(t)
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"vault", "init", "--work-factor", "9"}, "Error: --work-factor 9: the scrypt work factor must be between 10 and 22\n"},
		{[]string{"vault", "init", "--work-factor", "23"}, "Error: --work-factor 23: the scrypt work factor must be between 10 and 22\n"},
		{[]string{"vault", "init", "extra"}, "Error: docker-credential-anchore vault init takes no arguments, got \"extra\"\n"},
		{[]string{"vault", "frobnicate"}, "Error: unknown command \"frobnicate\"\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			expect(t, h.run(nil, tt.args...), 2, "", tt.stderr)
			if vault.Exists(h.vaultPath) {
				t.Errorf("a usage error created a vault")
			}
		})
	}
}

func TestVaultRefusesBadFiles(t *testing.T) {
	h := newVaultHome(t)
	expect(t, h.run(nil, "vault", "init", "--work-factor", "10"), 0, "Vault created: "+h.vaultPath+" (scrypt work factor 10)\n", h.initHint())
	p := h.vaultPath

	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, h.run(nil, "vault", "status"), 2, "",
		"Error: open vault: "+p+": vault permissions too open: file mode 0644 (chmod 600 "+p+")\n")
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Dir(p)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	expect(t, h.run(nil, "vault", "status"), 2, "",
		"Error: open vault: "+dir+": vault permissions too open: directory mode 0755 (chmod 700 "+dir+")\n")
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}

	good := h.bytes()
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	h.write(p, string(bad))
	expect(t, h.run(nil, "vault", "status"), 2, "",
		"Error: open vault: "+p+": vault is damaged: the payload does not authenticate (tampered with or cut short) (restore it from a backup; docs/vault-format.md says how to recover secrets with age -d)\n")
	newPF := filepath.Join(h.dir, "new")
	h.write(newPF, "x\n")
	expect(t, h.run(nil, "vault", "passwd", "--new-passphrase-file", newPF), 2, "",
		"Error: open vault: "+p+": vault is damaged: the payload does not authenticate (tampered with or cut short) (restore it from a backup; docs/vault-format.md says how to recover secrets with age -d)\n")
	if got := h.bytes(); !bytes.Equal(got, bad) {
		t.Errorf("a failed passwd changed the damaged vault")
	}

	// A newer build's document: never opened, never rewritten.
	r, err := age.NewScryptRecipient(homePass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	var newer bytes.Buffer
	w, _ := age.Encrypt(&newer, r)
	w.Write([]byte(`{"version":3}`))
	w.Close()
	h.write(p, newer.String())
	expect(t, h.run(nil, "vault", "status"), 2, "",
		"Error: open vault: "+p+": vault was written by a newer version (format 3; this build knows up to 2) (upgrade docker-credential-anchore and anchored)\n")
	expect(t, h.run(nil, "vault", "passwd", "--new-passphrase-file", newPF), 2, "",
		"Error: open vault: "+p+": vault was written by a newer version (format 3; this build knows up to 2) (upgrade docker-credential-anchore and anchored)\n")
	if !bytes.Equal(h.bytes(), newer.Bytes()) {
		t.Errorf("the newer vault changed")
	}

	h.write(p, "not a vault\n")
	expect(t, h.run(nil, "vault", "status"), 2, "",
		"Error: open vault: "+p+": not a vault: the file is not an age file (point --vault or ANCHORE_VAULT at a vault made by 'docker-credential-anchore vault init')\n")
}

func TestVaultInitRefusesOpenDirectory(t *testing.T) {
	h := newVaultHome(t)
	dir := filepath.Dir(h.vaultPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	expect(t, h.run(nil, "vault", "init", "--work-factor", "10"), 2, "",
		"Error: "+dir+": vault permissions too open: directory mode 0755 (chmod 700 "+dir+")\n")
	if vault.Exists(h.vaultPath) {
		t.Errorf("init created a vault in a directory others can enter")
	}
}

func TestVaultPasswdRefusedWhileDaemonAnswers(t *testing.T) {
	h := newVaultHome(t)
	expect(t, h.run(nil, "vault", "init", "--work-factor", "10"), 0, "Vault created: "+h.vaultPath+" (scrypt work factor 10)\n", h.initHint())

	ln, err := net.Listen("unix", h.socket)
	if err != nil {
		t.Fatal(err)
	}
	var health sync.Mutex
	calls := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		health.Lock()
		defer health.Unlock()
		if r.URL.Path == "/v1/health" {
			calls++
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	newPF := filepath.Join(h.dir, "new")
	h.write(newPF, "new\n")
	before := h.bytes()
	expect(t, h.run(nil, "vault", "passwd", "--new-passphrase-file", newPF), 1, "",
		"Error: anchored answers on "+h.socket+": stop it first (systemctl --user stop anchored), then run 'vault passwd' again\n")
	if !bytes.Equal(h.bytes(), before) {
		t.Errorf("passwd changed the vault while the daemon answers")
	}
	got := h.run(nil, "vault", "status")
	if want := "Daemon: running (" + h.socket + ")\n"; got.code != 0 || !strings.HasSuffix(got.stdout, want) {
		t.Errorf("status: %+v; want a last line %q", got, want)
	}
	health.Lock()
	defer health.Unlock()
	if calls != 2 {
		t.Errorf("%d health checks reached the socket, want 2", calls)
	}
}

func TestVaultInitTwoAtOnce(t *testing.T) {
	h := newVaultHome(t)
	pfs := []string{filepath.Join(h.dir, "first"), filepath.Join(h.dir, "second")}
	h.write(pfs[0], "first passphrase\n")
	h.write(pfs[1], "second passphrase\n")
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for _, pf := range pfs {
		cmd := h.cmd([]string{"ANCHORE_VAULT_PASSPHRASE_FILE=" + pf}, "vault", "init", "--work-factor", "10")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	codes := make([]int, len(cmds))
	for i, c := range cmds {
		c.Wait()
		codes[i] = c.ProcessState.ExitCode()
	}
	if !(codes[0] == 0 && codes[1] == 1) && !(codes[0] == 1 && codes[1] == 0) {
		t.Fatalf("exit codes %v, want one 0 and one 1\n%s\n%s", codes, outs[0], outs[1])
	}
	winner := 0
	if codes[1] == 0 {
		winner = 1
	}
	if got, want := outs[1-winner].String(), "Error: "+h.vaultPath+": vault already exists (use it, or move it away first)\n"; got != want {
		t.Errorf("loser said %q, want %q", got, want)
	}
	pass, err := passphrase.ReadFile(pfs[winner])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Open(context.Background(), h.vaultPath, pass); err != nil {
		t.Errorf("the vault does not open with the winner's passphrase: %v", err)
	}
}

// The terminal paths run in process, with the prompt injected.
func TestVaultInitPromptsTwice(t *testing.T) {
	f := newCLIFixture(t, false)
	delete(f.env, "ANCHORE_VAULT_PASSPHRASE_FILE")
	run := func(answers ...string) (cliResult, []string) {
		var labels []string
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{Name, "vault", "init", "--work-factor", "10"}, Env{Env: helperproto.Env{
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return f.env[k] },
			Prompt: func(label string) (string, error) {
				labels = append(labels, label)
				if len(answers) == 0 {
					return "", passphrase.ErrNone
				}
				a := answers[0]
				answers = answers[1:]
				return a, nil
			},
		}})
		return cliResult{out.String(), errb.String(), code}, labels
	}

	got, labels := run("typed one", "typed two")
	expect(t, got, 1, "", "Error: the two passphrases differ; nothing was changed\n")
	if want := []string{"New vault passphrase: ", "Repeat the new passphrase: "}; strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Errorf("prompts %q, want %q", labels, want)
	}
	if vault.Exists(f.vaultPath) {
		t.Fatalf("mismatched passphrases created a vault")
	}

	got, _ = run()
	expect(t, got, 2, "", "Error: no new passphrase: set ANCHORE_VAULT_PASSPHRASE_FILE or give --passphrase-file, or run this on a terminal to type one\n")

	got, _ = run("typed twice", "typed twice")
	expect(t, got, 0, "Vault created: "+f.vaultPath+" (scrypt work factor 10)\n",
		"Note: new shells find the passphrase only if "+filepath.Join(f.home, ".config", "anchore", "config.yaml")+" says passphrase_file: FILE (a file only you can read, holding the passphrase) (or start anchored)\n")
	if _, err := vault.Open(context.Background(), f.vaultPath, "typed twice"); err != nil {
		t.Errorf("the vault does not open with the typed passphrase: %v", err)
	}
}

func TestProbeDaemon(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if got := probeDaemon(ctx, filepath.Join(dir, "none.sock")).String(); got != "not running" {
		t.Errorf("no socket: %q, want %q", got, "not running")
	}
	// A socket file nobody listens on any more.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if got := probeDaemon(ctx, stale).String(); got != "not running" {
		t.Errorf("stale socket: %q, want %q", got, "not running")
	}
	for _, tt := range []struct {
		status int
		want   string
	}{
		{http.StatusOK, "running"},
		{http.StatusServiceUnavailable, "answering with HTTP 503"},
	} {
		sock := filepath.Join(dir, fmt.Sprintf("%d.sock", tt.status))
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) })}
		go srv.Serve(ln)
		if got := probeDaemon(ctx, sock).String(); got != tt.want {
			t.Errorf("HTTP %d: %q, want %q", tt.status, got, tt.want)
		}
		srv.Close()
	}
	// A socket we may not connect to (root would pass the permission
	// check, so the error is made here, as the client's dial gives it).
	denied := fmt.Errorf("%w on x.sock: %w", daemonclient.ErrNotRunning, os.NewSyscallError("connect", syscall.EACCES))
	if got := stateOf(0, denied).String(); got != "unknown (permission denied on the socket)" {
		t.Errorf("permission denied: %q", got)
	}
}

// "vault passwd --help" states --work-factor's default once, in words.
func TestVaultPasswdWorkFactorHelp(t *testing.T) {
	f := newCLIFixture(t, false)
	r := f.run("", "vault", "passwd", "--help")
	_, line, _ := strings.Cut(r.stdout, "--work-factor")
	line, _, _ = strings.Cut(line, "\n")
	if r.code != 0 || strings.Count(line, "(default:") != 1 || !strings.Contains(line, "(default: keep the vault's)") {
		t.Errorf("vault passwd --help:\n%s", r.stdout)
	}
}

// With passphrase_file in the config (the quick start's way), vault init
// needs no environment variable and has nothing to add.
func TestVaultInitWithConfigPassphraseFile(t *testing.T) {
	f := newCLIFixture(t, false)
	cfg := filepath.Join(f.home, "config.yaml")
	if err := os.WriteFile(cfg, []byte("passphrase_file: "+f.env["ANCHORE_VAULT_PASSPHRASE_FILE"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(f.env, "ANCHORE_VAULT_PASSPHRASE_FILE")
	f.env["ANCHORE_CONFIG"] = cfg
	expect(t, f.run("", "vault", "init", "--work-factor", "10"), 0, "Vault created: "+f.vaultPath+" (scrypt work factor 10)\n", "")
}
