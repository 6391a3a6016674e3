package daemonclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper"
)

// fakeDaemon serves the helper endpoints from a map on a Unix socket.
//
// requests returns the requests seen so far. The client reads the answer
// with plain system calls, which the race detector does not see as
// synchronisation, so the log is guarded.
func fakeDaemon(t *testing.T) (socket string, requests func() []string) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "d.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	store := map[string]apitype.HelperCredentials{}
	var (
		mu   sync.Mutex
		reqs []string
	)
	record := func(r string) {
		mu.Lock()
		defer mu.Unlock()
		reqs = append(reqs, r)
	}
	mux := http.NewServeMux()
	writeErr := func(w http.ResponseWriter, code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(apitype.NewError(code, msg))
	}
	mux.HandleFunc("POST "+apitype.HelperGetPath, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		record("get " + string(b))
		if string(b) == "broken.example" {
			writeErr(w, http.StatusBadGateway, "ecr: token fetch failed")
			return
		}
		c, ok := store[string(b)]
		if !ok {
			writeErr(w, http.StatusNotFound, "credentials not found in native keychain")
			return
		}
		json.NewEncoder(w).Encode(c)
	})
	mux.HandleFunc("POST "+apitype.HelperStorePath, func(w http.ResponseWriter, r *http.Request) {
		var c apitype.HelperCredentials
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			writeErr(w, http.StatusBadRequest, err.Error())
			return
		}
		record("store " + c.ServerURL)
		store[c.ServerURL] = c
	})
	mux.HandleFunc("POST "+apitype.HelperErasePath, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		record("erase " + string(b))
		delete(store, string(b))
	})
	mux.HandleFunc("POST "+apitype.HelperListPath, func(w http.ResponseWriter, r *http.Request) {
		record("list")
		m := map[string]string{}
		for k, v := range store {
			m[k] = v.Username
		}
		json.NewEncoder(w).Encode(m)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return socket, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(reqs)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	socket, reqs := fakeDaemon(t)
	c := &Client{Socket: socket}
	want := helper.Credentials{ServerURL: "reg.example", Username: "u", Secret: "s"}
	if err := c.Store(ctx, want); err != nil {
		t.Fatalf("Store: %v", err)
	}
	got, err := c.Get(ctx, "reg.example")
	if err != nil || got != want {
		t.Errorf("Get = %+v, %v; want %+v", got, err, want)
	}
	m, err := c.List(ctx)
	if err != nil || !reflect.DeepEqual(m, map[string]string{"reg.example": "u"}) {
		t.Errorf("List = %v, %v", m, err)
	}
	if err := c.Erase(ctx, "reg.example"); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if _, err := c.Get(ctx, "reg.example"); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get after Erase: err = %v, want helper.ErrNotFound", err)
	}
	wantReqs := []string{"store reg.example", "get reg.example", "list", "erase reg.example", "get reg.example"}
	if got := reqs(); !reflect.DeepEqual(got, wantReqs) {
		t.Errorf("requests = %q, want %q", got, wantReqs)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	socket, _ := fakeDaemon(t)
	c := &Client{Socket: socket}

	_, err := c.Get(ctx, "broken.example")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadGateway {
		t.Fatalf("Get(broken) err = %#v, want a *StatusError 502", err)
	}
	if got, want := err.Error(), "ecr: token fetch failed"; got != want {
		t.Errorf("error text = %q, want the daemon's message %q", got, want)
	}
	if errors.Is(err, helper.ErrNotFound) || errors.Is(err, ErrNotRunning) {
		t.Errorf("a 502 matches ErrNotFound or ErrNotRunning: %v", err)
	}

	none := &Client{Socket: filepath.Join(t.TempDir(), "absent.sock")}
	_, err = none.Get(ctx, "reg.example")
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("Get without a daemon: err = %v, want ErrNotRunning", err)
	}
	if errors.Is(err, helper.ErrNotFound) {
		t.Errorf("a missing daemon reads as not found: %v", err)
	}
}

// A Client without a socket path guesses none (this public package reads
// no configuration, ANCHORED_SOCKET included): it is "not running".
func TestZeroValueGuessesNoSocket(t *testing.T) {
	socket, reqs := fakeDaemon(t)
	t.Setenv("ANCHORED_SOCKET", socket)
	var c Client
	if _, err := c.List(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("zero Client List: %v, want ErrNotRunning", err)
	}
	if got := reqs(); len(got) != 0 {
		t.Errorf("daemon saw %d requests, want 0", len(got))
	}
}

