package tokenserver

import (
	"context"
	"crypto"
	"crypto/elliptic"
	_ "crypto/sha256" // crypto.SHA256 for key thumbprints
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// GenerationClaim is the private claim carrying the user's credential
// generation: a token stops verifying once the password changes.
const GenerationClaim = "anchored_gen"

// errBadToken is every reason a bearer token is refused; the reason is
// logged, never sent (the client sees Anchore's plain 401).
var errBadToken = errors.New("bad token")

// tokenClaims is what anchored signs.
type tokenClaims struct {
	jwt.Claims
	Generation *int64 `json:"anchored_gen,omitempty"`
}

// tokens signs and verifies JWTs with one key and one algorithm.
type tokens struct {
	key    SigningKey
	alg    jose.SignatureAlgorithm
	kid    string
	issuer string
	signer jose.Signer
	jwks   jose.JSONWebKeySet // public keys; empty for HS256
	seen   verifiedTokens     // tokencache.go
	// oidc verifies key-pair tokens (SPEC 8: with go-oidc, the library
	// other services use on our tokens, so the daemon accepts exactly what
	// they accept); nil for HS256, which go-oidc does not verify.
	oidc *oidc.IDTokenVerifier
}

func newTokens(key SigningKey, issuer string) (*tokens, error) {
	t := &tokens{key: key, alg: key.Algorithm(), issuer: issuer}
	var sk jose.SigningKey
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if key.Private != nil {
		pub := jose.JSONWebKey{Key: key.Private.Public(), Algorithm: string(t.alg), Use: "sig"}
		tp, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("key thumbprint: %w", err)
		}
		t.kid = base64.RawURLEncoding.EncodeToString(tp)
		pub.KeyID = t.kid
		t.jwks.Keys = []jose.JSONWebKey{pub}
		sk = jose.SigningKey{Algorithm: t.alg, Key: jose.JSONWebKey{Key: key.Private, KeyID: t.kid, Algorithm: string(t.alg)}}
		t.oidc = oidc.NewVerifier(issuer, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{key.Private.Public()}}, &oidc.Config{
			SkipClientIDCheck:    true, // no aud (SPEC 8)
			SupportedSigningAlgs: []string{string(t.alg)},
			// Expiry is checked below against the caller's clock, with no
			// leeway, for both algorithms alike.
			SkipExpiryCheck: true,
		})
	} else {
		if len(key.Secret) == 0 {
			return nil, errors.New("no signing key")
		}
		sk = jose.SigningKey{Algorithm: jose.HS256, Key: key.Secret}
	}
	s, err := jose.NewSigner(sk, opts)
	if err != nil {
		return nil, fmt.Errorf("token signer: %w", err)
	}
	t.signer = s
	return t, nil
}

// sign returns a token for u valid for ttl from now.
func (t *tokens) sign(u User, now time.Time, ttl time.Duration) (string, error) {
	gen := u.Generation
	c := tokenClaims{
		Claims: jwt.Claims{
			Issuer:   t.issuer,
			Subject:  u.UUID,
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(now.Add(ttl)),
			ID:       strings.ReplaceAll(uuid.NewString(), "-", ""),
		},
		Generation: &gen,
	}
	// Marshal the flat claims once and sign the bytes: jwt.Signed's builder
	// marshals, decodes into a map and marshals again, which was most of a
	// warm token request's cost.
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	sig, err := t.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	raw, err := sig.CompactSerialize()
	if err != nil {
		return "", err
	}
	if t.alg == jose.ES256 {
		return lowS(raw)
	}
	return raw, nil
}

// p256HalfOrder is n/2 for P-256: an ES256 signature (r, s) verifies as
// (r, n-s) too, so only the one with s <= n/2 is signed and accepted, as
// Bitcoin's and Ethereum's low-S rule does: a token's string is then the
// only string of its signature, and a cache or a revocation list keyed by
// the string cannot be dodged.
var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// lowS rewrites an ES256 compact token's signature to its low-S form.
func lowS(raw string) (string, error) {
	i := strings.LastIndexByte(raw, '.')
	sig, err := b64.DecodeString(raw[i+1:])
	if err != nil || len(sig) != 64 {
		return "", fmt.Errorf("sign token: unexpected ES256 signature")
	}
	sv := new(big.Int).SetBytes(sig[32:])
	if sv.Cmp(p256HalfOrder) > 0 {
		sv.Sub(elliptic.P256().Params().N, sv)
		sv.FillBytes(sig[32:])
	}
	return raw[:i+1] + b64.EncodeToString(sig), nil
}

// b64 is the JWS encoding, strict: no padding, and the unused low bits of
// the last character must be zero, so that no two strings decode to the
// same bytes.
var b64 = base64.RawURLEncoding.Strict()

// canonical refuses a token that is not the one string of its bytes:
// a part that is not strict base64url (a flipped spare bit decodes the
// same), or an ES256 signature with a high S.
func (t *tokens) canonical(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	for _, p := range parts {
		if _, err := b64.DecodeString(p); err != nil {
			return fmt.Errorf("part not canonical base64url: %w", err)
		}
	}
	if t.alg == jose.ES256 {
		sig, _ := b64.DecodeString(parts[2])
		if len(sig) != 64 || new(big.Int).SetBytes(sig[32:]).Cmp(p256HalfOrder) > 0 {
			return errors.New("ES256 signature is not low-S")
		}
	}
	return nil
}

// verify checks the signature with the one configured algorithm, iss, sub
// and exp (no leeway, as Anchore), and returns the claims. The caller then
// checks that the user exists and its generation matches.
func (t *tokens) verify(ctx context.Context, raw string, now time.Time) (tokenClaims, error) {
	if c, ok := t.seen.get(raw, now); ok {
		return c, nil
	}
	if err := t.canonical(raw); err != nil {
		return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
	}
	var c tokenClaims
	if t.oidc != nil {
		// go-oidc checks the algorithm, the signature and iss.
		idt, err := t.oidc.Verify(ctx, raw)
		if err != nil {
			return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
		}
		if err := idt.Claims(&c); err != nil {
			return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
		}
	} else {
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{t.alg})
		if err != nil {
			return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
		}
		if typ, ok := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); ok && !strings.EqualFold(typ, "JWT") {
			return tokenClaims{}, fmt.Errorf("%w: typ %q", errBadToken, typ)
		}
		if err := tok.Claims(t.key.Secret, &c); err != nil {
			return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
		}
	}
	if c.Expiry == nil || c.Subject == "" || c.Generation == nil {
		return tokenClaims{}, fmt.Errorf("%w: exp, sub or %s missing", errBadToken, GenerationClaim)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: t.issuer, Time: now}, 0); err != nil {
		return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
	}
	// anchored signs no aud. A token that has one (signed by another
	// service that shares the key or secret) was meant for whoever it
	// names: it is accepted only when it names this issuer.
	if len(c.Audience) > 0 && !c.Audience.Contains(t.issuer) {
		return tokenClaims{}, fmt.Errorf("%w: aud %q does not name %q", errBadToken, []string(c.Audience), t.issuer)
	}
	if !now.Before(c.Expiry.Time()) {
		return tokenClaims{}, fmt.Errorf("%w: expired", errBadToken)
	}
	t.seen.put(raw, c, now)
	return c, nil
}
