package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
)

// Certs is the HTTPS listeners' certificate, replaceable while they serve:
// a reload (SIGHUP) loads the new pair and swaps it in; handshakes after
// the swap get the new certificate, connections already open keep theirs,
// and no listener closes, so no request is dropped.
type Certs struct {
	cur atomic.Pointer[tls.Certificate]
}

// LoadCerts loads the certificate and key files.
func LoadCerts(certFile, keyFile string) (*Certs, error) {
	c := &Certs{}
	if err := c.Reload(certFile, keyFile); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload loads the pair and, only if it loads, makes it the one served: a
// broken new pair leaves the old one in place.
func (c *Certs) Reload(certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	c.cur.Store(&cert)
	return nil
}

// TLSConfig is a server configuration that serves the current pair.
func (c *Certs) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}

// ListenTLS listens on addr with TLS from c.
func ListenTLS(ctx context.Context, addr string, c *Certs) (net.Listener, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(l, c.TLSConfig()), nil
}
