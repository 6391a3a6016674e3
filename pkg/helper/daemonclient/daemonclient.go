// Package daemonclient is the helper's Backend over anchored's Unix socket:
// the protocol actions as POSTs to /v1/credential-helper/{get,store,erase,
// list}, carrying the protocol's own payloads (internal/apitype). When the
// daemon answers, a "get" costs a socket round trip instead of an scrypt,
// and ECR tokens come from the daemon's memory.
//
// Callers tell "the daemon is not there" (errors.Is(err, ErrNotRunning):
// fall back to the vault) from "the daemon answered no" (a *StatusError, or
// helper.ErrNotFound for a 404). A socket that accepts but gives no HTTP
// answer (closes, resets, or stays silent past the exchange's deadline) is
// "not there" too, and also matches ErrNoAnswer, so that the caller can say
// why it passed the daemon over. The zero Client is usable: it talks to the
// socket that ANCHORED_SOCKET or the per-user default names.
package daemonclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/anchored/anchored/internal/apitype"
	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/pkg/helper"
)

// ErrNotRunning means nothing answered on the socket (no file, or nobody
// listening): the daemon is not running, and the helper uses the vault.
var ErrNotRunning = errors.New("anchored is not running")

// ErrNoAnswer means the socket accepted the connection but no HTTP answer
// came: it was closed or reset before a status line and headers (what
// anchored does to a peer it refuses), or nothing came within the
// exchange's deadline. Errors matching it also match ErrNotRunning.
var ErrNoAnswer = errors.New("anchored did not answer")

// DefaultTimeout bounds one whole exchange (connect, request, answer). It
// covers a daemon that fetches an ECR token cold (one STS and one ECR call,
// about a second, more on a slow network), and keeps a wedged daemon from
// hanging a pull: past it the helper uses the vault.
const DefaultTimeout = 15 * time.Second

// DefaultDialTimeout bounds the connect. Connecting to a Unix socket fails
// at once when nobody listens; the timeout only guards against a daemon
// that is wedged with a full accept backlog, so that "get" falls back to
// the vault quickly instead of hanging a pull.
const DefaultDialTimeout = 500 * time.Millisecond

// maxAnswer caps an answer body: one credentials object, or the list of an
// account's entries.
const maxAnswer = 4 << 20

// Client talks to anchored over its Unix socket. Its zero value is usable.
type Client struct {
	// Socket is the socket's path; empty means ANCHORED_SOCKET, else
	// $XDG_RUNTIME_DIR/anchored.sock.
	Socket string
	// Dial, if set, replaces the Unix-socket dialer (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds the connect; zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// Timeout bounds the whole exchange; zero means DefaultTimeout. The
	// caller's context can only shorten it.
	Timeout time.Duration
}

var _ helper.Backend = (*Client)(nil)

// StatusError is an answer other than 2xx. Its text is the daemon's
// message, which is what the helper prints, so that the daemon and the
// vault backends give the same answer.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// Unwrap makes a 404 match helper.ErrNotFound and a 503 (the daemon
// cannot read its vault) match helper.ErrUnavailable, so the protocol layer
// treats them as it treats the vault backend's.
func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusNotFound:
		return helper.ErrNotFound
	case http.StatusServiceUnavailable:
		return helper.ErrUnavailable
	}
	return nil
}

func (c *Client) socket() string {
	if c.Socket != "" {
		return c.Socket
	}
	return config.ResolvePaths(config.Flags{}, os.Getenv, config.File{}).Socket
}

// dial connects to the socket within the dial timeout.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	timeout := c.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	path := c.socket()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn net.Conn
	var err error
	if c.Dial != nil {
		conn, err = c.Dial(dctx, "unix", path)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(dctx, "unix", path)
	}
	if err != nil {
		return nil, &dialError{path: path, err: err}
	}
	return conn, nil
}

type dialError struct {
	path string
	err  error
}

func (e *dialError) Error() string {
	return fmt.Sprintf("%v on %s (start it with 'systemctl --user start anchored', or unset ANCHORED_SOCKET): %v", ErrNotRunning, e.path, e.err)
}

func (e *dialError) Unwrap() []error { return []error{ErrNotRunning, e.err} }

// noAnswerError is a connection that gave no HTTP answer. Its text names
// the socket and the cause (a network error: no secret).
type noAnswerError struct {
	path string
	err  error
}

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("anchored at %s did not answer (%v)", e.path, e.err)
}

func (e *noAnswerError) Unwrap() []error { return []error{ErrNoAnswer, ErrNotRunning, e.err} }