// countingBackend records which calls reached the direct backend.
type countingBackend struct{ calls []string }

func (b *countingBackend) Get(_ context.Context, u string) (helper.Credentials, error) {
	b.calls = append(b.calls, "get")
	return helper.Credentials{ServerURL: u, Username: "direct", Secret: "s"}, nil
}
func (b *countingBackend) Store(context.Context, helper.Credentials) error {
	b.calls = append(b.calls, "store")
	return nil
}
func (b *countingBackend) Erase(context.Context, string) error {
	b.calls = append(b.calls, "erase")
	return nil
}
func (b *countingBackend) List(context.Context) (map[string]string, error) {
	b.calls = append(b.calls, "list")
	return map[string]string{}, nil
}

func TestFallback(t *testing.T) {
	ctx := context.Background()
	t.Run("daemon down", func(t *testing.T) {
		direct := &countingBackend{}
		f := &Fallback{Daemon: &Client{Socket: filepath.Join(t.TempDir(), "none.sock")}, Direct: direct}
		c, err := f.Get(ctx, "reg.example")
		if err != nil || c.Username != "direct" {
			t.Errorf("Get = %+v, %v; want the direct backend's answer", c, err)
		}
		f.Store(ctx, helper.Credentials{ServerURL: "reg.example"})
		f.Erase(ctx, "reg.example")
		f.List(ctx)
		if want := []string{"get", "store", "erase", "list"}; !reflect.DeepEqual(direct.calls, want) {
			t.Errorf("direct calls = %q, want %q", direct.calls, want)
		}
	})
	t.Run("daemon up, not found", func(t *testing.T) {
		socket, _ := fakeDaemon(t)
		direct := &countingBackend{}
		f := &Fallback{Daemon: &Client{Socket: socket}, Direct: direct}
		if _, err := f.Get(ctx, "absent.example"); !errors.Is(err, helper.ErrNotFound) {
			t.Errorf("Get = %v, want the daemon's not-found", err)
		}
		if len(direct.calls) != 0 {
			t.Errorf("direct backend called %q while the daemon answered", direct.calls)
		}
	})
}

// rawSocket listens on a Unix socket and hands every accepted connection
// to serve, counting them. The listener and the connections close with the
// test.
func rawSocket(t *testing.T, serve func(net.Conn)) (socket string, accepted *atomic.Int32) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "raw.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int32{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return socket, accepted
}

// answer writes a canned HTTP response after the request's headers.
func answer(resp string) func(net.Conn) {
	return func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, resp)
	}
}

func TestNoAnswerFallsBack(t *testing.T) {
	const short = 50 * time.Millisecond
	closeAtOnce := func(net.Conn) {}
	// silent reads the request and waits for the client to give up, which
	// the EOF it then reads proves.
	silentClosed := make(chan struct{}, 4)
	silent := func(c net.Conn) {
		io.Copy(io.Discard, c)
		silentClosed <- struct{}{}
	}
	tests := []struct {
		name     string
		serve    func(net.Conn)
		wantWarn string
	}{
		{"accepts and closes", closeAtOnce, "did not answer ("},
		{"accepts and never answers", silent, "did not answer (no answer within 50ms); using the vault"},
		{"not HTTP", answer("SSH-2.0-OpenSSH_9.6\r\n"), "did not answer (malformed HTTP"},
		{"headers cut short", answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"), "did not answer (unexpected EOF)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			socket, accepted := rawSocket(t, tt.serve)
			direct := &countingBackend{}
			var warnings []string
			f := &Fallback{
				Daemon: &Client{Socket: socket, Timeout: short},
				Direct: direct,
				Warn:   func(msg string) { warnings = append(warnings, msg) },
			}
			c, err := f.Get(context.Background(), "reg.example")
			if err != nil || c.Username != "direct" {
				t.Fatalf("Get = %+v, %v; want the vault backend's answer", c, err)
			}
			// Later calls go straight to the vault: no second wait, no
			// second warning.
			if _, err := f.List(context.Background()); err != nil {
				t.Fatalf("List: %v", err)
			}
			if want := []string{"get", "list"}; !reflect.DeepEqual(direct.calls, want) {
				t.Errorf("vault calls = %q, want %q", direct.calls, want)
			}
			if got := accepted.Load(); got != 1 {
				t.Errorf("the socket accepted %d connections, want 1", got)
			}
			if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "anchored at "+socket+" ") ||
				!strings.Contains(warnings[0], tt.wantWarn) || !strings.HasSuffix(warnings[0], "; using the vault") ||
				strings.ContainsAny(warnings[0], "\r\n") {
				t.Errorf("warnings = %q, want one line naming %s, containing %q, ending in %q", warnings, socket, tt.wantWarn, "; using the vault")
			}
		})
	}
	select {
	case <-silentClosed:
	default:
		t.Error("the silent socket's connection was not closed by the client")
	}
}

