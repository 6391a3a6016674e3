package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
)

// Addrs are where the daemon listens (config listen.*, and the resolved
// socket path).
type Addrs struct {
	Socket          string
	HTTPS, HTTP     string // host:port; "" = none
	TLSCert, TLSKey string
}

// Listeners opens what systemd passed, or else the socket and the
// configured TCP listeners. On error, whatever was opened is closed.
func Listeners(ctx context.Context, a Addrs, log *slog.Logger) (lns []net.Listener, err error) {
	defer func() {
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
		}
	}()
	if lns, err = Activated(a.TLSCert, a.TLSKey, log); err != nil || len(lns) > 0 {
		return lns, err
	}
	ul, err := ListenUnix(ctx, a.Socket, log)
	if err != nil {
		return lns, fmt.Errorf("socket: %w", err)
	}
	lns = append(lns, ul)
	if a.HTTPS != "" {
		l, err := ListenHTTPS(ctx, a.HTTPS, a.TLSCert, a.TLSKey)
		if err != nil {
			return lns, fmt.Errorf("listen.https: %w", err)
		}
		lns = append(lns, l)
	}
	if a.HTTP != "" {
		l, err := ListenHTTP(ctx, a.HTTP)
		if err != nil {
			return lns, fmt.Errorf("listen.http: %w", err)
		}
		lns = append(lns, l)
	}
	return lns, nil
}
