package vault

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
)

// testPass is the passphrase of test vaults; testFactor their scrypt cost
// (the race detector makes scrypt about 7x slower).
const (
	testPass   = "correct horse battery staple"
	testFactor = MinWorkFactor
)

var testTime = time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)

// newVaultPath returns a vault path inside a fresh 0700 directory.
func newVaultPath(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "anchore")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "vault")
}

// fullDocument has one record of every kind, every field set.
func fullDocument() *Document {
	d := NewDocument()
	d.Accounts["admin"] = &Account{Name: "admin", Email: "admin@myanchore", Type: "admin", State: "enabled", CreatedAt: testTime, LastUpdated: testTime}
	d.Users["admin"] = &User{Username: "admin", Account: "admin", UUID: "2f0c2b43-6f0e-4d1b-9a57-0d8b8c1f5e11", Type: "native", Source: "anchore",
		Password: "foobar", PasswordHash: "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA", Generation: 3, CreatedAt: testTime, LastUpdated: testTime}
	d.AccountRegistries("admin")["docker.io"] = &Registry{Registry: "docker.io", Name: "docker.io", Type: "docker_v2", User: "alice", Pass: "hunter2",
		Verify: true, ServerURL: "https://index.docker.io/v1/", CreatedAt: testTime, LastUpdated: testTime}
	d.ECRTokens["admin|123456789012.dkr.ecr.us-east-1.amazonaws.com|AKIAEXAMPLE"] = &ECRToken{Key: "admin|123456789012.dkr.ecr.us-east-1.amazonaws.com|AKIAEXAMPLE",
		Username: "AWS", Password: "ecr-token", ProxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", RequestedAt: testTime, ExpiresAt: testTime.Add(12 * time.Hour)}
	d.SigningSecret = "c2lnbmluZy1zZWNyZXQtMzItYnl0ZXMtbG9uZy4uLi4"
	d.Version = SigningKeysVersion
	d.SigningKeys = map[string]*SigningKey{"hs-3q2-7wAAAAAAAAAAAAAAAA": {KID: "hs-3q2-7wAAAAAAAAAAAAAAAA", Alg: "HS256",
		Private: []byte("a-32-byte-secret-for-the-example"), CreatedAt: testTime, VerifyUntil: testTime.Add(65 * time.Minute)}}
	return d
}

// mustCreate makes a vault at path holding doc, at the test work factor.
func mustCreate(t testing.TB, path string, doc *Document, opts ...Option) *Vault {
	t.Helper()
	v, err := Create(context.Background(), path, testPass, doc, append([]Option{WithWorkFactor(testFactor)}, opts...)...)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return v
}

// sealRaw encrypts plain for pass with age directly, as another program (or
// a hostile one) would, and writes it to path with mode 0600.
func sealRaw(t testing.TB, path string, plain []byte, pass string, logN int) []byte {
	t.Helper()
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(logN)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
	return buf.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decryptRaw decrypts the file at path with the age library and the
// passphrase alone, as a user recovering secrets would.
func decryptRaw(t testing.TB, path, pass string) []byte {
	t.Helper()
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	return out.Bytes()
}

// kdfCounter counts scrypt derivations through withKDFHook.
type kdfCounter struct{ n atomic.Int64 }

func (c *kdfCounter) option() Option { return withKDFHook(func() { c.n.Add(1) }) }
func (c *kdfCounter) take() int64    { return c.n.Swap(0) }
