package tokenserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/anchored/anchored/pkg/audit"
	"github.com/anchored/anchored/pkg/passhash"
)

// Config is the library configuration of the API (the daemon's file
// configuration is translated into it).
type Config struct {
	// OAuthEnabled turns on the token endpoint and Bearer authentication.
	OAuthEnabled bool
	// TokenTTL is default_token_expiration_seconds (default 1 h).
	TokenTTL time.Duration
	// Issuer is the tokens' "iss" and the discovery document's issuer
	// (default "anchore-engine").
	Issuer string
	// Key signs tokens. When OAuth is on and Key is zero, keys are
	// generated and kept in the Store, and rotate (keyring.go).
	Key SigningKey
	// KeyAlgorithm is the algorithm of generated keys: HS256 (the
	// default), RS256 or ES256. KeyRefresh is how often the keys kept in
	// the Store are reloaded (default 5 s; they are also reloaded when the
	// store reports a change and for a token with an unknown kid).
	KeyAlgorithm string
	KeyRefresh   time.Duration
	// HashedPasswords stores new passwords as scrypt hashes.
	HashedPasswords bool
	// Hasher hashes passwords (default passhash.New()). Tests pass a low
	// cost and count hashes.
	Hasher passhash.Hasher
	// WrapPasswordCheck, if set, wraps the Basic password check (used for
	// logins and the token endpoint): the place for a verified-credential
	// cache and for throttling.
	WrapPasswordCheck func(PasswordCheck) PasswordCheck
	// MaxBodyBytes caps request bodies (default 64 KiB).
	MaxBodyBytes int64
	// Registries configures the registries API and the helper endpoints
	// (registries.go).
	Registries RegistryOptions
	// Version is reported by GET /version.
	Version string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Audit receives one event per change and credential read (nil: no
	// audit). Observer receives per-route measurements (nil: none).
	// Ready, if set, is asked by /readyz and the status endpoints whether
	// the daemon can answer (ops.go). DeletionDelay is how long a deleted
	// account stays "deleting" (lifecycle.go).
	Audit         *audit.Logger
	Observer      Observer
	Ready         func(context.Context) error
	DeletionDelay time.Duration
}

// Server is the API. It is an http.Handler.
type Server struct {
	cfg           Config
	store         Store
	log           *slog.Logger
	now           func() time.Time
	hasher        passhash.Hasher
	tokens        *tokens // nil when OAuth is off
	passwordCheck PasswordCheck
	dummyHash     string // verified for unknown users, so they cost the same
	router        *mux.Router
	bg            *background
	started       time.Time
	// static holds the routes without path variables by "METHOD path",
	// both mounts: an exact match is answered without the router's
	// pattern walk (newRouter).
	static map[string]http.Handler
}

// New builds the API over store. With OAuth on and no key configured it
// loads (or generates and stores) the signing keys.
func New(ctx context.Context, cfg Config, store Store) (*Server, error) {
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "anchore-engine"
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hasher == nil {
		cfg.Hasher = passhash.New()
	}
	s := &Server{cfg: cfg, store: store, log: cfg.Logger, now: cfg.Now, hasher: cfg.Hasher, bg: newBackground(), started: cfg.Now()}
	if cfg.KeyAlgorithm == "" {
		cfg.KeyAlgorithm = "HS256"
	}
	if cfg.KeyRefresh == 0 {
		cfg.KeyRefresh = defaultKeyRefresh
	}
	if err := CheckKeyAlgorithm(cfg.KeyAlgorithm); err != nil {
		return nil, err
	}
	s.cfg = cfg
	if cfg.OAuthEnabled {
		var t *tokens
		var err error
		if cfg.Key.Private == nil && len(cfg.Key.Secret) == 0 {
			t, err = newStoreTokens(ctx, store, cfg.Issuer, s.auditedGenerateKey(ctx), cfg.Logger)
		} else {
			t, err = newTokens(cfg.Key, cfg.Issuer)
		}
		if err != nil {
			return nil, err
		}
		s.tokens = t
		if t.reload != nil {
			s.bg.wg.Add(1)
			go func() {
				defer s.bg.wg.Done()
				t.refresh(s.bg.ctx, cfg.KeyRefresh)
			}()
		}
	}
	if cfg.HashedPasswords {
		h, err := s.hasher.Hash(ctx, "unknown-user-dummy-password")
		if err != nil {
			return nil, err
		}
		s.dummyHash = h
	}
	s.passwordCheck = s.checkPassword
	if cfg.WrapPasswordCheck != nil {
		s.passwordCheck = cfg.WrapPasswordCheck(s.passwordCheck)
	}
	s.router = s.newRouter()
	if err := s.resumeDeletions(ctx); err != nil {
		return nil, fmt.Errorf("accounts being deleted: %w", err)
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := s.static[r.Method+" "+r.URL.EscapedPath()]; ok {
		h.ServeHTTP(w, r)
		return
	}
	s.router.ServeHTTP(w, r)
}

// Store is the server's store, for code that extends the API.
func (s *Server) Store() Store { return s.store }

// newRouter mounts every route of routes() at /v1/PATH and at PATH.
func (s *Server) newRouter() *mux.Router {
	m := mux.NewRouter()
	// Encoded paths so that a registry key with %2F stays one variable;
	// handlers unescape variables with pathVar.
	m.UseEncodedPath()
	s.static = map[string]http.Handler{}
	for _, rt := range s.routes() {
		h := s.gate(rt)
		paths := []string{"/v1" + rt.Path, rt.Path}
		if rt.Path == "/" {
			paths = []string{"/v1", "/v1/", "/"}
		}
		for _, p := range paths {
			m.Handle(p, h).Methods(rt.Method)
			// The router walks its routes in order, matching each
			// pattern: for the many requests to fixed paths (the
			// helper's get, the token endpoint, /account) the exact
			// path finds the same handler in one lookup. A path the
			// router would clean first ("//v1/account") is not an exact
			// match, and still goes to the router.
			if !strings.Contains(p, "{") {
				s.static[rt.Method+" "+p] = h
			}
		}
	}
	m.NotFoundHandler = s.gate(route{Access: Public, Handle: func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "Not found: %s", r.URL.EscapedPath())
	}})
	m.MethodNotAllowedHandler = s.gate(route{Access: Public, Handle: func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusMethodNotAllowed, "Method %s not allowed on %s", r.Method, r.URL.EscapedPath())
	}})
	return m
}
