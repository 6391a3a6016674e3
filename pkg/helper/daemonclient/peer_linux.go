package daemonclient

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode"

	"golang.org/x/sys/unix"
)

// ErrUntrustedPeer means the process holding the socket is not one the
// helper may talk to: nothing was sent to it. Errors matching it also match
// ErrNoAnswer and ErrNotRunning, so the Fallback says so once and answers
// from the vault.
var ErrUntrustedPeer = errors.New("socket is held by an untrusted process")

// trustedPeer reports whether uid may be the daemon behind the socket at
// path: root; the helper's own uid (the per-user daemon); or the owner of
// the socket's directory when nobody else can write that directory (the
// system daemon: /run/anchored belongs to the anchored user, and a
// configured socket path is the user's word that its directory's owner
// runs the daemon). A socket in a directory others can write (/tmp) is
// trusted only from root or the helper's own uid: anyone could have made
// it.
func trustedPeer(uid int, path string) bool {
	if uid == 0 || uid == os.Getuid() {
		return true
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode().Perm()&0o022 == 0 && int(st.Uid) == uid
}

// checkPeer reads the socket peer's uid (SO_PEERCRED: the credentials of
// the process that listened) before anything is written on the socket.
func checkPeer(fd int, path string) error {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return &peerError{path: path, uid: -1, err: err}
	}
	if !trustedPeer(int(cred.Uid), path) {
		return &peerError{path: path, uid: int(cred.Uid)}
	}
	return nil
}

// peerError is a socket the helper refused to talk to. Its text is one
// line: the path (quoted, so no byte of it reaches a terminal raw), and the
// uid.
type peerError struct {
	path string
	uid  int
	err  error
}

func (e *peerError) Error() string {
	if e.uid < 0 {
		return fmt.Sprintf("refusing the socket %s: its peer credentials are unavailable (%v)", strconv.Quote(e.path), e.err)
	}
	return fmt.Sprintf("refusing the socket %s: it is held by uid %d, not root, you or the owner of its directory", strconv.Quote(e.path), e.uid)
}

func (e *peerError) Unwrap() []error { return []error{ErrUntrustedPeer, ErrNoAnswer, ErrNotRunning} }

// Sanitize makes text from the daemon safe for a terminal: control
// characters (escape sequences above all) and invalid UTF-8 become "?",
// and line breaks a space, so a message stays one line.
func Sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r == unicode.ReplacementChar, unicode.IsControl(r), r == '\u2028', r == '\u2029',
			unicode.Is(unicode.Bidi_Control, r):
			return '?'
		}
		return r
	}, s)
}
