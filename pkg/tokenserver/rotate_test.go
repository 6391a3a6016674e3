package tokenserver

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/anchored/anchored/pkg/vault"
)

// kidOf is a token's kid header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	kid, _ := claimsOfPart(t, tok, 0)["kid"].(string)
	return kid
}

// rotate rotates through the API as admin and returns the answer.
func (e *testEnv) rotate() keysResponse {
	e.t.Helper()
	r := e.do("POST", "/v1/keys/rotate", "admin:foobar", "")
	if r.code != 200 {
		e.t.Fatalf("rotate: %d %s", r.code, r.body)
	}
	var kr keysResponse
	r.json(e.t, &kr)
	return kr
}

func (e *testEnv) storedKeys() []KeyRecord {
	e.t.Helper()
	keys, err := e.srv.store.SigningKeys(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// TestRotateKeyPair: ES256 keys generated in the store. A token signed
// before the rotation verifies (through the API, and through go-oidc from
// the discovery document and JWKS) until it expires; one signed after
// carries the new kid; once the old key is removed, its tokens are 401.
func TestRotateKeyPair(t *testing.T) {
	const issuer = "http://anchored.test/v1"
	e := newEnv(t, Config{OAuthEnabled: true, KeyAlgorithm: "ES256", Issuer: issuer})
	e.mkUser("team1", "alice", "alicepw1")
	ctx := oidc.ClientContext(context.Background(), toServer(e))
	before := e.token("alice", "alicepw1")
	kid1 := kidOf(t, before)
	if h := claimsOfPart(t, before, 0); h["alg"] != "ES256" || kid1 == "" {
		t.Fatalf("token header %v, want ES256 with a kid", h)
	}

	wantStatus(t, "rotate as a user", e.do("POST", "/v1/keys/rotate", "alice:alicepw1", ""), 403)
	wantStatus(t, "list as a user", e.do("GET", "/v1/keys", "alice:alicepw1", ""), 403)
	if keys := e.storedKeys(); len(keys) != 1 {
		t.Fatalf("a refused rotation changed the keys: %+v", keys)
	}
	kr := e.rotate()
	if kr.Source != "store" || len(kr.Keys) != 2 || !kr.Keys[0].Signs || kr.Keys[1].KID != kid1 || kr.Keys[1].Signs ||
		kr.Keys[1].VerifyUntil == nil || !kr.Keys[1].VerifyUntil.Equal(e.now.Add(time.Hour+keepMargin)) {
		t.Fatalf("rotate answered %+v", kr)
	}
	for _, k := range e.storedKeys() { // the answer never holds a private key
		if r := e.do("GET", "/v1/keys", "admin:foobar", ""); strings.Contains(r.body, base64.StdEncoding.EncodeToString(k.Private)) {
			t.Errorf("GET /v1/keys shows a private key")
		}
	}
	after := e.token("alice", "alicepw1")
	kid2 := kidOf(t, after)
	if kid2 == "" || kid2 == kid1 || kid2 != kr.Keys[0].KID {
		t.Errorf("token after the rotation has kid %q, want the new key's %q", kid2, kr.Keys[0].KID)
	}
	wantStatus(t, "token from before the rotation", e.do("GET", "/v1/user", "Bearer "+before, ""), 200)
	wantStatus(t, "token from after the rotation", e.do("GET", "/v1/user", "Bearer "+after, ""), 200)

	// go-oidc, from discovery and JWKS alone: both keys are published.
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	v := p.Verifier(&oidc.Config{SkipClientIDCheck: true})
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("go-oidc refuses the token from %s the rotation: %v", name, err)
		}
	}
	var set jose.JSONWebKeySet
	e.do("GET", "/v1/oauth/jwks", "", "").json(t, &set)
	if len(set.Keys) != 2 || set.Keys[0].KeyID != kid2 || set.Keys[1].KeyID != kid1 || !set.Keys[1].IsPublic() {
		t.Errorf("jwks after the rotation = %+v, want the new key and the old", set.Keys)
	}

	// A token with the old kid that expires after the old key's time:
	// accepted while the key verifies, 401 once a rotation removed it.
	var old KeyRecord
	for _, k := range e.storedKeys() {
		if k.KID == kid1 {
			old = k
		}
	}
	priv, err := x509.ParsePKCS8PrivateKey(old.Private)
	if err != nil {
		t.Fatal(err)
	}
	long := claimsOf(t, before)
	long["exp"] = e.now.Add(24 * time.Hour).Unix()
	longTok := signWithKID(t, jose.ES256, priv, kid1, long)
	wantStatus(t, "old key's long token, key still verifying", e.do("GET", "/v1/user", "Bearer "+longTok, ""), 200)
	e.now = e.now.Add(time.Hour + time.Second)
	wantUnauthorized(t, "the token from before, expired", e.do("GET", "/v1/user", "Bearer "+before, ""))
	e.now = e.now.Add(keepMargin)
	e.rotate() // removes the first key, retires the second
	if keys := e.storedKeys(); len(keys) != 2 || keys[1].KID != kid2 {
		t.Fatalf("after the second rotation: %+v, want the third key and the second", keys)
	}
	wantUnauthorized(t, "a removed key's token", e.do("GET", "/v1/user", "Bearer "+longTok, ""))
	wantStatus(t, "a token of the newest key", e.do("GET", "/v1/user", "Bearer "+e.token("alice", "alicepw1"), ""), 200)
	set = jose.JSONWebKeySet{}
	e.do("GET", "/v1/oauth/jwks", "", "").json(t, &set)
	for _, k := range set.Keys {
		if k.KeyID == kid1 {
			t.Errorf("jwks still publishes the removed key")
		}
	}
}

