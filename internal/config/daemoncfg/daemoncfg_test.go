package daemoncfg

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/config"
)

// writeKeys writes an EC key pair; with mismatch the public key is of
// another key.
func writeKeys(t *testing.T, dir string, mismatch bool) (pub, priv string) {
	t.Helper()
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pk := k1
	if mismatch {
		pk = k2
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(k1)
	pubDER, _ := x509.MarshalPKIXPublicKey(&pk.PublicKey)
	pub, priv = filepath.Join(dir, "public.pem"), filepath.Join(dir, "private.pem")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
	return pub, priv
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	goodPub, goodPriv := writeKeys(t, dir, false)
	badDir := t.TempDir()
	badPub, badPriv := writeKeys(t, badDir, true)
	open := t.TempDir()
	os.Chmod(open, os.ModeSticky|0o777)
	sock := filepath.Join(dir, "anchored.sock")

	for _, tc := range []struct {
		name   string
		edit   func(*config.File)
		socket string
		want   []string
	}{
		{"defaults", func(*config.File) {}, sock, nil},
		{"hashed without oauth", func(c *config.File) { c.UserAuthentication.HashedPassword = true }, sock,
			[]string{"user_authentication.hashed_passwords requires user_authentication.oauth.enabled: true"}},
		{"good key pair", func(c *config.File) { c.Keys.PublicKeyPath, c.Keys.PrivateKeyPath = goodPub, goodPriv }, sock, nil},
		{"key pair that does not match", func(c *config.File) { c.Keys.PublicKeyPath, c.Keys.PrivateKeyPath = badPub, badPriv }, sock,
			[]string{"keys: " + badPub + " and " + badPriv + ": public key does not match private key"}},
		{"half a key pair", func(c *config.File) { c.Keys.PublicKeyPath = goodPub }, sock,
			[]string{"keys.public_key_path and keys.private_key_path must be set together"}},
		{"http not on loopback", func(c *config.File) { c.Listen.HTTP = "0.0.0.0:8228" }, sock,
			[]string{`listen.http "0.0.0.0:8228": plain http is accepted only on loopback addresses; use listen.https`}},
		{"http on localhost", func(c *config.File) { c.Listen.HTTP = "localhost:8228" }, sock, nil},
		{"https without cert", func(c *config.File) { c.Listen.HTTPS = ":8443" }, sock,
			[]string{"listen.https needs listen.tls_cert and listen.tls_key"}},
		{"socket directory writable by others", func(*config.File) {}, filepath.Join(open, "a.sock"),
			[]string{"socket " + filepath.Join(open, "a.sock") + ": socket directory is writable by others: " + open + " has mode 1777"}},
		{"everything at once", func(c *config.File) {
			c.UserAuthentication.HashedPassword = true
			c.Listen.HTTP = "192.0.2.1:80"
			c.Listen.HTTPS = ":8443"
		}, sock, []string{
			"user_authentication.hashed_passwords requires user_authentication.oauth.enabled: true",
			`listen.http "192.0.2.1:80": plain http is accepted only on loopback addresses; use listen.https`,
			"listen.https needs listen.tls_cert and listen.tls_key",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults()
			tc.edit(&cfg)
			_, errs := Validate(cfg, config.Paths{Socket: tc.socket})
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("validate:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
