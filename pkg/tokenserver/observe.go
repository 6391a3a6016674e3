package tokenserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/anchored/anchored/pkg/audit"
)

// Observer receives the API's measurements (the daemon's Prometheus
// metrics implement it; pkg/ cannot import them). Route is called once per
// route when the router is built, so a request pays for no label lookup.
type Observer interface {
	Route(method, pattern string) RouteObserver
}

// RouteObserver records one route's requests.
type RouteObserver interface {
	Observe(code int, d time.Duration)
}

// auditRecord is one request's audit event being filled in: the gate
// creates it when the route is audited, handlers name the target
// (noteTarget), and the gate writes it with the status answered.
type auditRecord struct {
	ev     audit.Event
	caller *Caller
}

type auditKey struct{}

// noteTarget names the record a request acts on (an account or user
// name), for its audit event. It is cheap when the request is not audited.
// Never pass a secret.
func noteTarget(r *http.Request, target string) {
	if rec, ok := r.Context().Value(auditKey{}).(*auditRecord); ok {
		rec.ev.Target = target
	}
}

// noteURLTarget is noteTarget for a server URL or registry key, whose user
// information (if a client typed any) is dropped.
func noteURLTarget(r *http.Request, target string) {
	if rec, ok := r.Context().Value(auditKey{}).(*auditRecord); ok {
		rec.ev.Target = safeTarget(target)
	}
}

// safeTarget drops user information from a URL-shaped target: a server URL
// typed as https://user:pass@host (or user:pass@host) must not carry a
// password into the log. Everything up to the last '@' goes: a password may
// hold any character ("user:12/34@host" reads like "host:12/34@x"), so no
// rule can tell user information from a path, and Docker's reference
// grammar has no '@' in a registry host or repository path to lose.
func safeTarget(t string) string {
	scheme, rest := "", t
	if i := strings.Index(t, "://"); i >= 0 {
		scheme, rest = t[:i+3], t[i+3:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + rest[at+1:]
	}
	return t
}

// statusWriter remembers the status code a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the server's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observed wraps a route's handler with its measurements and audit event,
// paying for each only when configured: a route neither measured nor
// audited is its bare handler.
func (s *Server) observed(rt route, h http.HandlerFunc) http.Handler {
	var ro RouteObserver
	if s.cfg.Observer != nil {
		pattern := rt.Path
		if pattern == "" {
			pattern = "unmatched"
		}
		ro = s.cfg.Observer.Route(rt.Method, pattern)
	}
	au := s.cfg.Audit
	if ro == nil && (au == nil || rt.AuditKind == audit.None) {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auditing := au.Enabled(rt.AuditKind)
		if ro == nil && !auditing {
			h(w, r)
			return
		}
		var start time.Time
		if ro != nil {
			start = time.Now()
		}
		sw := &statusWriter{ResponseWriter: w}
		var rec *auditRecord
		if auditing {
			rec = &auditRecord{ev: audit.Event{Action: rt.AuditAction, Kind: rt.AuditKind}}
			r = r.WithContext(context.WithValue(r.Context(), auditKey{}, rec))
		}
		h(sw, r)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		if ro != nil {
			ro.Observe(code, time.Since(start))
		}
		if rec == nil {
			return
		}
		ev := rec.ev
		ev.Code = code
		if ev.Target == "" {
			ev.Target = pathTarget(r)
		}
		ev.Actor = actorOf(r, rec.caller)
		au.Log(r.Context(), ev)
	})
}

// pathTarget is the most specific path variable, as the event's target.
func pathTarget(r *http.Request) string {
	vars := mux.Vars(r)
	for _, k := range []string{"registry", "username", "accountname"} {
		if v, ok := vars[k]; ok {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			if k == "registry" {
				return safeTarget(v)
			}
			return v
		}
	}
	return ""
}

// actorOf describes who made r: the caller the gate authenticated (c, nil
// when none) and the connection.
func actorOf(r *http.Request, c *Caller) audit.Actor {
	ci := ConnInfoFrom(r.Context())
	a := audit.Actor{PeerUID: -1, PeerPID: -1}
	if ci.Transport == TransportUnix {
		a.Transport, a.PeerUID, a.PeerPID, a.Method = "unix", ci.PeerUID, ci.PeerPID, "socket"
	} else {
		a.Transport = "tcp"
		if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			a.Client = h
		} else {
			a.Client = r.RemoteAddr
		}
	}
	if c != nil {
		a.User, a.Account, a.Method = c.User.Username, c.Account.Name, c.Method
	}
	return a
}

// noteCaller and noteNamespace complete the request's audit event (the
// gate and namespace call them).
func noteCaller(r *http.Request, c *Caller) {
	if rec, ok := r.Context().Value(auditKey{}).(*auditRecord); ok {
		rec.caller = c
	}
}

func noteNamespace(r *http.Request, ns string) {
	if rec, ok := r.Context().Value(auditKey{}).(*auditRecord); ok {
		rec.ev.Namespace = ns
	}
}

// auditFailedLogin records a refused authentication (wrong credentials or
// throttled): user is the name tried only when knownUser says so, as for
// logFailedLogin.
func (s *Server) auditFailedLogin(r *http.Request, err error) {
	var ra RetryAfter
	code := http.StatusUnauthorized
	switch {
	case !s.cfg.Audit.Enabled(audit.Change):
		return
	case errors.As(err, &ra):
		code = http.StatusTooManyRequests
	case !errors.Is(err, errUnauthorized):
		return // a server fault, logged by writeError
	}
	a := actorOf(r, nil)
	a.Method = ""
	if name, _, ok := r.BasicAuth(); ok {
		a.Method = "basic"
		if u, ok := s.knownUser(r.Context(), name); ok {
			a.User, a.Account = u.Username, u.Account
		}
	} else if _, ok := bearerToken(r); ok {
		a.Method = "bearer"
	}
	s.cfg.Audit.Log(r.Context(), audit.Event{Action: "auth.login", Kind: audit.Change, Actor: a, Code: code})
}

// clientDesc names a request's client for log lines: the TCP address, or
// the socket peer's uid and pid (a socket's RemoteAddr is only "@").
func clientDesc(r *http.Request) string {
	if ci := ConnInfoFrom(r.Context()); ci.Transport == TransportUnix {
		return "unix:uid=" + strconv.Itoa(ci.PeerUID) + ",pid=" + strconv.Itoa(ci.PeerPID)
	}
	return r.RemoteAddr
}
