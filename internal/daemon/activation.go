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
	var certs *Certs
	if certFile != "" && keyFile != "" {
		var err error
		if certs, err = LoadCerts(certFile, keyFile); err != nil {
			return nil, err
		}
	}
	return ActivatedTLS(certs, log)
}

// ActivatedTLS is Activated with the certificate already loaded (nil: no
// TLS), so that a reload can replace it (certs.go).
func ActivatedTLS(certs *Certs, log *slog.Logger) ([]net.Listener, error) {
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
			if certs != nil {
				out = append(out, tls.NewListener(l, certs.TLSConfig()))
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
