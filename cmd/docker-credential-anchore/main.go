// Command docker-credential-anchore is a Docker credential helper backed by
// an encrypted vault, and the tool that manages that vault's entries.
//
// This binary serves the Docker protocol actions (get, store, erase, list,
// version) itself, and links only what they need (internal/helperproto):
// Docker starts it for every pull, and Go runs every linked package's init
// before main. Every other command line (registry, vault,
// configure-docker, help, completion) is the full command tree of
// internal/helpercli, which the anchored binary of the same package
// carries: this binary replaces itself with anchored, named
// docker-credential-anchore in its argv[0], so that arguments, standard
// streams, the terminal and the exit code are the user's, unchanged.
package main

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/internal/nodump"
	"github.com/anchored/anchored/pkg/helper/ecr/ecrexec"
)

func main() {
	if helperproto.IsProtocol(os.Args) {
		// The vault's secrets may be in memory: no core file, no ptrace
		// by the same uid. A failure only loses that protection.
		_ = nodump.Disable()
		// The default signal disposition: a handler costs a locked OS
		// thread and goroutines at every start, and dying on a signal is
		// safe here (vault writes are a rename of a complete file; the ECR
		// lock is a flock the kernel drops with the process). Run bounds
		// the action itself (helperproto.ActionTimeout), and falls back to
		// the vault when the daemon's socket does not answer.
		os.Exit(helperproto.Run(context.Background(), os.Args[1], helperproto.Env{
			Stdin:  os.Stdin,
			Stdout: os.Stdout,
			Stderr: os.Stderr,
			Getenv: os.Getenv,
		}))
	}
	path, ok := ecrexec.Locate()
	if !ok {
		fmt.Fprintf(os.Stderr, "Error: %s's commands other than the Docker protocol run in anchored, which was not found beside %s or on PATH\n", helperproto.Name, helperproto.Name)
		os.Exit(2)
	}
	err := syscall.Exec(path, append([]string{helperproto.Name}, os.Args[1:]...), os.Environ())
	fmt.Fprintf(os.Stderr, "Error: run %s: %v\n", path, err)
	os.Exit(2)
}
