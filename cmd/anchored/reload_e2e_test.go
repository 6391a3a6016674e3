package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with serial
// serial to certFile and keyFile.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	// Written to temp names and renamed, as a certificate renewal does.
	writeFile(t, certFile+".new", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile+".new", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	os.Rename(keyFile+".new", keyFile)
	os.Rename(certFile+".new", certFile)
}

// TestSIGHUPNewCertificate: while clients keep calling over TLS (new
// connections and one kept alive), the certificate files are replaced and
// the daemon gets SIGHUP: new handshakes see the new certificate, and no
// request fails. A broken pair on a later SIGHUP is refused and the
// certificate in use stays.
func TestSIGHUPNewCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeCert(t, certFile, keyFile, 1)
	httpsAddr := freeAddr(t)
	d := startOpsListen(t, "  https: "+httpsAddr+"\n  tls_cert: "+certFile+"\n  tls_key: "+keyFile+"\n", "")
	// startOps waited for the HTTP listener, opened after the HTTPS one.

	// serial is the certificate serial a handshake saw.
	var serial atomic.Int64
	tlsConf := &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		serial.Store(cs.PeerCertificates[0].SerialNumber.Int64())
		return nil
	}}
	fresh := &http.Client{Transport: leaks.Transport(&http.Transport{TLSClientConfig: tlsConf, DisableKeepAlives: true})}
	kept := &http.Client{Transport: leaks.Transport(&http.Transport{TLSClientConfig: tlsConf})}
	get := func(c *http.Client) error {
		res, err := c.Get("https://" + httpsAddr + "/v1")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return &httpStatusError{res.StatusCode}
		}
		return nil
	}
	if err := get(kept); err != nil || serial.Load() != 1 {
		t.Fatalf("before reload: %v, serial %d", err, serial.Load())
	}

	// Load in the background for the whole reload.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	var firstErr atomic.Value
	var calls atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := get(fresh); err != nil {
				failures.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			calls.Add(1)
		}
	}()
	waitUntil(t, "background calls", func() bool { return calls.Load() > 3 })
	writeCert(t, certFile, keyFile, 2)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitFor(t, "configuration reloaded")
	n := calls.Load()
	waitUntil(t, "calls after the reload", func() bool { return calls.Load() > n+3 })
	close(stop)
	wg.Wait()
	if failures.Load() > 0 {
		t.Errorf("%d of %d requests failed during the reload; first: %v", failures.Load(), calls.Load(), firstErr.Load())
	}
	if err := get(fresh); err != nil || serial.Load() != 2 {
		t.Errorf("after reload: %v, new handshakes see serial %d, want 2", err, serial.Load())
	}
	// The connection opened before the reload still works.
	if err := get(kept); err != nil {
		t.Errorf("kept-alive connection after reload: %v", err)
	}

	// A broken pair: refused, serial 2 still served.
	writeFile(t, certFile, "not a certificate")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitFor(t, "reload refused")
	if err := get(fresh); err != nil || serial.Load() != 2 {
		t.Errorf("after a refused reload: %v, serial %d, want 2", err, serial.Load())
	}
}

type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return http.StatusText(e.code) }

// TestSIGHUPBrokenConfig: a config with several problems is refused on
// SIGHUP, each problem logged, and the daemon goes on serving with the
// running configuration; the fixed file is then taken.
func TestSIGHUPBrokenConfig(t *testing.T) {
	d := startOps(t, "audit:\n  reads: false\n")
	os.WriteFile(d.config, []byte("listen:\n  http: "+d.addr+"\ndefault_admin_password: foobar\nno_such_key: 1\nlog_format: xml\nmetrics:\n  listen: 0.0.0.0:9\n"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	for _, problem := range []string{"unknown key", "log_format", "metrics.listen"} {
		d.waitForLine(t, "reload refused", problem)
	}
	code, body := d.call(t, "GET", "/v1/account", "admin:foobar", "")
	want(t, "serving after a refused reload", code, body, 200, `"name": "admin"`)

	d.writeConfig(t, "", "audit:\n  reads: true\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitForLine(t, "configuration reloaded", "audit_reads=true")
	code, _ = d.call(t, "GET", "/v1/account", "admin:foobar", "")
	if code != 200 {
		t.Errorf("after a good reload: %d", code)
	}
}
