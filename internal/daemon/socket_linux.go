package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Errors of the socket setup; the daemon reports them at start (exit 2).
var (
	ErrSocketDirWritable = errors.New("socket directory is writable by others")
	ErrSocketInUse       = errors.New("another process is listening on the socket")
)

// Peer is the credentials of a socket peer (SO_PEERCRED), and its
// supplementary groups (SO_PEERGROUPS) when the kernel gives them.
type Peer struct {
	UID, GID, PID int
	// Groups are the peer process's supplementary groups when it
	// connected, as the kernel holds them: whatever source (files, LDAP,
	// sssd) set them at login. GroupsKnown is false when the kernel does
	// not answer SO_PEERGROUPS (before Linux 4.13).
	Groups      []int
	GroupsKnown bool
}

// CheckSocketDir refuses a socket directory that others can write: anyone
// who can write it can replace the socket with their own and collect the
// credentials clients send. A missing directory is fine (it is created
// 0700).
func CheckSocketDir(socketPath string) error {
	dir := filepath.Dir(socketPath)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		mode := uint32(fi.Mode().Perm())
		if fi.Mode()&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
		return fmt.Errorf("%w: %s has mode %04o", ErrSocketDirWritable, dir, mode)
	}
	return nil
}

// PeerPolicy decides which peers may use the socket: the daemon's own uid
// and root always; members of Group only when GroupAccess (the socket is
// 0660, the system service's setup).
type PeerPolicy struct {
	UID         int
	GID         int
	GroupAccess bool
	// inGroup reports whether uid is a member of gid, asked only when the
	// kernel does not give the peer's groups; os/user by default (with
	// CGO_ENABLED=0, /etc/group only), replaced in tests.
	inGroup func(uid, gid int) bool
}

// Allowed applies the policy. It fails closed.
func (p PeerPolicy) Allowed(peer Peer) bool {
	if peer.UID == p.UID || peer.UID == 0 {
		return true
	}
	if !p.GroupAccess {
		return false
	}
	if peer.GID == p.GID {
		return true
	}
	if peer.GroupsKnown {
		// The process's own groups are the truth; the group database is
		// consulted only when the kernel cannot say.
		return slices.Contains(peer.Groups, p.GID)
	}
	in := p.inGroup
	if in == nil {
		in = userInGroup
	}
	return in(peer.UID, p.GID)
}

func userInGroup(uid, gid int) bool {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return false
	}
	ids, err := u.GroupIds()
	if err != nil {
		return false
	}
	return slices.Contains(ids, strconv.Itoa(gid))
}

