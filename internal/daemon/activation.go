package daemon

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/coreos/go-systemd/v22/activation"
)

// Activated returns the sockets systemd passed (LISTEN_FDS), made ready for
// Serve: Unix sockets get the peer check (group access when systemd made
// the file 0660); TCP sockets get TLS when cert and key are configured,
// and are otherwise accepted only on loopback, as a configured listener
// would be. None passed: nil, nil.
func Activated(certFile, keyFile string, log *slog.Logger) ([]net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	var out []net.Listener
	for _, l := range lns {
		switch l := l.(type) {
		case nil:
			continue
		case *net.UnixListener:
			out = append(out, NewUnixListener(l, PolicyFor(l.Addr().String()), log))
		case *net.TCPListener:
			if certFile != "" && keyFile != "" {
				cert, err := tls.LoadX509KeyPair(certFile, keyFile)
				if err != nil {
					return nil, fmt.Errorf("tls certificate: %w", err)
				}
				out = append(out, tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
				continue
			}
			if ta, ok := l.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
				return nil, fmt.Errorf("%w: systemd passed %v and no tls_cert/tls_key are configured", ErrNotLoopback, l.Addr())
			}
			out = append(out, l)
		default:
			return nil, fmt.Errorf("socket activation: unsupported listener %T", l)
		}
	}
	return out, nil
}
