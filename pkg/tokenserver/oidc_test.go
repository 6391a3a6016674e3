package tokenserver

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

func TestOAuth2Client(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true})
	conf := &oauth2.Config{ClientID: "anonymous", Endpoint: oauth2.Endpoint{TokenURL: e.ts.URL + "/v1/oauth/token"}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.ts.Client())
	tok, err := conf.PasswordCredentialsToken(ctx, "admin", "foobar")
	if err != nil {
		t.Fatalf("PasswordCredentialsToken: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Errorf("token = %+v, want a Bearer token with an expiry", tok)
	}
	res, err := conf.Client(ctx, tok).Get(e.ts.URL + "/v1/account")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /v1/account with the oauth2 client: %d", res.StatusCode)
	}
	_, err = conf.PasswordCredentialsToken(ctx, "admin", "wrong")
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("wrong password: %v, want a RetrieveError with invalid_grant", err)
	}
}

// TestOIDCVerifier: go-oidc, configured from the discovery document alone,
// accepts the daemon's RS256 and ES256 tokens and rejects a forged one.
func TestOIDCVerifier(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecForger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		alg            string
		key, forgerKey crypto.Signer
	}{
		{"RS256", rsaKey, nil},
		{"ES256", ecKey, ecForger},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			// The issuer is the API's URL (discovery is built from it
			// alone); the client reaches it at the test server.
			const issuer = "http://anchored.test/v1"
			e := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Private: tc.key}, Issuer: issuer})
			ctx := oidc.ClientContext(context.Background(), toServer(e))
			p, err := oidc.NewProvider(ctx, issuer)
			if err != nil {
				t.Fatalf("NewProvider: %v", err)
			}
			v := p.Verifier(&oidc.Config{SkipClientIDCheck: true})
			tok := e.token("admin", "foobar")
			if h := claimsOfPart(t, tok, 0); h["alg"] != tc.alg || h["typ"] != "JWT" {
				t.Errorf("token header = %v, want alg %s typ JWT", h, tc.alg)
			}
			idt, err := v.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("Verify(daemon's %s token): %v", tc.alg, err)
			}
			admin, _ := e.srv.store.GetUser(ctx, "admin")
			if idt.Subject != admin.UUID || idt.Issuer != issuer {
				t.Errorf("verified sub %q iss %q, want %q %s", idt.Subject, idt.Issuer, admin.UUID, issuer)
			}
			// A forged token: same claims, signed by another key.
			forger := tc.forgerKey
			if forger == nil {
				forger, _ = rsa.GenerateKey(rand.Reader, 2048)
			}
			forged := signRaw(t, jose.SignatureAlgorithm(tc.alg), forger, claimsOf(t, tok))
			if _, err := v.Verify(ctx, forged); err == nil {
				t.Error("go-oidc accepted a token signed by another key")
			}
			wantUnauthorized(t, "forged token", e.do("GET", "/v1/user", "Bearer "+forged, ""))
		})
	}
}

// claimsOf decodes a token's payload without verifying it.
func claimsOf(t *testing.T, tok string) map[string]any { return claimsOfPart(t, tok, 1) }

func claimsOfPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// signRaw signs claims with key and no kid header.
func signRaw(t *testing.T, alg jose.SignatureAlgorithm, key any, claims map[string]any) string {
	t.Helper()
	return signWithKID(t, alg, key, "", claims)
}

// TestJWTAttacks: each forged, altered or stale token is a plain 401.
func TestJWTAttacks(t *testing.T) {
	secret := []byte(strings.Repeat("0123456789abcdef", 4)) // 64 bytes, so HS512 can be tried
	e := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Secret: secret}})
	e.mkUser("team1", "alice", "alicepw1")
	e.mkUser("team1", "bob", "bobpass1")
	good := e.token("alice", "alicepw1")
	wantStatus(t, "good token", e.do("GET", "/v1/user", "Bearer "+good, ""), 200)
	claims := claimsOf(t, good)
	for _, k := range []string{"iss", "sub", "iat", "exp", "jti", GenerationClaim} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claims %v lack %q", claims, k)
		}
	}
	if _, ok := claims["aud"]; ok || claims["iss"] != "anchore-engine" {
		t.Errorf("claims %v: want iss anchore-engine and no aud", claims)
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k2, v2 := range claims {
			m[k2] = v2
		}
		m[k] = v
		return m
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	parts := strings.Split(good, ".")

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaEnv := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Private: rsaKey}})
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rsaClaims := claimsOf(t, rsaEnv.token("admin", "foobar"))

	bobTok := e.token("bob", "bobpass1")
	wantStatus(t, "delete bob", e.do("DELETE", "/v1/accounts/team1/users/bob", "admin:foobar", ""), 204)
	stale := e.token("alice", "alicepw1")
	wantStatus(t, "change alice's password", e.do("POST", "/v1/user/credentials", "alice:alicepw1", `{"type":"password","value":"alicepw2"}`), 200)

	for _, tc := range []struct {
		name string
		env  *testEnv
		tok  string
	}{
		{"alg none", e, enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + "."},
		{"HS256 with the RSA public key as secret", rsaEnv, signRaw(t, jose.HS256, pubPEM, rsaClaims)},
		{"HS512 with the right secret", e, signRaw(t, jose.HS512, secret, claims)},
		{"changed payload", e, parts[0] + "." + enc(with("sub", "someone-else")) + "." + parts[2]},
		{"expired", e, signRaw(t, jose.HS256, secret, with("exp", time.Now().Add(-time.Second).Unix()))},
		{"no exp", e, signRaw(t, jose.HS256, secret, func() map[string]any { m := with("x", 1); delete(m, "exp"); return m }())},
		{"wrong iss", e, signRaw(t, jose.HS256, secret, with("iss", "someone"))},
		{"other generation", e, signRaw(t, jose.HS256, secret, with(GenerationClaim, 99))},
		{"deleted user", e, bobTok},
		{"before a password change", e, stale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantUnauthorized(t, tc.name, tc.env.do("GET", "/v1/user", "Bearer "+tc.tok, ""))
		})
	}
	// A re-created user with the same name gets a new uuid.
	e.mkUser("team1", "bob", "bobpass1")
	wantUnauthorized(t, "token of a re-created user", e.do("GET", "/v1/user", "Bearer "+bobTok, ""))
}

func TestDiscoveryDocument(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Private: key}, Issuer: "https://auth.example.com/v1"})
	r := e.do("GET", "/.well-known/openid-configuration", "", "")
	var doc map[string]any
	r.json(t, &doc)
	if doc["issuer"] != "https://auth.example.com/v1" || doc["jwks_uri"] != "https://auth.example.com/v1/oauth/jwks" {
		t.Errorf("discovery = %v", doc)
	}
	algs, _ := doc["id_token_signing_alg_values_supported"].([]any)
	if len(algs) != 1 || algs[0] != "ES256" {
		t.Errorf("algs = %v, want [ES256]", algs)
	}
	r = e.do("GET", "/v1/oauth/jwks", "", "")
	var set jose.JSONWebKeySet
	r.json(t, &set)
	if len(set.Keys) != 1 || !set.Keys[0].IsPublic() || set.Keys[0].KeyID == "" {
		t.Errorf("jwks = %s, want one public key with a kid", r.body)
	}
	if r.code != http.StatusOK {
		t.Errorf("jwks status %d", r.code)
	}
}
