package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/tokenserver"
)

var quiet = slog.New(slog.DiscardHandler)

func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

// serveUnix listens on path and serves h until the test ends.
func serveUnix(t *testing.T, path string, h http.Handler, log *slog.Logger) {
	t.Helper()
	l, err := ListenUnix(context.Background(), path, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, []net.Listener{l}, h, 5*time.Second, quiet) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func TestSocketModes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dirMode  os.FileMode // 0: let ListenUnix create it
		wantDir  os.FileMode
		wantSock os.FileMode
	}{
		{"per-user, directory created", 0, 0o700, 0o600},
		{"per-user directory", 0o700, 0o700, 0o600},
		{"system service directory", 0o750, 0o750, 0o660},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if tc.dirMode != 0 {
				if err := os.Mkdir(dir, tc.dirMode); err != nil {
					t.Fatal(err)
				}
				os.Chmod(dir, tc.dirMode)
			}
			path := filepath.Join(dir, "anchored.sock")
			l, err := ListenUnix(context.Background(), path, quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			dfi, _ := os.Stat(dir)
			sfi, _ := os.Stat(path)
			if dfi.Mode().Perm() != tc.wantDir || sfi.Mode().Perm() != tc.wantSock || sfi.Mode()&os.ModeSocket == 0 {
				t.Errorf("directory %04o, socket %v; want %04o and a socket of %04o", dfi.Mode().Perm(), sfi.Mode(), tc.wantDir, tc.wantSock)
			}
			if l.policy.GroupAccess != (tc.wantSock == 0o660) {
				t.Errorf("group access = %v for a %04o socket", l.policy.GroupAccess, tc.wantSock)
			}
		})
	}
}

func TestSocketRefusals(t *testing.T) {
	ctx := context.Background()
	open := t.TempDir()
	os.Chmod(open, os.ModeSticky|0o777)
	if _, err := ListenUnix(ctx, filepath.Join(open, "a.sock"), quiet); !errors.Is(err, ErrSocketDirWritable) {
		t.Errorf("socket in a world-writable directory: %v, want ErrSocketDirWritable", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "a.sock")
	serveUnix(t, path, http.NotFoundHandler(), quiet)
	if _, err := ListenUnix(ctx, path, quiet); !errors.Is(err, ErrSocketInUse) {
		t.Errorf("second listener on a live socket: %v, want ErrSocketInUse", err)
	}
	// A stale socket file (nobody listening) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	l, _ := net.Listen("unix", stale)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := ListenUnix(ctx, stale, quiet)
	if err != nil {
		t.Errorf("stale socket: %v", err)
	} else {
		l2.Close()
	}
}

func TestPeerPolicy(t *testing.T) {
	member := func(uid, gid int) bool { return uid == 1001 && gid == 500 }
	for _, tc := range []struct {
		name   string
		policy PeerPolicy
		peer   Peer
		want   bool
	}{
		{"own uid", PeerPolicy{UID: 1000, GID: 1000}, Peer{UID: 1000}, true},
		{"root", PeerPolicy{UID: 1000, GID: 1000}, Peer{UID: 0}, true},
		{"other uid, 0600", PeerPolicy{UID: 1000, GID: 500}, Peer{UID: 1001, GID: 500}, false},
		{"group primary, 0660", PeerPolicy{UID: 1000, GID: 500, GroupAccess: true}, Peer{UID: 1002, GID: 500}, true},
		{"group member, 0660", PeerPolicy{UID: 1000, GID: 500, GroupAccess: true, inGroup: member}, Peer{UID: 1001, GID: 100}, true},
		{"not in group, 0660", PeerPolicy{UID: 1000, GID: 500, GroupAccess: true, inGroup: member}, Peer{UID: 1003, GID: 100}, false},
		// SO_PEERGROUPS answered: the process's groups decide, not the
		// group database.
		{"peer groups hold it", PeerPolicy{UID: 1000, GID: 500, GroupAccess: true}, Peer{UID: 1003, GID: 100, Groups: []int{27, 500}, GroupsKnown: true}, true},
		{"peer groups lack it", PeerPolicy{UID: 1000, GID: 500, GroupAccess: true, inGroup: member}, Peer{UID: 1001, GID: 100, Groups: []int{27}, GroupsKnown: true}, false},
		{"peer groups, 0600", PeerPolicy{UID: 1000, GID: 500}, Peer{UID: 1003, GID: 100, Groups: []int{500}, GroupsKnown: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Allowed(tc.peer); got != tc.want {
				t.Errorf("Allowed(%+v) = %v, want %v", tc.peer, got, tc.want)
			}
		})
	}
}

// TestPeerCheckOtherUID connects as another uid through a socket whose
// file permissions would let it in: the peer check alone must refuse it.
func TestPeerCheckOtherUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid (SysProcAttr.Credential); the policy itself is covered by TestPeerPolicy")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "anchored.sock")
	var logBuf syncBuffer
	serveUnix(t, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ci := tokenserver.ConnInfoFrom(r.Context())
		if ci.Transport != tokenserver.TransportUnix {
			t.Errorf("ConnInfo = %+v, want the Unix transport", ci)
		}
		io.WriteString(w, "hello")
	}), slog.New(slog.NewTextHandler(&logBuf, nil)))
	// Open the file permissions all the way down, so that only our check
	// stands between the other uid and the API.
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	os.Chmod(dir, 0o755)
	os.Chmod(path, 0o666)

	runCurl := func(uid uint32) (string, error) {
		cmd := exec.Command(curl, "-sS", "--max-time", "10", "--unix-socket", path, "http://localhost/")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := runCurl(0); err != nil || out != "hello" {
		t.Fatalf("curl as root: %q, %v; want hello", out, err)
	}
	out, err := runCurl(65534)
	if err == nil || strings.Contains(out, "hello") {
		t.Errorf("curl as uid 65534: %q, %v; want the connection refused by the peer check", out, err)
	}
	if !strings.Contains(logBuf.String(), "socket connection refused") || !strings.Contains(logBuf.String(), "peer_uid=65534") {
		t.Errorf("log %q does not show the peer check refusing uid 65534", logBuf.String())
	}
}

func TestOriginRefusedOnSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "anchored.sock")
	// The gate of tokenserver decides, from the ConnInfo Serve attached.
	serveUnix(t, path, newAPI(t), quiet)
	c := unixClient(path)
	for _, tc := range []struct {
		hdr, val string
		want     int
	}{
		{"", "", 200},
		{"Origin", "https://evil.example", 403},
		{"Referer", "https://evil.example/page", 403},
	} {
		req, _ := http.NewRequest("GET", "http://localhost/v1", nil)
		if tc.hdr != "" {
			req.Header.Set(tc.hdr, tc.val)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("GET /v1 over the socket with %s %q: %d, want %d", tc.hdr, tc.val, res.StatusCode, tc.want)
		}
	}
}

// TestServeGraceful: a request in flight when the stop comes completes;
// Serve then returns nil.
func TestServeGraceful(t *testing.T) {
	path := filepath.Join(t.TempDir(), "anchored.sock")
	l, err := ListenUnix(context.Background(), path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, []net.Listener{l}, h, 10*time.Second, quiet) }()
	got := make(chan string, 1)
	go func() {
		res, err := unixClient(path).Get("http://localhost/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if g := <-got; g != "done" {
		t.Errorf("in-flight request got %q, want done", g)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after a clean stop", err)
	}
}

func TestListenHTTPLoopbackOnly(t *testing.T) {
	l, err := ListenHTTP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := ListenHTTP(context.Background(), "0.0.0.0:0"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("ListenHTTP(0.0.0.0) = %v, want ErrNotLoopback", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPeerGroupsFromKernel: the accepted connection's peer carries this
// process's own supplementary groups, read with SO_PEERGROUPS.
func TestPeerGroupsFromKernel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	peer, err := peerOf(sc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(peer.Groups)
	slices.Sort(got)
	slices.Sort(want)
	if !peer.GroupsKnown || !slices.Equal(got, want) || peer.UID != os.Getuid() {
		t.Errorf("peer = %+v; want uid %d and groups %v from the kernel", peer, os.Getuid(), want)
	}
}
