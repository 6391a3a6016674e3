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
// configured TCP listeners. The certificate of the HTTPS listeners is
// returned for reloads (nil without TLS). Plain listeners answer
// net/http's own errors in Anchore's JSON (JSONErrors). On error,
// whatever was opened is closed.
func Listeners(ctx context.Context, a Addrs, log *slog.Logger) (lns []net.Listener, certs *Certs, err error) {
	defer func() {
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
		}
	}()
	if a.TLSCert != "" && a.TLSKey != "" {
		if certs, err = LoadCerts(a.TLSCert, a.TLSKey); err != nil {
			return nil, nil, err
		}
	}
	activated, err := ActivatedTLS(certs, log)
	if err != nil {
		return nil, nil, err
	}
	if len(activated) > 0 {
		for _, l := range activated {
			switch l.(type) {
			case *UnixListener, *net.TCPListener: // plain: the socket, loopback HTTP
				l = JSONErrors(l)
			}
			lns = append(lns, l)
		}
		return lns, certs, nil
	}
	ul, err := ListenUnix(ctx, a.Socket, log)
	if err != nil {
		return lns, certs, fmt.Errorf("socket: %w", err)
	}
	lns = append(lns, JSONErrors(ul))
	if a.HTTPS != "" {
		l, err := ListenTLS(ctx, a.HTTPS, certs)
		if err != nil {
			return lns, certs, fmt.Errorf("listen.https: %w", err)
		}
		lns = append(lns, l)
	}
	if a.HTTP != "" {
		l, err := ListenHTTP(ctx, a.HTTP)
		if err != nil {
			return lns, certs, fmt.Errorf("listen.http: %w", err)
		}
		lns = append(lns, JSONErrors(l))
	}
	return lns, certs, nil
}
