package daemon

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"

	"github.com/anchored/anchored/pkg/tokenserver"
)

// ErrNotLoopback: plain HTTP was asked for on an address that is not
// loopback.
var ErrNotLoopback = errors.New("plain http is accepted only on loopback addresses")

// IsLoopbackHost reports whether host (an IP or "localhost") is loopback.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckLoopback is the rule for a plain HTTP address: host:port with a
// loopback host (else ErrNotLoopback). ListenHTTP and the configuration
// check both apply it.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("http address %q: %w", addr, err)
	}
	if !IsLoopbackHost(host) {
		return fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	return nil
}

// ListenHTTP listens on a loopback address for plain HTTP. The bound
// address is checked too, so a name that resolves elsewhere is refused.
func ListenHTTP(ctx context.Context, addr string) (net.Listener, error) {
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if ta, ok := l.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		l.Close()
		return nil, fmt.Errorf("%w: %q bound to %v", ErrNotLoopback, addr, l.Addr())
	}
	return l, nil
}

// ListenHTTPS listens on addr with TLS from the certificate and key files.
func ListenHTTPS(ctx context.Context, addr, certFile, keyFile string) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// Read timeouts. The API's bodies are at most 64 KiB of JSON or a form:
// a client still sending its request after ReadTimeout is trickling, and
// loses the connection (the connection caps make trickling pointless
// before that; the timeout bounds it when there is no pressure).
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 20 * time.Second
	IdleTimeout       = 2 * time.Minute
)

// SoftMemoryLimit is the Go runtime's soft memory limit for the daemon
// (GOMEMLIMIT overrides it): the garbage collector works harder as the
// process nears it, so the garbage of a connection flood (thousands of
// connections accepted and closed) is collected before the heap doubles,
// as GOGC alone would let it. 128 MiB for the daemon and its connections,
// plus room for one production scrypt (32 MiB) per core, since password
// hashes run that many at once; a live heap above it only makes the
// collector run more, never fails.
func SoftMemoryLimit() int64 { return 128<<20 + int64(runtime.NumCPU())*(32<<20) }

// Serve serves h on every listener until ctx is done, then stops
// gracefully: listeners close, in-flight requests run to completion (up to
// grace), and systemd hears READY=1 at start and STOPPING=1 at the end.
// Connections are capped per listener (DefaultCaps). It returns nil after
// a clean stop.
func Serve(ctx context.Context, lns []net.Listener, h http.Handler, grace time.Duration, log *slog.Logger) error {
	tcp := 0
	for _, l := range lns {
		if l.Addr().Network() != "unix" {
			tcp++
		}
	}
	return ServeCapped(ctx, lns, h, grace, DefaultCaps(tcp), log)
}

// ServeCapped is Serve with the connection caps given.
func ServeCapped(ctx context.Context, lns []net.Listener, h http.Handler, grace time.Duration, caps Caps, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	// The vault's unlock ran scrypt (tens of MiB, up to 256 MiB at work
	// factor 18), garbage by now: hand it back to the kernel before
	// serving, so that the daemon's resident size is its own.
	debug.FreeOSMemory()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(SoftMemoryLimit())
	}
	servers := make([]*http.Server, len(lns))
	errc := make(chan error, len(lns))
	for i, l := range lns {
		limit := caps.TCP
		if l.Addr().Network() == "unix" {
			limit = caps.Socket
		}
		t := newTracker(max(1, limit))
		l = &cappedListener{Listener: l, t: t}
		srv := &http.Server{
			Handler:           t.markBusy(h),
			ReadHeaderTimeout: ReadHeaderTimeout,
			ReadTimeout:       cmp.Or(caps.ReadTimeout, ReadTimeout),
			IdleTimeout:       IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				return connContext(withTrackedConn(ctx, c), c)
			},
			ConnState: t.connState,
		}
		servers[i] = srv
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %v: %w", l.Addr(), err)
			}
		}()
		log.Info("listening", "addr", l.Addr().String(), "network", l.Addr().Network(), "max_conns", t.max)
	}
	if _, err := sddaemon.SdNotify(false, sddaemon.SdNotifyReady); err != nil {
		log.Warn("sd_notify", "err", err)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
	log.Info("stopping: waiting for requests in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil && serveErr == nil {
			serveErr = fmt.Errorf("graceful stop: %w", err)
		}
	}
	return serveErr
}

// connContext tells the API which transport and peer a connection is.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if w, ok := c.(*jsonErrorsConn); ok {
		c = w.Conn
	}
	if pc, ok := c.(*PeerConn); ok {
		return tokenserver.WithConnInfo(ctx, tokenserver.ConnInfo{Transport: tokenserver.TransportUnix, PeerUID: pc.Peer.UID, PeerGID: pc.Peer.GID, PeerPID: pc.Peer.PID})
	}
	return tokenserver.WithConnInfo(ctx, tokenserver.ConnInfo{Transport: tokenserver.TransportTCP, PeerUID: -1, PeerGID: -1, PeerPID: -1})
}
