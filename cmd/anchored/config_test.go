package main

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
			_, errs := validate(cfg, config.Paths{Socket: tc.socket})
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

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"anchored", "--version"}, 0, "anchored version", ""},
		{[]string{"anchored", "--help"}, 0, "--passphrase-file", ""},
		{[]string{"anchored", "--bogus"}, 2, "", "anchored: flag provided but not defined: -bogus (see 'anchored --help')\n"},
		{[]string{"anchored", "extra"}, 2, "", `anchored: unexpected argument "extra"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb strings.Builder
			code := run(t.Context(), tc.args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.inStdout) || !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d with %q / %q", code, out.String(), errb.String(), tc.code, tc.inStdout, tc.inStderr)
			}
			// A usage error is one line, not the help text (SPEC section 4).
			if code != 0 && (strings.Count(errb.String(), "\n") != 1 || out.Len() != 0) {
				t.Errorf("usage error printed stdout %q, stderr %q; want one stderr line", out.String(), errb.String())
			}
		})
	}
}

func TestEnvProblemsOneLineEach(t *testing.T) {
	env := map[string]string{"ANCHORE_OAUTH_ENABLED": "maybe", "ANCHORE_OAUTH_TOKEN_EXPIRATION": "soon", "HOME": t.TempDir()}
	var out, errb strings.Builder
	code := run(t.Context(), []string{"anchored", "--config", filepath.Join(t.TempDir(), "none.yaml")}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
	if code != 2 || len(lines) != 2 || !strings.Contains(lines[0], "ANCHORE_OAUTH_ENABLED") || !strings.Contains(lines[1], "ANCHORE_OAUTH_TOKEN_EXPIRATION") {
		t.Errorf("exit %d, stderr %q; want 2 and one line per bad variable", code, errb.String())
	}
}