// ListenUnix listens on path. The directory is created 0700 if missing. The
// socket is 0600, or 0660 with the directory's group when the directory
// lets its group in (the system service: RuntimeDirectoryMode=0750 and the
// service's group). A stale socket file is removed only after a probe finds
// nobody answering.
func ListenUnix(ctx context.Context, path string, log *slog.Logger) (*UnixListener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if err := CheckSocketDir(path); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		d := net.Dialer{Timeout: time.Second}
		if c, err := d.DialContext(ctx, "unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%w: %s", ErrSocketInUse, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	dfi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	st := dfi.Sys().(*syscall.Stat_t)
	groupAccess := dfi.Mode().Perm()&0o010 != 0
	mode := os.FileMode(0o600)
	if groupAccess {
		mode = 0o660
	}
	// The umask makes the socket private from the first instant; the
	// chmod below then opens it exactly as far as wanted.
	old := unix.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if groupAccess {
		if err := os.Lchown(path, -1, int(st.Gid)); err != nil {
			l.Close()
			return nil, fmt.Errorf("socket group: %w", err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("socket mode: %w", err)
	}
	return NewUnixListener(l, PeerPolicy{UID: os.Getuid(), GID: int(st.Gid), GroupAccess: groupAccess}, log), nil
}

// UnixListener accepts only connections whose peer the policy allows;
// others are closed at once, before any byte is read.
type UnixListener struct {
	*net.UnixListener
	policy  PeerPolicy
	log     *slog.Logger
	refused refusalLog
}

// NewUnixListener wraps l (also one passed by systemd).
func NewUnixListener(l *net.UnixListener, policy PeerPolicy, log *slog.Logger) *UnixListener {
	if log == nil {
		log = slog.Default()
	}
	return &UnixListener{UnixListener: l, policy: policy, log: log}
}

// PolicyFor derives the policy for a socket file made by someone else
// (systemd): group access when the file is group-writable.
func PolicyFor(path string) PeerPolicy {
	p := PeerPolicy{UID: os.Getuid(), GID: os.Getgid()}
	if fi, err := os.Stat(path); err == nil {
		p.GID = int(fi.Sys().(*syscall.Stat_t).Gid)
		p.GroupAccess = fi.Mode().Perm()&0o020 != 0
	}
	return p
}

// Accept returns the next allowed connection as a *PeerConn.
func (l *UnixListener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		peer, err := peerOf(c)
		if err != nil {
			if ok, n := l.refused.allow(-1); ok {
				l.log.Warn("socket connection refused: peer credentials unavailable", "err", err, "suppressed", n)
			}
			c.Close()
			continue
		}
		if !l.policy.Allowed(peer) {
			if ok, n := l.refused.allow(peer.UID); ok {
				l.log.Warn("socket connection refused", "peer_uid", peer.UID, "peer_gid", peer.GID, "peer_pid", peer.PID, "suppressed", n)
			}
			c.Close()
			continue
		}
		return &PeerConn{UnixConn: c, Peer: peer}, nil
	}
}

// refusalLog rate-limits the warnings about refused connections: a local
// user looping on connect would otherwise fill the journal. At most one
// warning per peer uid per refusalLogEvery; the next one carries how many
// were left out in between. The zero value is ready.
type refusalLog struct {
	mu   sync.Mutex
	now  func() time.Time // time.Now when nil; tests inject a clock
	last map[int]refusal  // by peer uid (-1: credentials unavailable)
}

type refusal struct {
	at         time.Time
	suppressed int
}

const (
	refusalLogEvery = time.Minute
	// maxRefusalUIDs bounds the map; past it, uids quiet for a minute go.
	maxRefusalUIDs = 1024
)

// allow reports whether to log a refusal of uid now, and how many refusals
// of uid were not logged since the last one.
func (r *refusalLog) allow(uid int) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	t := now()
	e, ok := r.last[uid]
	if ok && t.Sub(e.at) < refusalLogEvery {
		e.suppressed++
		r.last[uid] = e
		return false, 0
	}
	if r.last == nil {
		r.last = map[int]refusal{}
	}
	if len(r.last) >= maxRefusalUIDs {
		for k, v := range r.last {
			if t.Sub(v.at) >= refusalLogEvery {
				delete(r.last, k)
			}
		}
		if len(r.last) >= maxRefusalUIDs {
			clear(r.last) // a flood of uids: forget rather than grow
		}
	}
	r.last[uid] = refusal{at: t}
	return true, e.suppressed
}

// PeerConn is an accepted socket connection with its checked peer.
type PeerConn struct {
	*net.UnixConn
	Peer Peer
}

func peerOf(c *net.UnixConn) (Peer, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var groups []int
	var serr, gerr error
	if err := rc.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		groups, gerr = peerGroups(int(fd))
	}); err != nil {
		return Peer{}, err
	}
	if serr != nil {
		return Peer{}, serr
	}
	return Peer{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid), Groups: groups, GroupsKnown: gerr == nil}, nil
}

// peerGroups reads SO_PEERGROUPS: the peer's supplementary group ids, as
// an array of 32-bit gids (x/sys/unix has no typed getter for it; its
// string getter stops at the first zero byte).
func peerGroups(fd int) ([]int, error) {
	buf := make([]uint32, 64)
	for {
		size := uint32(len(buf) * 4)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		if errno == unix.ERANGE && int(size/4) > len(buf) {
			buf = make([]uint32, size/4) // the kernel said how many
			continue
		}
		if errno != 0 {
			return nil, errno
		}
		gids := make([]int, size/4)
		for i := range gids {
			gids[i] = int(buf[i])
		}
		return gids, nil
	}
}