// signWithKID signs claims with key under kid (no kid header when kid is
// ""), as the daemon does.
func signWithKID(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		key = jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(alg)}
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if alg == jose.ES256 {
		// The one canonical string of the signature, as the daemon signs
		// (a high S is refused before any other check).
		if tok, err = lowS(tok); err != nil {
			t.Fatal(err)
		}
	}
	return tok
}

// TestRotateSharedSecret: generated HS256 secrets rotate. The old token
// verifies; the new one is signed with the new secret (and not the old);
// JWKS publishes no secret.
func TestRotateSharedSecret(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true})
	before := e.token("admin", "foobar")
	oldKeys := e.storedKeys()
	if len(oldKeys) != 1 || oldKeys[0].Alg != "HS256" || kidOf(t, before) != oldKeys[0].KID || oldKeys[0].KID != secretKID(oldKeys[0].Private) {
		t.Fatalf("before: keys %+v, token kid %q", oldKeys, kidOf(t, before))
	}
	e.rotate()
	after := e.token("admin", "foobar")
	keys := e.storedKeys()
	if len(keys) != 2 || keys[0].Alg != "HS256" || kidOf(t, after) != keys[0].KID || bytes.Equal(keys[0].Private, oldKeys[0].Private) {
		t.Fatalf("after: keys %d, token kid %q", len(keys), kidOf(t, after))
	}
	tok, err := jwt.ParseSigned(after, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := tok.Claims(oldKeys[0].Private, &c); err == nil {
		t.Error("the new token verifies with the old secret")
	}
	if err := tok.Claims(keys[0].Private, &c); err != nil {
		t.Errorf("the new token does not verify with the new secret: %v", err)
	}
	wantStatus(t, "old token", e.do("GET", "/v1/user", "Bearer "+before, ""), 200)
	wantStatus(t, "new token", e.do("GET", "/v1/user", "Bearer "+after, ""), 200)
	wantStatus(t, "jwks of secrets", e.do("GET", "/v1/oauth/jwks", "", ""), 404)
}

