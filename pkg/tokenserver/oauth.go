package tokenserver

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/anchored/anchored/pkg/apitype"
)

// anonymousClient is Anchore's one public OAuth2 client.
const anonymousClient = "anonymous"

// oauthError is an RFC 6749 section 5.2 error; the token endpoint answers
// them with 400 (invalid_client too: the client uses no authentication, so
// there is no scheme to challenge with 401).
type oauthError struct {
	code, description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

// tokenRequest is the token endpoint's input, parsed once.
type tokenRequest struct {
	grantType, clientID, clientSecret, username, password, scope string
}

// parseTokenRequest reads the form. An empty body with Basic credentials
// of a real user is Anchore's convenience login; Basic "anonymous:" is
// client authentication (x/oauth2 sends it), not a login.
func parseTokenRequest(r *http.Request) (tokenRequest, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var form url.Values
	if r.ContentLength != 0 {
		if ct != "application/x-www-form-urlencoded" {
			return tokenRequest{}, &oauthError{apitype.OAuthInvalidRequest, "Content-Type must be application/x-www-form-urlencoded"}
		}
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tokenRequest{}, err
			}
			return tokenRequest{}, &oauthError{apitype.OAuthInvalidRequest, "Malformed form body"}
		}
		form = r.PostForm
	}
	basicUser, basicPass, hasBasic := r.BasicAuth()
	if len(form) == 0 && hasBasic && !(basicUser == anonymousClient && basicPass == "") {
		return tokenRequest{grantType: "password", clientID: anonymousClient, username: basicUser, password: basicPass}, nil
	}
	for k, v := range form {
		if len(v) > 1 {
			return tokenRequest{}, &oauthError{apitype.OAuthInvalidRequest, `Multiple "` + k + `" in request.`}
		}
	}
	req := tokenRequest{
		grantType:    form.Get("grant_type"),
		clientID:     form.Get("client_id"),
		clientSecret: form.Get("client_secret"),
		username:     form.Get("username"),
		password:     form.Get("password"),
		scope:        form.Get("scope"),
	}
	if hasBasic {
		if req.clientID != "" && req.clientID != basicUser {
			return tokenRequest{}, &oauthError{apitype.OAuthInvalidRequest, "client_id in the form and in the Authorization header differ"}
		}
		req.clientID, req.clientSecret = basicUser, basicPass
	}
	return req, nil
}

// token is POST /oauth/token: the OAuth2 password grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	if s.tokens == nil {
		return errorf(http.StatusForbidden, "Oauth not enabled in configuration")
	}
	// RFC 6749 section 5.1: token answers, errors included, are not cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	resp, err := s.grant(r)
	if err != nil {
		var oe *oauthError
		if errors.As(err, &oe) {
			writeJSON(w, http.StatusBadRequest, apitype.OAuthError{Error: oe.code, ErrorDescription: oe.description})
			return nil
		}
		return err // RetryAfter (429) and server faults
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) grant(r *http.Request) (apitype.TokenResponse, error) {
	req, err := parseTokenRequest(r)
	if err != nil {
		return apitype.TokenResponse{}, err
	}
	switch {
	case req.grantType != "password":
		return apitype.TokenResponse{}, &oauthError{apitype.OAuthUnsupportedGrantType, "Only the password grant is supported."}
	case req.clientID == "":
		return apitype.TokenResponse{}, &oauthError{apitype.OAuthInvalidClient, `Missing "client_id" in request.`}
	case req.clientID != anonymousClient || req.clientSecret != "":
		// The anonymous client authenticates with "none": a secret is
		// as wrong as an unknown client (authlib authenticate_none).
		return apitype.TokenResponse{}, &oauthError{apitype.OAuthInvalidClient, "Invalid client."}
	case req.username == "":
		return apitype.TokenResponse{}, &oauthError{apitype.OAuthInvalidRequest, `Missing "username" in request.`}
	case req.password == "":
		return apitype.TokenResponse{}, &oauthError{apitype.OAuthInvalidRequest, `Missing "password" in request.`}
	}
	u, err := s.passwordCheck(r.Context(), PasswordAttempt{Username: req.username, Password: req.password, Client: clientHost(r)})
	if errors.Is(err, ErrBadCredentials) {
		s.logFailedLogin(r.Context(), "token request with wrong credentials", req.username, clientDesc(r))
		return apitype.TokenResponse{}, &oauthError{apitype.OAuthInvalidGrant, `Invalid "username" or "password" in request.`}
	}
	if err != nil {
		return apitype.TokenResponse{}, err
	}
	noteCaller(r, &Caller{User: u, Account: Account{Name: u.Account}, Method: "password"}) // audit: who got the token
	s.tokens.reloadIfChanged(r.Context())                                                  // sign with the key a rotation elsewhere made
	tok, err := s.tokens.sign(u, s.now(), s.cfg.TokenTTL)
	if err != nil {
		return apitype.TokenResponse{}, err
	}
	return apitype.TokenResponse{TokenType: "Bearer", AccessToken: tok, ExpiresIn: int(s.cfg.TokenTTL.Seconds()), Scope: strings.TrimSpace(req.scope)}, nil
}
