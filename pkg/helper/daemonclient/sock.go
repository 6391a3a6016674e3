package daemonclient

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sockConn is one connection to the daemon's Unix socket, read and written
// with blocking system calls on the caller's thread.
//
// Not a net.Conn, nor an *os.File on the runtime's poller: the helper is a
// process per Docker request that makes one exchange, and linking the net
// package costs every start its init and size, while the poller costs the
// exchange an epoll set-up and a hand-off between threads for each wait.
// Both were measurable against the trivial helper (BENCHMARKS.md). The
// price is that a deadline is the socket's SO_RCVTIMEO/SO_SNDTIMEO, set
// before each call to the time left, and that cancellation shuts the
// socket down from the context's goroutine, which wakes a blocked read.
type sockConn struct {
	fd       int
	deadline time.Time

	mu     sync.Mutex // guards closed against shutdown racing Close
	closed bool
}

// dialUnix connects to path. The connect is non-blocking, so it never
// waits: nobody listening, or a daemon so wedged that its accept backlog is
// full (EAGAIN), fails at once and the helper uses the vault. The socket is
// then made blocking for the exchange.
func dialUnix(path string) (*sockConn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return &sockConn{fd: fd}, nil
}

// SetDeadline bounds every later Read and Write.
func (c *sockConn) SetDeadline(t time.Time) { c.deadline = t }

// arm sets the socket's timeout for the next call to the time left.
func (c *sockConn) arm(opt int) error {
	left := time.Until(c.deadline)
	if left <= 0 {
		return os.ErrDeadlineExceeded
	}
	// A zero timeval means "no timeout": never arm one below a
	// microsecond.
	tv := unix.NsecToTimeval(max(left.Nanoseconds(), int64(time.Microsecond)))
	return unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, opt, &tv)
}

// Read reads once. A timeout is os.ErrDeadlineExceeded; a socket shut
// down by Shutdown reads as io.EOF.
func (c *sockConn) Read(p []byte) (int, error) {
	for {
		// Armed again after an interrupted call: the kernel starts the
		// timeout afresh with each call.
		if err := c.arm(unix.SO_RCVTIMEO); err != nil {
			return 0, err
		}
		n, err := unix.Read(c.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, os.ErrDeadlineExceeded
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p. MSG_NOSIGNAL: a daemon that closed the
// connection early is an EPIPE error here, never a SIGPIPE.
func (c *sockConn) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		if err := c.arm(unix.SO_SNDTIMEO); err != nil {
			return written, err
		}
		n, err := unix.SendmsgN(c.fd, p[written:], nil, nil, unix.MSG_NOSIGNAL)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return written, os.ErrDeadlineExceeded
		case err != nil:
			return written, os.NewSyscallError("write", err)
		}
		written += n
	}
	return written, nil
}

// Shutdown ends the exchange from another goroutine: a blocked Read
// returns io.EOF, a blocked Write an error. It does nothing after Close,
// when the descriptor's number may already belong to another file.
func (c *sockConn) Shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
}

// Close closes the socket.
func (c *sockConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("close: already closed")
	}
	c.closed = true
	return unix.Close(c.fd)
}
