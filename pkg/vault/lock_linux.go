package vault

import (
	"context"
	"fmt"
	"os"

	"github.com/anchored/anchored/pkg/flock"
)

// fileLock is an exclusive flock on the lock file beside the vault. flock
// locks belong to the open file description, so two Vaults in one process
// exclude each other too, and the kernel drops the lock when a process dies.
type fileLock struct{ f *os.File }

func lockFile(ctx context.Context, path string) (*fileLock, error) {
	f, err := flock.Lock(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("vault lock: %w", err)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) unlock() error {
	// Closing the descriptor releases the flock.
	return l.f.Close()
}

// publishNoReplace makes tmp visible at path only if nothing is there yet.
func publishNoReplace(tmp, path string) error {
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return os.Remove(tmp)
}
