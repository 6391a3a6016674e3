package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/anchored/anchored/internal/nodump"
)

// Connection caps. A listener holds at most its cap of connections; the
// Unix socket has a cap of its own, so TCP clients cannot take its share of
// file descriptors and memory (the helper's requests and the owner's
// management always get in). At its cap a listener still accepts, and
// closes the connection that has waited longest for the rest of its
// request (idle keep-alive first, then those still sending headers or a
// body): a client holding connections open by trickling loses them to new
// ones, while a request whose body has arrived is never cut off. If every
// connection is busy in a handler, the new one is closed instead.
const (
	// MaxTCPConns bounds one TCP listener: enough for any real use of an
	// auth API, small enough that a flood of them stays well within 256 MB
	// (about 36 KiB each while a request trickles in: BENCHMARKS.md).
	MaxTCPConns = 2048
	// MaxSocketConns bounds the Unix socket.
	MaxSocketConns = 1024
	// fdReserve is kept for everything that is not a client connection:
	// the vault, its lock, AWS calls, systemd's notify socket, the log.
	fdReserve = 128
)

// Caps are the connection caps Serve applies, per listener, and how long
// a connection may take to send one request.
type Caps struct {
	TCP, Socket int
	// ReadTimeout bounds reading one request, headers and body; zero means
	// the package's ReadTimeout.
	ReadTimeout time.Duration
}

// DefaultCaps shares the file-descriptor soft limit between the listeners:
// the socket's share is taken first, then the TCP listeners split the rest,
// each within MaxTCPConns.
func DefaultCaps(tcpListeners int) Caps {
	var rl unix.Rlimit
	budget := 1024 - fdReserve
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > fdReserve*2 && rl.Cur < 1<<30 {
		budget = int(rl.Cur) - fdReserve
	}
	c := Caps{Socket: min(MaxSocketConns, budget/4)}
	c.TCP = min(MaxTCPConns, (budget-c.Socket)/max(1, tcpListeners))
	return c
}

// RaiseFileLimit sets the file-descriptor soft limit to the hard limit, so
// the caps above are what bounds connections, not EMFILE on accept (which
// stalls every listener at once). It returns the new soft limit.
func RaiseFileLimit() (uint64, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return rl.Cur, nil
}

// phase is where a tracked connection is.
type phase int

const (
	phaseReading phase = iota // TLS handshake, headers or body still coming
	phaseIdle                 // keep-alive, between requests
	phaseBusy                 // request read: the handler is working
	phaseEvicted              // closed by us, not yet seen closed by the server
)

type connState struct {
	phase phase
	since time.Time
}

// tracker holds one listener's connections and their phases.
type tracker struct {
	max int

	mu    sync.Mutex
	conns map[net.Conn]*connState
	live  int // conns not evicted
}

// cappedListener applies a tracker to a listener.
type cappedListener struct {
	net.Listener
	t *tracker
}

func newTracker(max int) *tracker {
	return &tracker{max: max, conns: map[net.Conn]*connState{}}
}

// Accept returns the next connection, making room for it when the
// listener is at its cap.
func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if victim, ok := l.t.admit(c); ok {
			if victim != nil {
				victim.Close()
			}
			return c, nil
		}
		c.Close()
	}
}

// admit registers c; at the cap it picks a victim to close (nil when there
// was room), or refuses c when every connection is busy.
func (t *tracker) admit(c net.Conn) (victim net.Conn, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live >= t.max {
		victim = t.victim()
		if victim == nil {
			return nil, false
		}
		t.conns[victim].phase = phaseEvicted
		t.live--
	}
	t.conns[c] = &connState{phase: phaseReading, since: time.Now()}
	t.live++
	return victim, true
}

// victim is the idle connection idle longest, else the one that has been
// reading its request longest. Called with t.mu held.
func (t *tracker) victim() net.Conn {
	var best net.Conn
	var bestState *connState
	for c, s := range t.conns {
		if s.phase == phaseBusy || s.phase == phaseEvicted {
			continue
		}
		if best == nil || (s.phase == phaseIdle && bestState.phase != phaseIdle) ||
			(s.phase == bestState.phase && s.since.Before(bestState.since)) {
			best, bestState = c, s
		}
	}
	return best
}

// set moves c to phase p (unless it was evicted).
func (t *tracker) set(c net.Conn, p phase) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.conns[c]; s != nil && s.phase != phaseEvicted {
		s.phase, s.since = p, time.Now()
	}
}

// connState is http.Server's ConnState hook.
func (t *tracker) connState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateActive:
		t.set(c, phaseReading)
	case http.StateIdle:
		t.set(c, phaseIdle)
	case http.StateClosed, http.StateHijacked:
		t.mu.Lock()
		if s := t.conns[c]; s != nil {
			if s.phase != phaseEvicted {
				t.live--
			}
			delete(t.conns, c)
		}
		t.mu.Unlock()
	}
}

type trackedConnKey struct{}

// withTrackedConn remembers the accepted connection in the connection's
// context, where the handler wrapper finds it.
func withTrackedConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, trackedConnKey{}, c)
}

// markBusy wraps h: a request is busy (not a victim) once its body has
// been read to the end, or at once when it has none.
func (t *tracker) markBusy(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(trackedConnKey{}).(net.Conn)
		if c != nil {
			if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
				t.set(c, phaseBusy)
			} else {
				r.Body = &bodyWatch{ReadCloser: r.Body, left: r.ContentLength, done: func() { t.set(c, phaseBusy) }}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// bodyWatch calls done once the body has arrived: its Content-Length read
// (a JSON decoder stops at the end of its value, before any EOF), or EOF
// (a chunked body, left -1).
type bodyWatch struct {
	io.ReadCloser
	left int64
	once sync.Once
	done func()
}

func (b *bodyWatch) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.left > 0 {
		b.left -= int64(min(int64(n), b.left))
	}
	if err == io.EOF || b.left == 0 {
		b.once.Do(b.done)
	}
	return n, err
}

// Harden is what the daemon does to itself before it reads a secret: no
// core dumps (internal/nodump) and the file-descriptor soft limit raised
// to the hard one (RaiseFileLimit). Each is defence in depth (the units
// also say LimitCORE=0), so a failure, e.g. a seccomp filter refusing the
// call, is a warning, not a reason to stay down.
func Harden(log *slog.Logger) {
	if err := nodump.Disable(); err != nil {
		log.Warn("core dumps stay possible", "err", err)
	}
	if _, err := RaiseFileLimit(); err != nil {
		log.Warn("raise the open file limit", "err", err)
	}
}
