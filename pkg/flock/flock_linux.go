// Package flock takes exclusive flock(2) locks that a context can abandon.
// The vault's writer lock and the per-registry ECR token locks both use it.
//
// flock locks belong to the open file description, so they exclude
// goroutines of one process and other processes alike, and the kernel drops
// them when their holder dies: a SIGKILLed writer never leaves a stale lock.
package flock

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Lock opens (creating 0600, never following a symlink) and exclusively
// locks the file at path. It polls with LOCK_NB, backing off from 0.5 ms to
// 20 ms, because a blocking flock cannot be interrupted by ctx. Closing the
// returned file releases the lock.
func Lock(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	delay := 500 * time.Microsecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}
