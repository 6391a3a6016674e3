package daemonclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/vault"
)

const fakeDaemonEnv = "DAEMONCLIENT_FAKE_DAEMON_SOCKET"

// TestFakeDaemonProcess is the fake daemon of TestUntrustedDaemon, run in a
// child process: it drops to uid 65534, listens on the socket, logs every
// byte it receives next to it, and answers every request with an
// attacker's credentials and an error text full of escape sequences.
func TestFakeDaemonProcess(t *testing.T) {
	path := os.Getenv(fakeDaemonEnv)
	if path == "" {
		t.Skip("the fake daemon of TestUntrustedDaemon; runs only as its child")
	}
	if err := syscall.Setgid(65534); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setuid(65534); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("listening") // the parent waits for this line
	log, err := os.OpenFile(path+".received", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			b, _ := io.ReadAll(c)
			log.Write(b)
			body := `{"ServerURL":"https://reg.example.com","Username":"attacker","Secret":"attacker-secret"}`
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		}()
	}
}

// TestUntrustedDaemon: a fake daemon held by another uid, on a socket in a
// directory anyone can write (as /tmp). The helper's store sends it
// nothing and goes to the vault; its get answers from the vault, not with
// the fake daemon's credentials; stderr says why, in one line.
func TestUntrustedDaemon(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run the fake daemon as another uid (uid 65534); CI runs as root")
	}
	dir := t.TempDir()
	for d := dir; d != "/" && d != filepath.Clean(os.TempDir()); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o1777)
	sock := filepath.Join(shared, "anchored.sock")

	child := exec.Command(os.Args[0], "-test.run=^TestFakeDaemonProcess$")
	child.Env = append(os.Environ(), fakeDaemonEnv+"="+sock)
	var childErr bytes.Buffer
	child.Stderr = &childErr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "listening\n" {
		t.Fatalf("the fake daemon did not listen: %q, %v; stderr %s", line, err, childErr.String())
	}
	// The fake daemon does answer whoever talks to it.
	if c, err := (&Client{Socket: sock}).dialUnchecked(); err != nil {
		t.Fatalf("dial the fake daemon: %v", err)
	} else {
		c.Close()
	}

	vaultPath := filepath.Join(dir, "state", "vault")
	if _, err := vault.Create(context.Background(), vaultPath, "peer test passphrase", nil, vault.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(passFile, []byte("peer test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "cfg"),
		"ANCHORED_SOCKET=" + sock, "ANCHORE_VAULT=" + vaultPath, "ANCHORE_VAULT_PASSPHRASE_FILE=" + passFile}
	run := func(action, stdin string) (string, string) {
		c := exec.Command(testbin.Path(t, "docker-credential-anchore"), action)
		c.Env, c.Stdin = env, strings.NewReader(stdin)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			t.Fatalf("%s: %v\nstdout %s\nstderr %s", action, err, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	_, stderr := run("store", `{"ServerURL":"https://reg.example.com","Username":"owner","Secret":"owner-secret-peer"}`)
	if n := strings.Count(stderr, "\n"); n != 1 || !strings.Contains(stderr, "uid 65534") || !strings.Contains(stderr, "using the vault") {
		t.Errorf("store's stderr %q: want one line naming uid 65534 and the fallback to the vault", stderr)
	}
	got, _ := run("get", "https://reg.example.com")
	if !strings.Contains(got, "owner-secret-peer") || strings.Contains(got, "attacker") {
		t.Errorf("get answered %q: want the vault's entry, not the fake daemon's", got)
	}
	if b, err := os.ReadFile(sock + ".received"); err == nil && len(b) > 0 {
		t.Errorf("the fake daemon received %d bytes: %q", len(b), b)
	}
}

// dialUnchecked connects without the peer check: the test's proof that
// the fake daemon is there to be talked to.
func (c *Client) dialUnchecked() (*sockConn, error) { return dialUnix(c.socket()) }

func TestTrustedPeer(t *testing.T) {
	mine := t.TempDir()
	os.Chmod(mine, 0o755)
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o1777)
	other := os.Getuid() + 4242
	for _, tc := range []struct {
		name string
		uid  int
		path string
		want bool
	}{
		{"root", 0, filepath.Join(open, "s"), true},
		{"my own uid", os.Getuid(), filepath.Join(open, "s"), true},
		{"the directory's owner", os.Getuid(), filepath.Join(mine, "s"), true},
		{"another uid, not the directory's owner", other, filepath.Join(mine, "s"), false},
		{"another uid in a directory anyone writes", other, filepath.Join(open, "s"), false},
		{"a missing directory", other, "/nonexistent/dir/s", false},
	} {
		if got := trustedPeer(tc.uid, tc.path); got != tc.want {
			t.Errorf("%s: trustedPeer(%d, %s) = %v, want %v", tc.name, tc.uid, tc.path, got, tc.want)
		}
	}
}

func TestPeerErrorFallsBack(t *testing.T) {
	err := error(&peerError{path: "/tmp/x\x1b[2J.sock", uid: 65534})
	for _, target := range []error{ErrUntrustedPeer, ErrNoAnswer, ErrNotRunning} {
		if !errors.Is(err, target) {
			t.Errorf("peerError does not match %v", target)
		}
	}
	if strings.ContainsAny(err.Error(), "\x1b\n") {
		t.Errorf("peerError text %q carries a control character", err.Error())
	}
}

func TestDaemonTextSanitized(t *testing.T) {
	for _, body := range []string{
		`{"message":"evil \u001b]0;pwned\u0007 \u001b[31mred\u001b[0m\nsecond line \u009b1m"}`,
		"evil \x1b[2J raw text\r\nmore \xff",
	} {
		msg := statusError(500, []byte(body)).Error()
		if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0xfffd }) {
			t.Errorf("status error text %q carries a control character", msg)
		}
		if !strings.Contains(msg, "evil") {
			t.Errorf("status error text %q lost the message", msg)
		}
	}
}
