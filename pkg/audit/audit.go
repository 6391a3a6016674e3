// Package audit records who did what to the vault's records: one
// structured event per credential read and per change, through a slog
// handler of its own (a file for logrotate, or the daemon's stderr for the
// journal). An event names the actor, the action, its target and its
// outcome; it never carries a secret: callers pass names, never values.
package audit

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Kind says whether an action reads credentials or changes records.
type Kind int

const (
	// None: the action is not audited.
	None Kind = iota
	// Change: accounts, users, credentials, registries, keys. Always
	// recorded when auditing is on.
	Change
	// Read: a read that hands out or shows credentials (the helper's get,
	// registry reads). Recorded when reads are on.
	Read
)

// Actor is who acted.
type Actor struct {
	User    string // "" when unauthenticated (socket, failed login)
	Account string
	Method  string // "basic", "bearer", "socket" or ""
	// Transport is "unix" or "tcp".
	Transport string
	// PeerUID and PeerPID identify a socket client (SO_PEERCRED); -1 over
	// TCP.
	PeerUID, PeerPID int
	// Client is a TCP client's address ("" on the socket).
	Client string
}

// Event is one audited action.
type Event struct {
	Action string // "account.create", "helper.get", ...
	Kind   Kind
	Actor  Actor
	// Namespace is the account acted in (x-anchore-account, or the
	// caller's), when it applies.
	Namespace string
	// Target names the record (account, user, registry or server URL).
	Target string
	// Code is the HTTP status answered; Outcome "success" below 400,
	// else "failure".
	Code int
}

// Outcome is "success" or "failure" by the status code.
func (e Event) Outcome() string {
	if e.Code > 0 && e.Code < 400 {
		return "success"
	}
	return "failure"
}

// Logger writes events. The zero value and nil record nothing. Its
// handler and read switch can be replaced while it is used (a reload).
type Logger struct {
	cur atomic.Pointer[state]
}

type state struct {
	log   *slog.Logger
	reads bool
}

// New returns a Logger writing to log; reads turns read events on.
func New(log *slog.Logger, reads bool) *Logger {
	l := &Logger{}
	l.Set(log, reads)
	return l
}

// Set replaces the handler and the read switch (a nil log turns auditing
// off).
func (l *Logger) Set(log *slog.Logger, reads bool) {
	if log == nil {
		l.cur.Store(nil)
		return
	}
	l.cur.Store(&state{log: log, reads: reads})
}

// Enabled reports whether events of kind k are recorded: the check callers
// make before building an event, so that an unaudited request costs
// nothing.
func (l *Logger) Enabled(k Kind) bool {
	if l == nil || k == None {
		return false
	}
	st := l.cur.Load()
	return st != nil && (k == Change || st.reads)
}

// Log records e if its kind is enabled.
func (l *Logger) Log(ctx context.Context, e Event) {
	if !l.Enabled(e.Kind) {
		return
	}
	st := l.cur.Load()
	attrs := []slog.Attr{
		slog.String("action", e.Action),
		slog.String("outcome", e.Outcome()),
		slog.Int("code", e.Code),
	}
	if e.Target != "" {
		attrs = append(attrs, slog.String("target", e.Target))
	}
	if e.Namespace != "" {
		attrs = append(attrs, slog.String("namespace", e.Namespace))
	}
	a := e.Actor
	actor := []any{slog.String("transport", a.Transport)}
	if a.User != "" {
		actor = append(actor, slog.String("user", a.User), slog.String("account", a.Account))
	}
	if a.Method != "" {
		actor = append(actor, slog.String("method", a.Method))
	}
	if a.Transport == "unix" {
		actor = append(actor, slog.Int("peer_uid", a.PeerUID), slog.Int("peer_pid", a.PeerPID))
	} else if a.Client != "" {
		actor = append(actor, slog.String("client", a.Client))
	}
	attrs = append(attrs, slog.Group("actor", actor...))
	st.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}
