package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/testbin"
)

// limit reads a process's soft and hard limit named name ("Max core file
// size") from /proc/PID/limits (readable whatever the process's
// dumpability).
func limit(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `\s+(\S+)\s+(\S+)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no %q in %s", name, b)
	}
	return m[1] + " " + m[2]
}

func coreLimit(t *testing.T, pid int) string { return limit(t, pid, "Max core file size") }

// TestNoCoreDumps: both binaries turn core dumps off while they hold
// secrets (PR_SET_DUMPABLE 0 and RLIMIT_CORE 0, internal/nodump), the
// daemon once it runs, the helper during a protocol action.
func TestNoCoreDumps(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "passphrase")
	os.WriteFile(pass, []byte("harden test passphrase\n"), 0o600)
	sock := filepath.Join(dir, "run", "anchored.sock")
	cmd := exec.Command(testbin.Path(t, "anchored"), "--config", filepath.Join(dir, "none.yaml"),
		"--vault", filepath.Join(dir, "v", "vault"), "--socket", sock, "--passphrase-file", pass)
	cmd.Env = []string{"HOME=" + dir}
	p := start(t, cmd)
	p.waitFor(t, "listening")
	if got := coreLimit(t, cmd.Process.Pid); got != "0 0" {
		t.Errorf("anchored's core limit = %q, want \"0 0\"", got)
	}
	if soft, hard, _ := strings.Cut(limit(t, cmd.Process.Pid, "Max open files"), " "); soft != hard {
		t.Errorf("anchored's open file limit: soft %s, want the hard %s", soft, hard)
	}
	if os.Getuid() != 0 {
		// A non-dumpable process's /proc entries belong to root.
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid), &st); err != nil || st.Uid != 0 {
			t.Errorf("anchored's /proc/PID/environ owner %d (%v), want root: the process is dumpable", st.Uid, err)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-p.done

	// The helper, caught while it waits on a socket that accepts and
	// never answers.
	hsock := filepath.Join(dir, "silent.sock")
	l, err := net.Listen("unix", hsock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := exec.Command(testbin.Path(t, "docker-credential-anchore"), "get")
	h.Env = []string{"HOME=" + dir, "ANCHORED_SOCKET=" + hsock}
	h.Stdin = strings.NewReader("https://reg.example.com")
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { h.Process.Kill(); h.Wait() }()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	c.Read(make([]byte, 1)) // the request has started: the helper is past its start
	if got := coreLimit(t, h.Process.Pid); got != "0 0" {
		t.Errorf("the helper's core limit = %q, want \"0 0\"", got)
	}
}
