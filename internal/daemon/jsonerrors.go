package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
)

// Requests that net/http refuses before any handler runs (a request line
// that does not parse, such as a malformed escape in "GET
// /v1/registries/%zz"; headers too large) are answered by net/http itself
// with a plain-text body written straight to the connection. Anchore
// answers every error in its JSON; JSONErrors makes those answers JSON too.
// It works on the connection, so it applies to plain listeners (the socket,
// loopback HTTP): on HTTPS the server writes through the TLS connection,
// which a wrapper would hide from net/http (and with it r.TLS).

// goErrorHeaders is what net/http writes after the status line of its own
// error answers. A handler's answer never has it right after the status
// line: net/http writes a handler's headers sorted, Connection first, and
// always with a Date.
const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// JSONErrors wraps l so that net/http's own error answers are Anchore's
// JSON error.
func JSONErrors(l net.Listener) net.Listener { return jsonErrorsListener{l} }

type jsonErrorsListener struct{ net.Listener }

func (l jsonErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorsConn{Conn: c}, nil
}

type jsonErrorsConn struct{ net.Conn }

// NetConn returns the wrapped connection (connContext looks through it for
// the socket peer).
func (c *jsonErrorsConn) NetConn() net.Conn { return c.Conn }

func (c *jsonErrorsConn) Write(p []byte) (int, error) {
	if b, ok := jsonError(p); ok {
		if _, err := c.Conn.Write(b); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// jsonError rewrites one of net/http's own error answers; ok is false for
// anything else.
func jsonError(p []byte) ([]byte, bool) {
	if !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
		return nil, false
	}
	i := bytes.Index(p, []byte(goErrorHeaders))
	if i < 0 || bytes.Contains(p[:i], []byte("\r\n")) {
		return nil, false
	}
	status := string(p[len("HTTP/1.1 "):i])
	code, err := strconv.Atoi(status[:min(3, len(status))])
	if err != nil || code < 400 {
		return nil, false
	}
	msg := string(p[i+len(goErrorHeaders):])
	if len(msg) > 4 && msg[3] == ' ' {
		msg = msg[4:] // "400 Bad Request" -> "Bad Request"
	}
	body, _ := json.MarshalIndent(map[string]any{
		"detail": map[string]any{"error_codes": []string{}}, "httpcode": code, "message": msg,
	}, "", "  ")
	body = append(body, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, len(body), body), true
}