func TestNoAnswerError(t *testing.T) {
	socket, _ := rawSocket(t, func(net.Conn) {})
	_, err := (&Client{Socket: socket}).Get(context.Background(), "reg.example")
	if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, ErrNotRunning) {
		t.Errorf("accept-and-close: err = %v, want ErrNoAnswer and ErrNotRunning", err)
	}
	if errors.Is(err, helper.ErrNotFound) || errors.Is(err, helper.ErrUnavailable) {
		t.Errorf("accept-and-close reads as an answer: %v", err)
	}

	// A connect that fails is "not running" and nothing more: no warning.
	none := &Client{Socket: filepath.Join(t.TempDir(), "absent.sock")}
	if _, err := none.Get(context.Background(), "reg.example"); !errors.Is(err, ErrNotRunning) || errors.Is(err, ErrNoAnswer) {
		t.Errorf("no socket: err = %v, want ErrNotRunning without ErrNoAnswer", err)
	}
}

// TestAnswerIsTheAnswer: whatever HTTP status the daemon answers, the vault
// is not asked.
func TestAnswerIsTheAnswer(t *testing.T) {
	body := func(code int, msg string) string {
		b, _ := json.Marshal(apitype.NewError(code, msg))
		return fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", code, http.StatusText(code), len(b), b)
	}
	tests := []struct {
		name    string
		resp    string
		wantIs  error
		wantMsg string
	}{
		{"404", body(404, "credentials not found in native keychain"), helper.ErrNotFound, "credentials not found in native keychain"},
		{"503", body(503, "vault: locked"), helper.ErrUnavailable, "vault: locked"},
		{"502", body(502, "ecr: token fetch failed"), nil, "ecr: token fetch failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			socket, _ := rawSocket(t, answer(tt.resp))
			direct := &countingBackend{}
			warned := false
			f := &Fallback{Daemon: &Client{Socket: socket, Timeout: time.Minute}, Direct: direct, Warn: func(string) { warned = true }}
			_, err := f.Get(context.Background(), "reg.example")
			var se *StatusError
			if !errors.As(err, &se) || err.Error() != tt.wantMsg || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Errorf("Get err = %v, want the daemon's %q (matching %v)", err, tt.wantMsg, tt.wantIs)
			}
			if len(direct.calls) != 0 || warned {
				t.Errorf("vault calls %q, warned %v; want neither after an answer", direct.calls, warned)
			}
		})
	}
}

// TestCallerContextEnds: the caller's cancellation and deadline end a
// silent exchange as themselves, not as a fallback. Cancellation without a
// deadline has to wake a read blocked in the kernel (sockConn.Shutdown).
func TestCallerContextEnds(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(30*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			socket, _ := rawSocket(t, func(c net.Conn) { io.Copy(io.Discard, c) })
			direct := &countingBackend{}
			f := &Fallback{Daemon: &Client{Socket: socket, Timeout: time.Minute}, Direct: direct}
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := f.Get(ctx, "reg.example")
			if !errors.Is(err, tt.want) || errors.Is(err, ErrNotRunning) {
				t.Errorf("Get err = %v, want %v and no fallback", err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Get returned after %v; the caller's context did not end the wait", d)
			}
			if len(direct.calls) != 0 {
				t.Errorf("vault calls = %q after the caller's context ended, want none", direct.calls)
			}
		})
	}
}
