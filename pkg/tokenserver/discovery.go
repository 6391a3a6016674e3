package tokenserver

import (
	"net/http"
	"strings"

	"github.com/anchored/anchored/internal/apitype"
)

// publishesKeys reports whether tokens are signed with a key pair, whose
// public half is published for other verifiers (never an HMAC secret).
func (s *Server) publishesKeys() bool { return s.tokens != nil && s.tokens.key.Private != nil }

// jwks is GET /oauth/jwks.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	if !s.publishesKeys() {
		return errorf(http.StatusNotFound, "No public keys: tokens are not signed with a key pair")
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, s.tokens.jwks)
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
	if !s.publishesKeys() {
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
		IDTokenSigningAlgValuesSupported: []string{string(s.tokens.alg)},
		TokenEndpointAuthMethods:         []string{"none"},
	})
	return nil
}
