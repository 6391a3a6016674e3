package tokenserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
)

// Access says who may use a route.
type Access int

const (
	// Public routes need no credentials.
	Public Access = iota
	// Authenticated routes need Basic or Bearer credentials, and the
	// caller's account must be enabled.
	Authenticated
	// SocketOnly routes answer only on the Unix socket (404 elsewhere) and
	// need no credentials: the socket's peer check already decided.
	SocketOnly
)

// Caller is who is calling, set by the gate for Authenticated routes.
type Caller struct {
	User    User
	Account Account
	// Method is "basic" or "bearer".
	Method string
}

// IsAdmin reports whether the caller may act on every account (Anchore's
// *:*:* for admin and service accounts).
func (c *Caller) IsAdmin() bool {
	return c.Account.Type == apitype.AccountTypeAdmin || c.Account.Type == apitype.AccountTypeService
}

type callerKey struct{}

// CallerFrom returns the request's caller, or nil on unauthenticated routes.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// PasswordAttempt is one username/password to check.
type PasswordAttempt struct {
	Username, Password string
	// Client is who is asking, for throttling per client: the remote
	// address's host over TCP, "uid:N" (the peer's uid) over the socket.
	Client string
}

// PasswordCheck verifies a password and returns the user. Wrong
// credentials (unknown user, wrong or no password) are ErrBadCredentials;
// an error implementing RetryAfter is answered 429 with Retry-After.
type PasswordCheck func(ctx context.Context, a PasswordAttempt) (User, error)

// ErrBadCredentials: the user name or password is wrong.
var ErrBadCredentials = errors.New("bad credentials")

// RetryAfter is implemented by errors that mean "too many attempts".
type RetryAfter interface {
	error
	RetryAfter() time.Duration
}

// checkPassword is the default PasswordCheck. With hashing on, every
// attempt costs one hash, whatever is stored: unknown users and users
// without a credential verify a dummy hash, and so do users whose password
// is still stored in clear (from before hashed_passwords was turned on),
// so timing tells neither which names exist nor how a password is stored.
// A clear password that matches is rehashed to scrypt at once.
func (s *Server) checkPassword(ctx context.Context, a PasswordAttempt) (User, error) {
	u, err := s.store.GetUser(ctx, a.Username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	switch {
	case err == nil && u.PasswordHash != "":
		ok, err := s.hasher.Verify(ctx, u.PasswordHash, a.Password)
		if err != nil {
			return User{}, fmt.Errorf("verify password of %q: %w", a.Username, err)
		}
		if ok {
			return u, nil
		}
	case err == nil && u.Password != "":
		if s.dummyHash != "" {
			s.hasher.Verify(ctx, s.dummyHash, a.Password)
		}
		if subtle.ConstantTimeCompare([]byte(u.Password), []byte(a.Password)) == 1 {
			if s.dummyHash != "" {
				return s.rehash(ctx, u, a.Password), nil
			}
			return u, nil
		}
	case s.dummyHash != "":
		s.hasher.Verify(ctx, s.dummyHash, a.Password)
	}
	return User{}, ErrBadCredentials
}

// rehash replaces u's clear password, just verified, with its scrypt hash.
// The credential generation stays: the password is the same, so tokens
// and cached logins stay good. A password changed meanwhile is left alone.
// A failure is logged and costs nothing but another try next login.
func (s *Server) rehash(ctx context.Context, u User, pw string) User {
	h, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.store.UpdateUser(ctx, u.Username, func(cur User) (User, error) {
			if cur.Generation != u.Generation || subtle.ConstantTimeCompare([]byte(cur.Password), []byte(pw)) != 1 {
				return cur, nil
			}
			cur.Password, cur.PasswordHash = "", h
			u = cur
			return cur, nil
		})
	}
	if err != nil {
		s.log.WarnContext(ctx, "rehash a clear password to scrypt", "user", u.Username, "err", err)
	}
	return u
}

// knownUser is the user a refused login named, ok only when the name names
// an existing user. Logs and audit events of refused logins carry a name
// only when ok: a password typed into the user name field would otherwise
// land in the log.
func (s *Server) knownUser(ctx context.Context, name string) (User, bool) {
	u, err := s.store.GetUser(ctx, name)
	return u, err == nil
}

// logFailedLogin logs a wrong password, naming the user only when
// knownUser says so.
func (s *Server) logFailedLogin(ctx context.Context, msg, name, client string) {
	if _, ok := s.knownUser(ctx, name); !ok {
		s.log.InfoContext(ctx, msg, "user_unknown", true, "client", client)
		return
	}
	s.log.InfoContext(ctx, msg, "user", name, "client", client)
}

