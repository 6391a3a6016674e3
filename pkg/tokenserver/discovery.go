package tokenserver

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/anchored/anchored/pkg/apitype"
)

// publishedKeys is the public keys of every key pair still valid for
// verification (never an HMAC secret), and their algorithms; ok is false
// when there is none.
func (s *Server) publishedKeys(r *http.Request) (set jose.JSONWebKeySet, algs []string, ok bool) {
	if s.tokens == nil {
		return set, nil, false
	}
	s.tokens.reloadIfChanged(r.Context())
	set = s.tokens.ring.Load().published(s.now())
	for _, k := range set.Keys {
		if !slices.Contains(algs, k.Algorithm) {
			algs = append(algs, k.Algorithm)
		}
	}
	return set, algs, len(set.Keys) > 0
}

// jwks is GET /oauth/jwks: every public key still valid for verification,
// the one that signs and the ones a rotation retired.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	set, _, ok := s.publishedKeys(r)
	if !ok {
		return errorf(http.StatusNotFound, "No public keys: tokens are not signed with a key pair")
	}
	// Short: after a rotation, verifiers that cache the set need the new
	// key (go-oidc fetches again on an unknown kid anyway).
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, set)
	return nil
}

// issuerURL is the configured issuer when it is an http(s) URL, without a
// trailing slash; "" otherwise. The discovery document is built from it
// alone: a URL made from the request's Host would let whoever sends the
// request (or poisons a cache in front) point verifiers at their own keys.
func (s *Server) issuerURL() string {
	if strings.HasPrefix(s.cfg.Issuer, "https://") || strings.HasPrefix(s.cfg.Issuer, "http://") {
		return strings.TrimSuffix(s.cfg.Issuer, "/")
	}
	return ""
}

// openIDConfiguration is GET /.well-known/openid-configuration: enough of
// OpenID discovery for go-oidc to verify tokens from the document alone.
// It needs an issuer that is a URL (the API's, under /v1); with another
// issuer (the default anchore-engine), verifiers take the keys from
// /v1/oauth/jwks directly.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) error {
	_, algs, ok := s.publishedKeys(r)
	if !ok {
		return errorf(http.StatusNotFound, "No discovery document: tokens are not signed with a key pair")
	}
	base := s.issuerURL()
	if base == "" {
		return errorf(http.StatusNotFound, "No discovery document: the issuer is not an http(s) URL; set user_authentication.oauth.issuer to this API's URL (https://host/v1), or take the keys from /v1/oauth/jwks")
	}
	writeJSON(w, http.StatusOK, apitype.OpenIDConfiguration{
		Issuer:                           s.cfg.Issuer,
		JWKSURI:                          base + "/oauth/jwks",
		TokenEndpoint:                    base + "/oauth/token",
		GrantTypesSupported:              []string{"password"},
		ResponseTypesSupported:           []string{"token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: algs,
		TokenEndpointAuthMethods:         []string{"none"},
	})
	return nil
}
