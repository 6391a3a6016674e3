package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLockDir: the lock directory is not a directory only its owner can
// enter; another user could otherwise hold our locks or plant files.
var ErrLockDir = errors.New("ecr lock directory unusable")

// lockDir is a Locker with one empty lock file per cache key. The file is
// named by a hash of the key, so no account or host name appears on disk,
// and it is never removed: removing a lock file races with a process about
// to lock it.
type lockDir struct{ dir string }

// NewLockDir returns a Locker keeping its lock files in dir, created 0700
// when missing. flock locks belong to the open file description, so they
// exclude goroutines and processes alike, and die with their process.
func NewLockDir(dir string) Locker { return lockDir{dir: dir} }

func (l lockDir) Lock(ctx context.Context, key string) (func(), error) {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLockDir, err)
	}
	fi, err := os.Lstat(l.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLockDir, err)
	}
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s must be a directory with mode 0700", ErrLockDir, l.dir)
	}
	sum := sha256.Sum256([]byte(key))
	path := filepath.Join(l.dir, hex.EncodeToString(sum[:16])+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open ecr lock: %w", err)
	}
	// LOCK_NB and a poll, because a blocking flock cannot be interrupted
	// by the caller's context.
	delay := 500 * time.Microsecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil // closing releases the flock
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for ecr lock: %w", ctx.Err())
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}
