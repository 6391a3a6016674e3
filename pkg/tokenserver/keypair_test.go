package tokenserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestKeyPairTokensVerifiedByGoOIDC: with a key pair the daemon verifies
// bearer tokens with go-oidc (SPEC 8), so it accepts exactly what other
// services' go-oidc verifiers accept; forged, altered and stale tokens are
// a plain 401, and the refusal logged is go-oidc's.
func TestKeyPairTokensVerifiedByGoOIDC(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		alg      jose.SignatureAlgorithm
		key      any
		otherAlg jose.SignatureAlgorithm
		otherKey any
	}{
		{jose.RS256, rsaKey, jose.ES256, ecKey},
		{jose.ES256, ecKey, jose.ES256, otherEC},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			var logs syncBuffer
			var key SigningKey
			switch k := tc.key.(type) {
			case *rsa.PrivateKey:
				key.Private = k
			case *ecdsa.PrivateKey:
				key.Private = k
			}
			e := newEnv(t, Config{OAuthEnabled: true, Key: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			e.mkUser("team1", "alice", "alicepw1")
			good := e.token("alice", "alicepw1")
			wantStatus(t, "good token", e.do("GET", "/v1/user", "Bearer "+good, ""), 200)
			// Again: served from the verified-token cache.
			wantStatus(t, "good token again", e.do("GET", "/v1/user", "Bearer "+good, ""), 200)
			claims := claimsOf(t, good)
			with := func(k string, v any) map[string]any {
				m := map[string]any{}
				for k2, v2 := range claims {
					m[k2] = v2
				}
				m[k] = v
				return m
			}
			parts := strings.Split(good, ".")
			other := signRaw(t, jose.ES256, otherEC, claims)
			for _, bad := range []struct{ name, tok string }{
				{"wrong iss", signRaw(t, tc.alg, tc.key, with("iss", "someone"))},
				{"expired", signRaw(t, tc.alg, tc.key, with("exp", e.now.Add(-time.Second).Unix()))},
				{"other generation", signRaw(t, tc.alg, tc.key, with(GenerationClaim, 99))},
				{"other key or algorithm", signRaw(t, tc.otherAlg, tc.otherKey, claims)},
				{"another signature on this payload", parts[0] + "." + parts[1] + "." + strings.Split(other, ".")[2]},
				{"alg none", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."},
			} {
				wantUnauthorized(t, bad.name, e.do("GET", "/v1/user", "Bearer "+bad.tok, ""))
			}
			if got := logs.String(); !strings.Contains(got, "oidc: id token issued by a different provider") {
				t.Errorf("log lacks go-oidc's issuer refusal:\n%s", got)
			}
		})
	}
}

// TestFailedLoginLog: a failed login logs the user name only when it names
// an existing user; a password pasted into the name field stays out of
// the log (Basic and the token endpoint alike).
func TestFailedLoginLog(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, Config{OAuthEnabled: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	e.mkUser("team1", "alice", "alicepw1")
	const pasted = "Pasted-Secret-9f3b"
	wantUnauthorized(t, "unknown user", e.do("GET", "/v1/user", pasted+":x", ""))
	wantUnauthorized(t, "wrong password", e.do("GET", "/v1/user", "alice:wrongpw1", ""))
	r := e.form(url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {pasted}, "password": {"x"}})
	wantStatus(t, "token for an unknown user", r, 400)
	got := logs.String()
	if strings.Contains(got, pasted) {
		t.Errorf("log contains the unknown user name:\n%s", got)
	}
	if n := strings.Count(got, "user_unknown=true"); n != 2 {
		t.Errorf("log has %d user_unknown=true, want 2:\n%s", n, got)
	}
	if !strings.Contains(got, "user=alice") {
		t.Errorf("log lacks user=alice for alice's wrong password:\n%s", got)
	}
}
