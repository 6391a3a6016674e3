package tokenserver

import (
	"context"
	"crypto"
	_ "crypto/sha256" // crypto.SHA256 for key thumbprints
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
	return sig.CompactSerialize()
}

// verify checks the signature with the one configured algorithm, iss, sub
// and exp (no leeway, as Anchore), and returns the claims. The caller then
// checks that the user exists and its generation matches.
func (t *tokens) verify(ctx context.Context, raw string, now time.Time) (tokenClaims, error) {
	if c, ok := t.seen.get(raw, now); ok {
		return c, nil
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
	if !now.Before(c.Expiry.Time()) {
		return tokenClaims{}, fmt.Errorf("%w: expired", errBadToken)
	}
	t.seen.put(raw, c, now)
	return c, nil
}
