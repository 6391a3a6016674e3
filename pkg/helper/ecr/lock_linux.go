package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anchored/anchored/pkg/flock"
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
	f, err := flock.Lock(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("ecr token lock: %w", err)
	}
	return func() { _ = f.Close() }, nil // closing releases the flock
}
