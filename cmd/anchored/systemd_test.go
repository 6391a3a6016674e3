package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/anchored/anchored/internal/testbin"
)

// TestSystemdSocketActivationAndNotify starts the binary the way systemd
// does: a listening socket as fd 3 with LISTEN_FDS/LISTEN_PID, and
// NOTIFY_SOCKET. The daemon must serve on the passed socket, open no socket
// of its own, and send READY=1 then STOPPING=1.
func TestSystemdSocketActivationAndNotify(t *testing.T) {
	dir := t.TempDir()
	passed := filepath.Join(dir, "passed.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: passed, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lf, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	notifyPath := filepath.Join(dir, "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	own := filepath.Join(dir, "own", "anchored.sock")
	// LISTEN_PID must be the daemon's pid: sh execs the binary in place.
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`, testbin.Path(t, "anchored"),
		"--config", filepath.Join(dir, "none.yaml"), "--vault", filepath.Join(dir, "state", "vault"), "--socket", own)
	cmd.Env = []string{"ANCHORE_VAULT_PASSPHRASE=pw", "HOME=" + dir, "NOTIFY_SOCKET=" + notifyPath, "PATH=" + os.Getenv("PATH")}
	cmd.ExtraFiles = []*os.File{lf}
	p := start(t, cmd)

	buf := make([]byte, 256)
	n, _, err := notify.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "READY=1") {
		t.Fatalf("notify: %q, %v; want READY=1; stderr:\n%s", buf[:n], err, p.stderr())
	}
	c := &http.Client{Transport: leaks.Transport(&http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", passed)
	}})}
	res, err := c.Get("http://localhost/v1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	c.CloseIdleConnections()
	if string(b) != "\"v1\"\n" {
		t.Errorf("GET /v1 on the passed socket: %q", b)
	}
	if _, err := os.Stat(own); err == nil {
		t.Errorf("the daemon opened its own socket %s although systemd passed one", own)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	n, _, err = notify.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "STOPPING=1") {
		t.Errorf("notify at stop: %q, %v; want STOPPING=1", buf[:n], err)
	}
	if err := <-p.done; err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}