// TestRotateAcrossServers: two servers on one vault file. A rotation
// through A is used by B: B accepts A's new tokens (an unknown kid makes
// it reload) and B's own new tokens carry the new kid.
func TestRotateAcrossServers(t *testing.T) {
	a := newEnv(t, Config{OAuthEnabled: true, KeyAlgorithm: "ES256", KeyRefresh: time.Hour})
	vb, err := vault.Open(context.Background(), a.vault.Path(), "test passphrase")
	if err != nil {
		t.Fatal(err)
	}
	b := newEnvOn(t, Config{OAuthEnabled: true, KeyAlgorithm: "ES256", KeyRefresh: time.Hour}, vb)
	fromA := a.token("admin", "foobar")
	fromB := b.token("admin", "foobar")
	if kidOf(t, fromA) != kidOf(t, fromB) {
		t.Fatalf("two servers on one vault sign with kids %q and %q", kidOf(t, fromA), kidOf(t, fromB))
	}
	newKID := a.rotate().Keys[0].KID
	newFromA := a.token("admin", "foobar")
	wantStatus(t, "B, A's token after the rotation", b.do("GET", "/v1/user", "Bearer "+newFromA, ""), 200)
	wantStatus(t, "B, A's token before the rotation", b.do("GET", "/v1/user", "Bearer "+fromA, ""), 200)
	if got := kidOf(t, b.token("admin", "foobar")); got != newKID {
		t.Errorf("B signs with kid %q after A's rotation, want %q", got, newKID)
	}

	// A third server that hears of no change (a store without the
	// notifier) picks the rotation up on its interval.
	vc, err := vault.Open(context.Background(), a.vault.Path(), "test passphrase")
	if err != nil {
		t.Fatal(err)
	}
	c := newEnvOnStore(t, Config{OAuthEnabled: true, KeyAlgorithm: "ES256", KeyRefresh: 10 * time.Millisecond}, quietStore{Store: NewVaultStore(vc)})
	newest := a.rotate().Keys[0].KID
	deadline := time.Now().Add(20 * time.Second)
	for c.srv.tokens.ring.Load().signing.kid != newest {
		if time.Now().After(deadline) {
			t.Fatal("the interval reload never picked up the rotation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := kidOf(t, c.token("admin", "foobar")); got != newest {
		t.Errorf("C signs with %q, want %q", got, newest)
	}
}

// quietStore hides the vault store's change notifications and counts
// key reads.
type quietStore struct {
	Store
	reads *atomic.Int64
}

func (q quietStore) SigningKeys(ctx context.Context) ([]KeyRecord, error) {
	if q.reads != nil {
		q.reads.Add(1)
	}
	return q.Store.SigningKeys(ctx)
}

// TestForgedKIDRateLimited: tokens naming unknown kids reload the keys at
// most once per interval, however many arrive.
func TestForgedKIDRateLimited(t *testing.T) {
	reads := new(atomic.Int64)
	e := newEnvOnStore(t, Config{OAuthEnabled: true, KeyRefresh: time.Hour}, quietStore{Store: NewVaultStore(newVault(t)), reads: reads})
	e.srv.tokens.reload.minKID = time.Hour
	claims := claimsOf(t, e.token("admin", "foobar"))
	for i := range 20 {
		forged := signWithKID(t, jose.HS256, []byte(strings.Repeat("x", 32)), "forged-"+string(rune('a'+i)), claims)
		wantUnauthorized(t, "forged kid", e.do("GET", "/v1/user", "Bearer "+forged, ""))
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("20 forged kids read the keys %d times, want 1", n)
	}
}

// TestRotateConfiguredKey: a configured key does not rotate: the API
// says what to do instead, and the store is left as it is.
func TestRotateConfiguredKey(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true, Key: SigningKey{Secret: []byte("0123456789abcdef0123456789abcdef")}})
	before := e.vault.Document()
	r := e.do("POST", "/v1/keys/rotate", "admin:foobar", "")
	wantAnchoreError(t, "rotate a configured key", r, 409, "Cannot rotate: "+ErrKeysConfigured.Error())
	if d := e.vault.Document(); d != before || len(d.SigningKeys) != 0 || d.Version != vault.BaseVersion {
		t.Errorf("a refused rotation wrote the vault (version %d, %d keys)", d.Version, len(d.SigningKeys))
	}
	off := newEnv(t, Config{})
	wantAnchoreError(t, "rotate with OAuth off", off.do("POST", "/v1/keys/rotate", "admin:foobar", ""), 409,
		"Oauth not enabled in configuration: there are no signing keys")
	if d := off.vault.Document(); len(d.SigningKeys) != 0 || d.SigningSecret != "" {
		t.Error("a rotation with OAuth off wrote a key")
	}
	var kr keysResponse
	e.do("GET", "/v1/keys", "admin:foobar", "").json(t, &kr)
	tok := e.token("admin", "foobar")
	if kr.Source != "config" || len(kr.Keys) != 1 || kr.Keys[0].KID != kidOf(t, tok) || !strings.HasPrefix(kidOf(t, tok), "hs-") {
		t.Errorf("keys of a configured secret = %+v, token kid %q", kr, kidOf(t, tok))
	}
}

// TestUpgradeFromSigningSecret: a version 1 vault's secret keeps working.
// Tokens issued before the upgrade (no kid) verify, new ones carry the
// secret's derived kid, and after a rotation the old tokens still verify.
func TestUpgradeFromSigningSecret(t *testing.T) {
	v := newVault(t)
	secret := bytes.Repeat([]byte{7}, 32)
	if err := v.Update(context.Background(), func(d *vault.Document) error {
		d.SigningSecret = base64.StdEncoding.EncodeToString(secret)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, Config{OAuthEnabled: true}, v)
	claims := claimsOf(t, e.token("admin", "foobar"))
	preUpgrade := signRaw(t, jose.HS256, secret, claims) // as the previous version signed: no kid
	if kidOf(t, preUpgrade) != "" {
		t.Fatal("the pre-upgrade token has a kid")
	}
	wantStatus(t, "pre-upgrade token", e.do("GET", "/v1/user", "Bearer "+preUpgrade, ""), 200)
	if got := kidOf(t, e.token("admin", "foobar")); got != secretKID(secret) {
		t.Errorf("token kid %q, want the secret's %q", got, secretKID(secret))
	}
	e.rotate()
	if d := e.vault.Document(); d.Version != vault.SigningKeysVersion || d.SigningSecret != "" {
		t.Errorf("after the rotation: version %d, signing_secret kept %v", d.Version, d.SigningSecret != "")
	}
	wantStatus(t, "pre-upgrade token after a rotation", e.do("GET", "/v1/user", "Bearer "+preUpgrade, ""), 200)
	forged := signRaw(t, jose.HS256, bytes.Repeat([]byte{8}, 32), claims)
	wantUnauthorized(t, "a kid-less token with another secret", e.do("GET", "/v1/user", "Bearer "+forged, ""))
}
