package tokenserver

import (
	"net/http"
	"strings"

	"github.com/anchored/anchored/pkg/apitype"
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

// baseURL is where the API is reachable: the issuer when it is a URL, else
// the request's scheme and Host.
func (s *Server) baseURL(r *http.Request) string {
	if strings.HasPrefix(s.cfg.Issuer, "https://") || strings.HasPrefix(s.cfg.Issuer, "http://") {
		return strings.TrimSuffix(s.cfg.Issuer, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host + "/v1"
}

// openIDConfiguration is GET /.well-known/openid-configuration: enough of
// OpenID discovery for go-oidc to verify tokens from the document alone.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) error {
	if !s.publishesKeys() {
		return errorf(http.StatusNotFound, "No discovery document: tokens are not signed with a key pair")
	}
	base := s.baseURL(r)
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
