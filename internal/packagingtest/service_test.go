package packagingtest

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unitCase is one unit pair started the way systemd would start it.
type unitCase struct {
	argv      []string // ExecStart, paths moved under the temp dir
	env       []string // what systemd and the unit's Environment= give
	sockPath  string   // the socket unit's ListenStream
	sockMode  os.FileMode
	vaultPath string   // where the daemon keeps the vault
	helperEnv []string // a helper of the same user, without a passphrase
}

// systemCase is anchored.service and anchored.socket: the unit's own
// ExecStart arguments, the shipped config (its paths moved under a temp
// dir), the passphrase as a credential in $CREDENTIALS_DIRECTORY, the
// socket with mode 0660.
func systemCase(t *testing.T, b *built, dir string) unitCase {
	for _, d := range []struct {
		name string
		mode os.FileMode
	}{{"state", 0o700}, {"run", 0o750}, {"creds", 0o700}, {"etc", 0o755}} {
		if err := os.Mkdir(filepath.Join(dir, d.name), d.mode); err != nil {
			t.Fatal(err)
		}
	}
	c := unitCase{
		sockPath:  filepath.Join(dir, "run", "anchored.sock"),
		sockMode:  0o660,
		vaultPath: filepath.Join(dir, "state", "vault"),
	}
	if err := os.WriteFile(filepath.Join(dir, "creds", "vault-passphrase"), []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(b.usr, "etc", "anchored", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgText := strings.NewReplacer("/var/lib/anchored/vault", c.vaultPath, "/run/anchored/anchored.sock", c.sockPath).Replace(string(cfg))
	cfgPath := filepath.Join(dir, "etc", "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	execStart := unitValues(t, filepath.Join(b.usr, "usr", "lib", "systemd", "system", "anchored.service"), "ExecStart")
	if len(execStart) != 1 {
		t.Fatalf("ExecStart = %q", execStart)
	}
	c.argv = strings.Fields(strings.NewReplacer(
		"/usr/bin/anchored", filepath.Join(b.usr, "usr", "bin", "anchored"),
		"/etc/anchored/config.yaml", cfgPath,
	).Replace(execStart[0]))
	c.env = []string{"HOME=" + dir, "CREDENTIALS_DIRECTORY=" + filepath.Join(dir, "creds")}
	// The helper is pointed at the system socket, as README says.
	c.helperEnv = []string{"HOME=" + t.TempDir(), "ANCHORED_SOCKET=" + c.sockPath}
	return c
}

// userCase is the user units: per-user defaults, %E and %t expanded, the
// passphrase file the unit's Environment= names, the socket with mode 0600.
// The helper finds the socket by default.
func userCase(t *testing.T, b *built, dir string) unitCase {
	home := filepath.Join(dir, "home")
	rt := filepath.Join(dir, "rt")
	for _, d := range []string{rt, filepath.Join(home, ".config", "anchore")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(home, ".config", "anchore", "vault-passphrase"), []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(b.usr, "usr", "lib", "systemd", "user", "anchored.service")
	execStart := unitValues(t, unit, "ExecStart")
	if len(execStart) != 1 {
		t.Fatalf("ExecStart = %q", execStart)
	}
	expand := strings.NewReplacer("%E", filepath.Join(home, ".config"), "%t", rt, "/usr/bin/anchored", filepath.Join(b.usr, "usr", "bin", "anchored"))
	c := unitCase{
		argv:      strings.Fields(expand.Replace(execStart[0])),
		sockPath:  filepath.Join(rt, "anchored.sock"),
		sockMode:  0o600,
		vaultPath: filepath.Join(home, ".local", "share", "anchore", "vault"),
		env:       []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + rt},
		helperEnv: []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + rt},
	}
	if socket := unitValues(t, filepath.Join(b.usr, "usr", "lib", "systemd", "user", "anchored.socket"), "ListenStream"); len(socket) != 1 || expand.Replace(socket[0]) != c.sockPath {
		t.Fatalf("user socket unit listens on %q, want %%t/anchored.sock", socket)
	}
	for _, e := range unitValues(t, unit, "Environment") {
		c.env = append(c.env, expand.Replace(e))
	}
	return c
}

// TestServiceUnitsContract starts the installed anchored as each unit pair
// would, without systemd: the socket passed as fd 3 (LISTEN_FDS) with the
// socket unit's mode, and a NOTIFY_SOCKET for Type=notify. The daemon must
// say READY=1, create the vault with the passphrase the unit provides, serve
// a helper that has no passphrase over the passed socket, and stop cleanly
// on SIGTERM.
func TestServiceUnitsContract(t *testing.T) {
	b := build(t)
	for _, tc := range []struct {
		name string
		make func(*testing.T, *built, string) unitCase
	}{{"system", systemCase}, {"user", userCase}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			testUnit(t, b, dir, tc.make(t, b, dir))
		})
	}
}

