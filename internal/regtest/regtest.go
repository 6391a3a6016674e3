// Package regtest runs a real OCI registry (distribution/distribution v3)
// in the test process, behind TLS with a CA made for the test, for the
// end-to-end tests of docker-credential-anchore and anchored. It imports
// registry/handlers, not the root registry package, which would start an
// OpenTelemetry exporter aimed at localhost.
package regtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The storage driver and auth method the registry is configured with.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// Registry is a running test registry.
type Registry struct {
	// URL is "https://127.0.0.1:PORT".
	URL string
	// Host is "127.0.0.1:PORT", as image references and helpers name it.
	Host string
	// User and Pass are the one account the registry accepts.
	User, Pass string
	// CAPEM is the test CA's certificate; CAFile holds it (for
	// SSL_CERT_FILE in child processes); CertPool trusts it.
	CAPEM    []byte
	CAFile   string
	CertPool *x509.CertPool
	// Transport trusts the test CA and nothing else.
	Transport *http.Transport

	// TokenRequests counts requests to the Bearer variant's token
	// endpoint that carried valid credentials.
	mu            sync.Mutex
	tokenRequests int
}

// TokenRequests reports how many tokens the Bearer variant issued.
func (r *Registry) TokenRequests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokenRequests
}

// Start runs a registry that asks for HTTP Basic credentials (htpasswd,
// bcrypt.MinCost because the race detector makes bcrypt about 12x slower).
func Start(t testing.TB) *Registry {
	t.Helper()
	r := newRegistry(t)
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(htpasswd, []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := newApp(t, configuration.Auth{"htpasswd": {"realm": "regtest", "path": htpasswd}})
	r.serve(t, app)
	return r
}

// StartBearer runs a registry that answers with a Bearer challenge: a
// token endpoint on the same server at /token takes the Basic credentials
// and hands out a random token, which the registry then requires, as
// Docker Hub and most hosted registries do.
func StartBearer(t testing.TB) *Registry {
	t.Helper()
	r := newRegistry(t)
	app := newApp(t, nil)
	var (
		mu     sync.Mutex
		tokens = map[string]bool{}
	)
	var realm string // set once the server's URL is known
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/token" {
			u, p, ok := req.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(r.User)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(r.Pass)) != 1 {
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
				return
			}
			tok := randomHex(t, 16)
			mu.Lock()
			tokens[tok] = true
			mu.Unlock()
			r.mu.Lock()
			r.tokenRequests++
			r.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
			return
		}
		tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		valid := ok && tokens[tok]
		mu.Unlock()
		if !valid {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="regtest"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		app.ServeHTTP(w, req)
	})
	r.serve(t, h)
	realm = r.URL + "/token"
	return r
}

func newRegistry(t testing.TB) *Registry {
	return &Registry{User: "regtest", Pass: "pw-" + randomHex(t, 8)}
}

func newApp(t testing.TB, auth configuration.Auth) *handlers.App {
	// distribution logs through logrus's standard logger; keep test output
	// to what matters.
	logrus.SetLevel(logrus.ErrorLevel)
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{"inmemory": configuration.Parameters{}},
		Auth:    auth,
	}
	cfg.HTTP.Secret = randomHex(t, 16)
	cfg.Log.AccessLog.Disabled = true
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	t.Cleanup(func() {
		_ = app.Shutdown()
		cancel()
	})
	return app
}

// serve starts h behind TLS with a certificate from a fresh test CA.
func (r *Registry) serve(t testing.TB, h http.Handler) {
	t.Helper()
	caCert, leaf := makeCerts(t)
	r.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	r.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(r.CAFile, r.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	r.CertPool = x509.NewCertPool()
	r.CertPool.AddCert(caCert)
	srv := httptest.NewUnstartedServer(h)
	// Handshakes refused on purpose (tests of TLS verification) are not
	// worth a log line.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.Host = u.Host
	r.Transport = &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: r.CertPool, MinVersion: tls.VersionTLS12},
		Proxy:           nil,
	}
	t.Cleanup(r.Transport.CloseIdleConnections)
}

// makeCerts makes a CA and a server certificate for 127.0.0.1, ::1 and
// localhost signed by it.
func makeCerts(t testing.TB) (*x509.Certificate, tls.Certificate) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "regtest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "regtest"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return caCert, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// PushRandomImage pushes a small random image (one 1 KiB layer) to
// repo:latest with the registry's own credentials and returns its
// reference.
func (r *Registry) PushRandomImage(t testing.TB, repo string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.Host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	auth := &authn.Basic{Username: r.User, Password: r.Pass}
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(r.Transport)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}
