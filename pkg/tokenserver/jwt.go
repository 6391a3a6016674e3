package tokenserver

import (
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

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

// tokens signs with one key and verifies with every key of its ring
// (keyring.go). The ring is kept in memory and replaced whole when the
// keys change; with keys kept in the Store it is reloaded when the store
// reports a change, when a token names an unknown kid (rate-limited), and
// on an interval, so that a rotation on one replica is used by all.
type tokens struct {
	issuer string
	ring   atomic.Pointer[keyring]
	seen   verifiedTokens // tokencache.go
	reload *keyReloader   // nil when the keys are configured
}

// newTokens returns tokens for one configured key.
func newTokens(key SigningKey, issuer string) (*tokens, error) {
	k, err := newRingKey(configuredKID(key), key, issuer, time.Time{})
	if err != nil {
		return nil, err
	}
	t := &tokens{issuer: issuer}
	t.ring.Store(&keyring{signing: k, keys: []*ringKey{k}, byKID: map[string]*ringKey{k.kid: k}})
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
	k := t.ring.Load().signing
	sig, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	raw, err := sig.CompactSerialize()
	if err != nil {
		return "", err
	}
	if k.alg == jose.ES256 {
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

// header is what verify reads of a token's JOSE header before choosing
// the key.
type header struct {
	Alg string `json:"alg"`
	KID string `json:"kid"`
}

// canonical refuses a token that is not the one string of its bytes (a
// part that is not strict base64url: a flipped spare bit decodes the
// same), and returns its header.
func canonical(raw string) (header, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return header{}, errors.New("not a compact JWS")
	}
	var h header
	for i, p := range parts {
		b, err := b64.DecodeString(p)
		if err != nil {
			return header{}, fmt.Errorf("part not canonical base64url: %w", err)
		}
		if i == 0 {
			if err := json.Unmarshal(b, &h); err != nil {
				return header{}, fmt.Errorf("header: %w", err)
			}
		}
	}
	return h, nil
}

// highS reports whether an ES256 token's signature has a high S (only
// the low-S string of a signature is accepted).
func highS(raw string) bool {
	sig, _ := b64.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
	return len(sig) != 64 || new(big.Int).SetBytes(sig[32:]).Cmp(p256HalfOrder) > 0
}

// verify checks the signature with the key the token's kid names (a token
// without kid, with every key of its algorithm), iss, sub
// and exp (no leeway, as Anchore), and returns the claims. The caller then
// checks that the user exists and its generation matches.
func (t *tokens) verify(ctx context.Context, raw string, now time.Time) (tokenClaims, error) {
	t.reloadIfChanged(ctx)
	if c, ok := t.seen.get(raw, now); ok {
		return c, nil
	}
	h, err := canonical(raw)
	if err != nil {
		return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
	}
	cands := t.ring.Load().candidates(h, now)
	if len(cands) == 0 && h.KID != "" {
		cands = t.reloadForKID(ctx, h.KID).candidates(h, now)
	}
	if len(cands) == 0 {
		return tokenClaims{}, fmt.Errorf("%w: no key for kid %q alg %q", errBadToken, h.KID, h.Alg)
	}
	var c tokenClaims
	for _, k := range cands {
		if c, err = k.verifySignature(ctx, raw); err == nil {
			break
		}
	}
	if err != nil {
		return tokenClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
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

// verifySignature checks raw's signature and algorithm with k (and iss
// through go-oidc for key pairs), and decodes its claims.
func (k *ringKey) verifySignature(ctx context.Context, raw string) (tokenClaims, error) {
	var c tokenClaims
	if k.alg == jose.ES256 && highS(raw) {
		return c, errors.New("ES256 signature is not low-S")
	}
	if k.oidc != nil {
		// go-oidc checks the algorithm, the signature and iss.
		idt, err := k.oidc.Verify(ctx, raw)
		if err != nil {
			return c, err
		}
		return c, idt.Claims(&c)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{k.alg})
	if err != nil {
		return c, err
	}
	if typ, ok := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); ok && !strings.EqualFold(typ, "JWT") {
		return c, fmt.Errorf("typ %q", typ)
	}
	return c, tok.Claims(k.secret, &c)
}
