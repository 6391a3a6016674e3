package tokenserver

import "context"

// Transport says how a request reached the server.
type Transport int

const (
	// TransportTCP is HTTP or HTTPS over TCP (and the zero value: a request
	// with no ConnInfo is treated as remote).
	TransportTCP Transport = iota
	// TransportUnix is the daemon's Unix socket, whose peer was checked
	// when the connection was accepted.
	TransportUnix
)

// ConnInfo describes the connection a request came on.
type ConnInfo struct {
	Transport Transport
	// PeerUID and PeerGID are the socket peer's credentials (SO_PEERCRED);
	// -1 over TCP.
	PeerUID, PeerGID int
	// PeerPID is the socket peer's process id; -1 over TCP (the audit
	// log's "who").
	PeerPID int
}

type connInfoKey struct{}

// WithConnInfo returns ctx carrying ci; the daemon calls it from
// http.Server.ConnContext, once per connection.
func WithConnInfo(ctx context.Context, ci ConnInfo) context.Context {
	return context.WithValue(ctx, connInfoKey{}, ci)
}

// ConnInfoFrom returns the request's ConnInfo (TCP with unknown peer if
// none was set).
func ConnInfoFrom(ctx context.Context) ConnInfo {
	if ci, ok := ctx.Value(connInfoKey{}).(ConnInfo); ok {
		return ci
	}
	return ConnInfo{Transport: TransportTCP, PeerUID: -1, PeerGID: -1, PeerPID: -1}
}
