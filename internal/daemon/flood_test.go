package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// floodCap scales the test's caps to its file-descriptor limit: each flood
// connection costs the test process two descriptors (both ends).
func floodCap(t *testing.T) int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	c := min(256, (int(rl.Cur)-200)/6)
	if c < 16 {
		t.Skipf("file-descriptor limit %d is too low for a flood", rl.Cur)
	}
	return c
}

// trickler holds flood connections, each sending a request whose body
// comes a byte at a time, and counts those the server closed.
type trickler struct {
	mu       sync.Mutex
	conns    []net.Conn
	closed   atomic.Int64
	closedCh chan struct{} // one per connection the server closed
}

func (tr *trickler) open(t *testing.T, network, addr, head string) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("flood connection %d: %v", len(tr.conns)+1, err)
	}
	if _, err := io.WriteString(c, head+"x"); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	tr.conns = append(tr.conns, c)
	if tr.closedCh == nil {
		tr.closedCh = make(chan struct{}, 1<<16)
	}
	ch := tr.closedCh
	tr.mu.Unlock()
	go func() {
		io.Copy(io.Discard, c) // returns when the server closes it
		tr.closed.Add(1)
		ch <- struct{}{}
	}()
}

// trickle sends one more body byte on every connection until ctx is done.
func (tr *trickler) trickle(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		tr.mu.Lock()
		for _, c := range tr.conns {
			c.Write([]byte("x"))
		}
		tr.mu.Unlock()
	}
}

func (tr *trickler) closeAll() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, c := range tr.conns {
		c.Close()
	}
}

// waitClosed waits for n connections closed by the server, at most
// within (a bound for a broken server, not a timing).
func (tr *trickler) waitClosed(n int64, within time.Duration) bool {
	tr.mu.Lock()
	ch := tr.closedCh
	tr.mu.Unlock()
	timeout := time.After(within)
	for range n {
		select {
		case <-ch:
		case <-timeout:
			return false
		}
	}
	return true
}

// TestFlood holds more trickling connections than the caps on both the
// TCP listener and the socket: the socket's helper endpoint and an
// authenticated TCP request still answer within a second, and the server
// held no more than its caps (it closed the rest).
func TestFlood(t *testing.T) {
	capTCP := floodCap(t)
	capSock := capTCP / 2
	api := newAPI(t)
	if _, err := api.Bootstrap(context.Background(), "admin-password", ""); err != nil {
		t.Fatal(err)
	}
	sockPath := filepath.Join(t.TempDir(), "anchored.sock")
	ul, err := ListenUnix(context.Background(), sockPath, quiet)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ListenHTTP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeCapped(ctx, []net.Listener{ul, tl}, api, time.Second, Caps{TCP: capTCP, Socket: capSock}, quiet)
	}()
	tcp, sock := &trickler{}, &trickler{}
	t.Cleanup(func() {
		tcp.closeAll()
		sock.closeAll()
		cancel()
		<-done
	})
	const body = "grant_type=password&client_id=anonymous&username=admin&password="
	tcpHead := fmt.Sprintf("POST /v1/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", len(body)+1000)
	sockHead := "POST /v1/credential-helper/get HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
	extra := capTCP / 2
	for range capTCP + extra {
		tcp.open(t, "tcp", tl.Addr().String(), tcpHead)
	}
	for range capSock + extra {
		sock.open(t, "unix", sockPath, sockHead)
	}
	tctx, stopTrickle := context.WithCancel(context.Background())
	defer stopTrickle()
	go tcp.trickle(tctx)
	go sock.trickle(tctx)

	// The server closed at least what went over each cap.
	if !tcp.waitClosed(int64(extra), 10*time.Second) {
		t.Errorf("TCP: %d of %d flood connections closed, want at least %d (cap %d)", tcp.closed.Load(), capTCP+extra, extra, capTCP)
	}
	if !sock.waitClosed(int64(extra), 10*time.Second) {
		t.Errorf("socket: %d of %d flood connections closed, want at least %d (cap %d)", sock.closed.Load(), capSock+extra, extra, capSock)
	}

	// Both answer within a second while the flood goes on.
	sc := unixClient(sockPath)
	sc.Timeout = time.Second
	start := time.Now()
	res, err := sc.Post("http://localhost/v1/credential-helper/list", "text/plain", nil)
	if err != nil {
		t.Fatalf("socket helper list under the flood: %v (after %v)", err, time.Since(start))
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("socket helper list under the flood: status %d", res.StatusCode)
	}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", "http://"+tl.Addr().String()+"/v1/account", nil)
	req.SetBasicAuth("admin", "admin-password")
	start = time.Now()
	res, err = hc.Do(req)
	if err != nil {
		t.Fatalf("authenticated TCP request under the flood: %v (after %v)", err, time.Since(start))
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("authenticated TCP request under the flood: status %d", res.StatusCode)
	}
}

// TestBusyNotEvicted: a request whose body has arrived is not cut off by
// newcomers at the cap; the newcomer is closed instead.
func TestBusyNotEvicted(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	tl, err := ListenHTTP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeCapped(ctx, []net.Listener{tl}, h, time.Second, Caps{TCP: 1, Socket: 1}, quiet) }()
	defer func() { cancel(); <-done }()
	c, err := net.Dial("tcp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
	<-entered
	c2, err := net.Dial("tcp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c2.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Errorf("newcomer at the cap with the only connection busy: read %d, %v; want closed", n, err)
	}
	close(release)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, "200") {
		t.Errorf("the busy request: %q, %v; want its 200", line, err)
	}
}

func TestDefaultCaps(t *testing.T) {
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	c := DefaultCaps(2)
	if c.Socket < 1 || c.TCP < 1 || c.Socket > MaxSocketConns || c.TCP > MaxTCPConns {
		t.Fatalf("DefaultCaps(2) = %+v, out of bounds", c)
	}
	if total := uint64(c.Socket + 2*c.TCP + fdReserve); rl.Cur < 1<<30 && total > max(rl.Cur, 1024) {
		t.Errorf("DefaultCaps(2) = %+v: %d descriptors with the reserve, over the limit %d", c, total, rl.Cur)
	}
}

// TestTrickleBounded: below any cap, a request whose body still trickles
// in when the read timeout passes loses its connection.
func TestTrickleBounded(t *testing.T) {
	tl, err := ListenHTTP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeCapped(ctx, []net.Listener{tl}, h, time.Second, Caps{TCP: 100, Socket: 100, ReadTimeout: 300 * time.Millisecond}, quiet)
	}()
	defer func() { cancel(); <-done }()
	tr := &trickler{}
	tr.open(t, "tcp", tl.Addr().String(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	defer tr.closeAll()
	tctx, stop := context.WithCancel(context.Background())
	defer stop()
	go tr.trickle(tctx)
	if !tr.waitClosed(1, 10*time.Second) {
		t.Error("a trickling request kept its connection past the read timeout")
	}
}

// A body counts as arrived once its Content-Length is read, EOF or not
// (a JSON decoder stops at the end of its value).
func TestBodyWatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		length int64
		read   int
		done   bool
	}{
		{"part of it", 10, 5, false},
		{"all of it, no EOF yet", 10, 10, true},
		{"chunked, no EOF yet", -1, 10, false},
	} {
		called := false
		b := &bodyWatch{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("x", 20))), left: tc.length, done: func() { called = true }}
		b.Read(make([]byte, tc.read))
		if called != tc.done {
			t.Errorf("%s: done %v, want %v", tc.name, called, tc.done)
		}
	}
}