func testUnit(t *testing.T, b *built, dir string, uc unitCase) {
	sockPath, vaultPath := uc.sockPath, uc.vaultPath
	// What the socket unit does: bind, chmod SocketMode, pass as fd 3.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	// Closing our copy must not remove the file the daemon serves.
	ln.SetUnlinkOnClose(false)
	defer ln.Close()
	if err := os.Chmod(sockPath, uc.sockMode); err != nil {
		t.Fatal(err)
	}
	lnFile, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer lnFile.Close()

	notifyPath := filepath.Join(dir, "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	states := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				close(states)
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				states <- l
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// LISTEN_PID must be the daemon's own pid: sh sets it to $$ and execs.
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `LISTEN_PID=$$ exec "$@"`, "sh"}, uc.argv...)...)
	cmd.Env = append([]string{
		"PATH=/usr/bin:/bin",
		"LISTEN_FDS=1",
		"LISTEN_FDNAMES=anchored.socket",
		"NOTIFY_SOCKET=" + notifyPath,
	}, uc.env...)
	cmd.ExtraFiles = []*os.File{lnFile}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1)
	go func() {
		var sb strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			sb.WriteString(sc.Text() + "\n")
		}
		logs <- sb.String()
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	// Our copies: the daemon has its own now.
	lnFile.Close()
	ln.Close()

	ready := false
	for !ready {
		select {
		case s, ok := <-states:
			if !ok {
				t.Fatal("notify socket closed")
			}
			ready = s == "READY=1"
		case err := <-exited:
			stopped = true
			t.Fatalf("anchored exited before READY=1: %v\n%s", err, <-logs)
		case <-ctx.Done():
			t.Fatal("no READY=1 from anchored")
		}
	}

	// The vault was created with the credential.
	if st, err := os.Stat(vaultPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("vault after start: %v, want a 0600 file", err)
	}

	// The passed socket serves the API.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sockPath)
	}}}
	resp, err := client.Get("http://localhost/health")
	if err != nil {
		t.Fatalf("GET /health over the socket: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /health over the socket: %d, want 200", resp.StatusCode)
	}
	if st, err := os.Stat(sockPath); err != nil || st.Mode().Perm() != uc.sockMode {
		t.Errorf("socket mode changed: %v", err)
	}

	// A helper with no passphrase at all stores and gets through the daemon.
	helper := filepath.Join(b.usr, "usr", "bin", "docker-credential-anchore")
	helperEnv := append([]string{"PATH=/usr/bin:/bin"}, uc.helperEnv...)
	runHelper := func(stdin string, args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, helper, args...)
		c.Env = helperEnv
		c.Stdin = strings.NewReader(stdin)
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("docker-credential-anchore %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	runHelper(`{"ServerURL":"registry.example.com","Username":"svc","Secret":"from-the-daemon"}`, "store")
	if got := runHelper("registry.example.com", "get"); !regexp.MustCompile(`"Secret":"from-the-daemon"`).MatchString(got) {
		t.Errorf("get through the system daemon = %q", got)
	}

	// SIGTERM: a clean stop, exit 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("anchored after SIGTERM: %v, want exit 0\n%s", err, <-logs)
		}
	case <-ctx.Done():
		t.Fatal("anchored did not stop on SIGTERM")
	}
}