// timeoutError is the cause of a noAnswerError when the deadline passed,
// worded for the user rather than as the read's "i/o timeout".
type timeoutError struct{ d time.Duration }

func (e timeoutError) Error() string { return fmt.Sprintf("no answer within %v", e.d) }
func (e timeoutError) Unwrap() error { return os.ErrDeadlineExceeded }

// do POSTs body to path and returns the answer's body on 2xx.
//
// One request per connection, written and read on this goroutine, without
// an http.Transport: the helper is a process per Docker request, and a
// Transport's connection pool and its reader and writer goroutines cost
// more at a process start than the request itself (BENCHMARKS.md).
func (c *Client) do(ctx context.Context, path, contentType string, body []byte) ([]byte, error) {
	// The host name is never resolved: the request goes to the socket.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://local-anchored.sock"+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("anchored: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Close = true
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// One deadline for the whole exchange, set once on the connection (a
	// runtime timer, no goroutine): the earlier of the exchange's bound and
	// the caller's deadline.
	deadline := time.Now().Add(timeout)
	ctxDeadline := false
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline, ctxDeadline = dl, true
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	// The caller's cancellation unblocks a read or write in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	res, err := exchange(conn, req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("anchored: %w", ctx.Err())
		case ctxDeadline && errors.Is(err, os.ErrDeadlineExceeded):
			// The caller's deadline, which its timer has not reported yet.
			return nil, fmt.Errorf("anchored: %w", context.DeadlineExceeded)
		case errors.Is(err, os.ErrDeadlineExceeded):
			err = timeoutError{timeout}
		}
		// No status line and headers came: whatever holds the socket did
		// not answer, which is not an answer either (SPEC section 3: an
		// unusable daemon must not break every pull).
		return nil, &noAnswerError{path: c.socket(), err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("anchored: read answer: %w", err)
	}
	if res.StatusCode/100 == 2 {
		return b, nil
	}
	return nil, statusError(res.StatusCode, b)
}

// exchange writes req on conn and reads its response (Content-Length or
// chunked, as net/http's server sends them). A failed write still reads:
// a daemon that answers early and closes (a body over its limit) has
// answered, and that answer is the answer.
func exchange(conn net.Conn, req *http.Request) (*http.Response, error) {
	w := bufio.NewWriter(conn)
	werr := req.Write(w)
	if werr == nil {
		werr = w.Flush()
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil && werr != nil {
		return nil, werr
	}
	return res, err
}

// statusError reads an Anchore error body; a body that is not one (a 401
// from a daemon that does not serve the helper endpoints on this listener)
// gives the status text.
func statusError(code int, b []byte) error {
	var e apitype.Error
	msg := ""
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		msg = e.Message
	} else if s := strings.TrimSpace(string(b)); s != "" && len(s) < 200 {
		msg = "anchored: " + s
	} else {
		msg = "anchored: " + http.StatusText(code)
	}
	return &StatusError{Code: code, Message: msg}
}

// Get asks the daemon to resolve serverURL.
func (c *Client) Get(ctx context.Context, serverURL string) (helper.Credentials, error) {
	b, err := c.do(ctx, apitype.HelperGetPath, "text/plain", []byte(serverURL))
	if err != nil {
		return helper.Credentials{}, err
	}
	var hc apitype.HelperCredentials
	if err := json.Unmarshal(b, &hc); err != nil {
		return helper.Credentials{}, fmt.Errorf("anchored: bad answer to get: %w", err)
	}
	return helper.Credentials{ServerURL: hc.ServerURL, Username: hc.Username, Secret: hc.Secret}, nil
}

// Store asks the daemon to store cr.
func (c *Client) Store(ctx context.Context, cr helper.Credentials) error {
	b, err := json.Marshal(apitype.HelperCredentials{ServerURL: cr.ServerURL, Username: cr.Username, Secret: cr.Secret})
	if err != nil {
		return fmt.Errorf("anchored: %w", err)
	}
	_, err = c.do(ctx, apitype.HelperStorePath, "application/json", b)
	return err
}

// Erase asks the daemon to remove the entry of serverURL's key.
func (c *Client) Erase(ctx context.Context, serverURL string) error {
	_, err := c.do(ctx, apitype.HelperErasePath, "text/plain", []byte(serverURL))
	return err
}

// List asks the daemon for the helper account's entries.
func (c *Client) List(ctx context.Context) (map[string]string, error) {
	b, err := c.do(ctx, apitype.HelperListPath, "", nil)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("anchored: bad answer to list: %w", err)
	}
	return m, nil
}
