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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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

// maxAnswer caps an answer body: one credentials object, or the list of an
// account's entries.
const maxAnswer = 4 << 20

// Client talks to anchored over its Unix socket. Its zero value is usable.
type Client struct {
	// Socket is the socket's path; empty means ANCHORED_SOCKET, else
	// $XDG_RUNTIME_DIR/anchored.sock.
	Socket string
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
	case 404:
		return helper.ErrNotFound
	case 503:
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

// dial connects to the socket (dialUnix).
func (c *Client) dial() (*sockConn, error) {
	path := c.socket()
	conn, err := dialUnix(path)
	if err != nil {
		return nil, &dialError{path: path, err: err}
	}
	if err := checkPeer(conn.fd, path); err != nil { // peer_linux.go
		conn.Close()
		return nil, err
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
// One request per connection, written and read on this goroutine, by the
// small HTTP/1.0 exchange below rather than net/http: the helper is a
// process per Docker request, and linking net/http (with crypto/tls and
// x509 behind it) costs more at every process start than the whole
// exchange (BENCHMARKS.md). HTTP/1.0 is what makes that small and safe:
// the peer is net/http's server, which answers a 1.0 request without
// chunking and closes the connection after it, so the body is delimited by
// Content-Length or by the close, and there is no connection to reuse.
func (c *Client) do(ctx context.Context, path, contentType string, body []byte) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// One deadline for the whole exchange: the earlier of the exchange's
	// bound and the caller's deadline.
	deadline := time.Now().Add(timeout)
	ctxDeadline := false
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline, ctxDeadline = dl, true
	}
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	// The caller's cancellation unblocks a read or write in progress.
	stop := context.AfterFunc(ctx, conn.Shutdown)
	defer stop()
	br, err := exchange(conn, request(path, contentType, body))
	var code int
	var length int64
	if err == nil {
		code, length, err = readHead(br)
	}
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
	b, err := readBody(br, length)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("anchored: %w", ctx.Err())
		}
		return nil, fmt.Errorf("anchored: read answer: %w", err)
	}
	if code/100 == 2 {
		return b, nil
	}
	return nil, statusError(code, b)
}

// request is one POST. The host name is never resolved: the request goes
// to the socket.
func request(path, contentType string, body []byte) []byte {
	req := make([]byte, 0, 160+len(body))
	req = fmt.Appendf(req, "POST %s HTTP/1.0\r\nHost: local-anchored.sock\r\nUser-Agent: docker-credential-anchore\r\nContent-Length: %d\r\n", path, len(body))
	if contentType != "" {
		req = fmt.Appendf(req, "Content-Type: %s\r\n", contentType)
	}
	req = append(req, "\r\n"...)
	return append(req, body...)
}

// exchange writes req on conn and returns the reader of its answer. A
// failed write still reads: a daemon that answers early and closes (a body
// over its limit) has answered, and that answer is the answer.
func exchange(conn io.ReadWriter, req []byte) (*bufio.Reader, error) {
	_, werr := conn.Write(req)
	br := bufio.NewReaderSize(conn, maxHeadLine)
	if _, err := br.Peek(1); err != nil && werr != nil {
		return nil, werr
	}
	return br, nil
}

// errMalformed is an answer that is not HTTP.
var errMalformed = errors.New("malformed HTTP answer")

// maxHeaders bounds the header lines of an answer (anchored sends a few).
const maxHeaders = 100

// readHead reads the status line and the headers, and returns the status
// code and the body's Content-Length (-1: the body ends at the close). It refuses a transfer encoding:
// net/http's server never chunks an answer to HTTP/1.0, so one means the
// peer is not anchored.
func readHead(br *bufio.Reader) (code int, length int64, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, -1, err
	}
	proto, status, _ := strings.Cut(line, " ")
	code, err = strconv.Atoi(status[:min(3, len(status))])
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || code < 100 || code > 999 {
		return 0, -1, fmt.Errorf("%w: status line %.40q", errMalformed, line)
	}
	length = -1
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return 0, -1, err
		}
		if line == "" {
			break
		}
		if n == maxHeaders {
			return 0, -1, fmt.Errorf("%w: over %d header lines", errMalformed, maxHeaders)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return 0, -1, fmt.Errorf("%w: header line %.40q", errMalformed, line)
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Transfer-Encoding"):
			return 0, -1, fmt.Errorf("%w: transfer encoding %.20q", errMalformed, value)
		case strings.EqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return 0, -1, fmt.Errorf("%w: content length %.20q", errMalformed, value)
			}
			if n > maxAnswer {
				return 0, -1, fmt.Errorf("%w: an answer of %d bytes", errMalformed, n)
			}
			length = n
		}
	}
	return code, length, nil
}

// maxHeadLine bounds one line of the status and headers.
const maxHeadLine = 8 << 10

// readLine reads one CRLF- (or LF-) terminated line of the answer's head.
// A connection that ends inside the head is io.ErrUnexpectedEOF.
func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	switch {
	case err == io.EOF:
		return "", io.ErrUnexpectedEOF
	case errors.Is(err, bufio.ErrBufferFull) || len(b) > maxHeadLine:
		return "", fmt.Errorf("%w: a header line over %d bytes", errMalformed, maxHeadLine)
	case err != nil:
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// readBody reads the rest of the answer: exactly length bytes (readHead
// bounded it; fewer is io.ErrUnexpectedEOF), or, for -1, up to the close.
func readBody(br *bufio.Reader, length int64) ([]byte, error) {
	if length >= 0 {
		b := make([]byte, length)
		if _, err := io.ReadFull(br, b); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(br, maxAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("an answer over %d bytes", maxAnswer)
	}
	return b, nil
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
		msg = fmt.Sprintf("anchored: HTTP status %d", code)
	}
	return &StatusError{Code: code, Message: Sanitize(msg)}
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