// clientHost is the remote host of r, or "uid:N" over the socket: the
// kernel vouches for a socket peer's uid, so a throttle can count it alone.
func clientHost(r *http.Request) string {
	if ci := ConnInfoFrom(r.Context()); ci.Transport == TransportUnix {
		return "uid:" + strconv.Itoa(ci.PeerUID)
	}
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// bearerToken returns the token of "Bearer x" or "JWT x" (any case).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !(strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "jwt")) {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate finds the caller from Basic (always) or Bearer (OAuth on).
// errUnauthorized means Anchore's 401.
func (s *Server) authenticate(r *http.Request) (*Caller, error) {
	ctx := r.Context()
	var u User
	method := "basic"
	if name, pw, ok := r.BasicAuth(); ok {
		var err error
		u, err = s.passwordCheck(ctx, PasswordAttempt{Username: name, Password: pw, Client: clientHost(r)})
		if err != nil {
			if errors.Is(err, ErrBadCredentials) {
				s.logFailedLogin(ctx, "basic authentication failed", name, clientDesc(r))
				return nil, errUnauthorized
			}
			return nil, err
		}
	} else if tok, ok := bearerToken(r); ok && s.tokens != nil {
		method = "bearer"
		var err error
		u, err = s.userFromToken(ctx, tok)
		if err != nil {
			s.log.InfoContext(ctx, "bearer token refused", "err", err, "client", clientDesc(r))
			return nil, errUnauthorized
		}
	} else {
		return nil, errUnauthorized
	}
	a, err := s.store.GetAccount(ctx, u.Account)
	if errors.Is(err, ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	return &Caller{User: u, Account: a, Method: method}, nil
}

// userFromToken verifies a JWT and returns its user, who must still exist
// with the same credential generation.
func (s *Server) userFromToken(ctx context.Context, raw string) (User, error) {
	c, err := s.tokens.verify(ctx, raw, s.now())
	if err != nil {
		return User{}, err
	}
	u, err := s.store.GetUserByUUID(ctx, c.Subject)
	if errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("%w: user no longer exists", errBadToken)
	}
	if err != nil {
		return User{}, err
	}
	if u.Generation != *c.Generation {
		return User{}, fmt.Errorf("%w: credentials changed since the token was issued", errBadToken)
	}
	return u, nil
}

// gate is the one place for cross-cutting checks: browsers refused on the
// socket, body cap, authentication, account state. Then the handler runs,
// and its error goes to the one error writer.
func (s *Server) gate(rt route) http.Handler {
	return s.observed(rt, func(w http.ResponseWriter, r *http.Request) {
		ci := ConnInfoFrom(r.Context())
		// A web page can make a browser send requests to a local socket
		// bridge or a loopback port; no legitimate socket client sends
		// Origin or Referer (CSRF/DNS rebinding guard).
		if ci.Transport == TransportUnix && (r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "") {
			s.writeError(w, r, errorf(http.StatusForbidden, "Requests with an Origin or Referer header are refused on the socket"))
			return
		}
		if rt.Access == SocketOnly && ci.Transport != TransportUnix {
			s.writeError(w, r, errorf(http.StatusNotFound, "Not found: %s", r.URL.EscapedPath()))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		r = r.WithContext(withFreshness(r.Context()))
		if rt.Access == SocketOnly {
			if err := s.helperAccountUsable(r.Context()); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if rt.Access == Authenticated {
			c, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				s.auditFailedLogin(r, err)
				return
			}
			noteCaller(r, c)
			if c.Account.State != apitype.AccountEnabled {
				s.writeError(w, r, errorf(http.StatusForbidden, "Not authorized. Account %s not enabled.", c.Account.Name))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		}
		if err := rt.Handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// namespace is the account the request acts in: x-anchore-account if sent
// (admins only), else the caller's own. A header naming an account that
// does not exist is 404 Account not found: otherwise an admin would list
// an empty namespace and store registry entries under no account.
func (s *Server) namespace(r *http.Request, action string) (string, error) {
	c := CallerFrom(r.Context())
	ns := r.Header.Get("x-anchore-account")
	if ns == "" || ns == c.Account.Name {
		noteNamespace(r, c.Account.Name)
		return c.Account.Name, nil
	}
	if err := authorize(c, ns, action, "*"); err != nil {
		return "", err
	}
	noteNamespace(r, ns)
	if a, err := s.store.GetAccount(r.Context(), ns); errors.Is(err, ErrNotFound) {
		return "", errAccountNotFound
	} else if err != nil {
		return "", err
	} else if a.State == apitype.AccountDeleting {
		return "", errAccountDeleting(ns)
	}
	return ns, nil
}

// authorize applies Anchore's native permission model: admin and service
// accounts may do anything; other users anything inside their own account.
func authorize(c *Caller, domain, action, target string) error {
	if c.IsAdmin() || (domain == c.Account.Name && domain != systemDomain) {
		return nil
	}
	return errorf(http.StatusForbidden, "Not authorized. Requires permissions: domain=%s action=%s target=%s", domain, action, target)
}

// systemDomain is Anchore's global resource domain.
const systemDomain = "system"
