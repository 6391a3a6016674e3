package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writePair(t *testing.T, dir string, serial int64) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	c, k := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return c, k
}

// TestCertsReload: a good pair replaces the served one; a broken pair is
// refused and the served one stays.
func TestCertsReload(t *testing.T) {
	dir := t.TempDir()
	c, k := writePair(t, dir, 1)
	certs, err := LoadCerts(c, k)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		cert, err := certs.TLSConfig().GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := x509.ParseCertificate(cert.Certificate[0])
		return x.SerialNumber.Int64()
	}
	if serial() != 1 {
		t.Fatalf("serial %d", serial())
	}
	writePair(t, dir, 2)
	if err := certs.Reload(c, k); err != nil || serial() != 2 {
		t.Fatalf("reload: %v, serial %d", err, serial())
	}
	os.WriteFile(c, []byte("garbage"), 0o600)
	if err := certs.Reload(c, k); err == nil {
		t.Error("a broken pair was accepted")
	}
	if serial() != 2 {
		t.Errorf("after a refused reload, serial %d, want 2", serial())
	}
	if _, err := LoadCerts(c, filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadCerts with a missing key succeeded")
	}
}
