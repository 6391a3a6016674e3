// Package nodump keeps secrets in memory out of core files and away from
// other processes of the same user: both binaries hold the decrypted vault
// document, and the daemon the token signing key. It sets the process
// non-dumpable (PR_SET_DUMPABLE 0: no core file, no ptrace attach or
// /proc/PID/mem by the same uid) and the core size limit to zero, which
// also holds when a crash handler ignores dumpability.
//
// It links only x/sys/unix, so the helper binary's start stays light.
package nodump

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Disable turns core dumps off for this process for good (an execve of a
// normal binary makes it dumpable again, which the other binary undoes in
// its turn).
func Disable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE, 0): %w", err)
	}
	return nil
}

// Dumpable reports the process's PR_GET_DUMPABLE, for tests.
func Dumpable() (bool, error) {
	r, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return false, err
	}
	return r != 0, nil
}
