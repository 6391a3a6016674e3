package tokenserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// toServer is an HTTP client that sends every request to e's server,
// whatever the URL's host (an issuer URL that is not the test server's).
func toServer(e *testEnv) *http.Client {
	addr := e.ts.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}}
}

// getWithHost sends GET path to e's server with the Host header host.
func getWithHost(t *testing.T, e *testEnv, path, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	req.Host = host
	res, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The discovery document comes from the configured issuer alone: a Host
// header never reaches it, and an issuer that is not a URL has none.
func TestDiscoveryIgnoresHost(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		issuer   string
		wantCode int
		want     string
	}{
		{"https://auth.example.com/v1", 200, `"jwks_uri": "https://auth.example.com/v1/oauth/jwks"`},
		{"https://auth.example.com/v1/", 200, `"jwks_uri": "https://auth.example.com/v1/oauth/jwks"`},
		{"anchore-engine", 404, "issuer is not an http(s) URL"},
	} {
		e := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Private: key}, Issuer: tc.issuer})
		code, body := getWithHost(t, e, "/.well-known/openid-configuration", "evil.example:666")
		if code != tc.wantCode || !strings.Contains(body, tc.want) || strings.Contains(body, "evil.example") {
			t.Errorf("issuer %q, Host evil.example: %d %s; want %d with %s and no trace of the Host", tc.issuer, code, body, tc.wantCode, tc.want)
		}
	}
}

var p256N = elliptic.P256().Params().N

// sigS returns the S of an ES256 token.
func sigS(t *testing.T, tok string) *big.Int {
	t.Helper()
	sig, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature of %q: %v", tok, err)
	}
	return new(big.Int).SetBytes(sig[32:])
}

// withSig replaces an ES256 token's S.
func withS(t *testing.T, tok string, s *big.Int) string {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	s.FillBytes(sig[32:])
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// ES256 tokens are signed low-S, and a high-S twin of a good token (which
// the curve verifies as well) is refused: a token has one string.
func TestES256LowSOnly(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Private: key}})
	half := new(big.Int).Rsh(p256N, 1)
	var good string
	for i := range 16 { // a random S is high half the time
		tok := e.token("admin", "foobar")
		if sigS(t, tok).Cmp(half) > 0 {
			t.Fatalf("token %d has a high S", i)
		}
		good = tok
	}
	wantStatus(t, "good token", e.do("GET", "/v1/user", "Bearer "+good, ""), 200)
	twin := withS(t, good, new(big.Int).Sub(p256N, sigS(t, good)))
	wantUnauthorized(t, "high-S twin of a good token", e.do("GET", "/v1/user", "Bearer "+twin, ""))
}

// A spare bit set in the last base64url character decodes to the same
// signature; such a string is refused, for every algorithm.
func TestTokenStringCanonical(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, key := range []SigningKey{{Secret: []byte("0123456789abcdef0123456789abcdef")}, {Private: rsaKey}, {Private: ecKey}} {
		e := newEnv(t, Config{OAuthEnabled: true, Key: key})
		good := e.token("admin", "foobar")
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, good[len(good)-1])
		twin := good[:len(good)-1] + string(alphabet[last|1])
		if twin == good {
			twin = good[:len(good)-1] + string(alphabet[last|2])
		}
		wantStatus(t, string(key.Algorithm())+" good token", e.do("GET", "/v1/user", "Bearer "+good, ""), 200)
		wantUnauthorized(t, string(key.Algorithm())+" token with a spare bit set", e.do("GET", "/v1/user", "Bearer "+twin, ""))
	}
}

// aud, when a token has one, must name this issuer.
func TestAudience(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	e := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Private: key}})
	claims := claimsOf(t, e.token("admin", "foobar"))
	for _, tc := range []struct {
		name string
		aud  any
		ok   bool
	}{
		{"no aud", nil, true},
		{"this issuer", "anchore-engine", true},
		{"this issuer among others", []string{"other-service", "anchore-engine"}, true},
		{"another audience", "other-service", false},
		{"several others", []string{"a", "b"}, false},
	} {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		if tc.aud != nil {
			c["aud"] = tc.aud
		}
		tok := signRaw(t, jose.RS256, key, c)
		r := e.do("GET", "/v1/user", "Bearer "+tok, "")
		if tc.ok {
			wantStatus(t, tc.name, r, 200)
		} else {
			wantUnauthorized(t, tc.name, r)
		}
	}
}

// With hashing on, a password still stored in clear costs a hash like any
// other (timing does not tell how it is stored), and the first successful
// login rehashes it to scrypt, keeping the credential generation.
func TestClearPasswordTimingAndRehash(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true, HashedPasswords: true})
	ctx := context.Background()
	if err := e.srv.store.UpdateUser(ctx, "admin", func(u User) (User, error) {
		u.Password, u.PasswordHash = "clear-pass", ""
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.srv.store.GetUser(ctx, "admin")
	v0 := e.hasher.Verifies()
	wantUnauthorized(t, "wrong password of a clear-stored user", e.do("GET", "/v1/user", "admin:wrong-pass", ""))
	if n := e.hasher.Verifies() - v0; n != 1 {
		t.Errorf("a wrong password of a clear-stored user ran %d hashes, want 1 (as a hashed user's)", n)
	}
	tok := e.token("admin", "clear-pass") // a token issued before the rehash
	after, _ := e.srv.store.GetUser(ctx, "admin")
	if after.Password != "" || !strings.HasPrefix(after.PasswordHash, "$scrypt$") || after.Generation != before.Generation {
		t.Errorf("after the login: clear %q hash %q generation %d; want no clear password, an scrypt hash, generation %d",
			after.Password, after.PasswordHash, after.Generation, before.Generation)
	}
	// The rehash writes the password and nothing else of the user.
	same := after
	same.Password, same.PasswordHash = before.Password, before.PasswordHash
	if same.Username != before.Username || same.Account != before.Account || same.UUID != before.UUID ||
		same.Type != before.Type || same.Source != before.Source || !same.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("the rehash changed more than the password: before %+v, after %+v", before, after)
	}
	wantStatus(t, "the password after the rehash", e.do("GET", "/v1/user", "admin:clear-pass", ""), 200)
	wantStatus(t, "a token from before the rehash", e.do("GET", "/v1/user", "Bearer "+tok, ""), 200)
	wantUnauthorized(t, "a wrong password after the rehash", e.do("GET", "/v1/user", "admin:wrong-pass", ""))
}

// Private key and secret files that others may read are refused as the
// vault is.
func TestReadKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, false}, {0o644, false}, {0o606, false}} {
		p := filepath.Join(dir, "key-"+tc.mode.String())
		os.WriteFile(p, []byte("secret-key-bytes"), 0o600)
		os.Chmod(p, tc.mode)
		b, err := ReadKeyFile(p)
		if tc.ok != (err == nil) {
			t.Errorf("mode %04o: %v; want ok %v", tc.mode, err, tc.ok)
		}
		if tc.ok && string(b) != "secret-key-bytes" {
			t.Errorf("mode %04o: read %q", tc.mode, b)
		}
		if !tc.ok && (!errors.Is(err, ErrKeyPermissions) || !strings.Contains(err.Error(), "(chmod 600 "+p+")") || strings.Contains(err.Error(), "secret-key-bytes")) {
			t.Errorf("mode %04o: %v; want ErrKeyPermissions with the chmod 600 hint, no content", tc.mode, err)
		}
	}
}
