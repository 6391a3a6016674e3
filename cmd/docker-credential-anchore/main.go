// Command docker-credential-anchore is a Docker credential helper backed by
// an encrypted vault, and the tool that manages that vault's entries.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/anchored/anchored/internal/helpercli"
	"github.com/anchored/anchored/internal/passphrase"
)

func main() {
	ctx := context.Background()
	// The protocol actions keep the default signal disposition: Docker runs
	// one per pull, and a handler costs a locked OS thread and goroutines at
	// every start. Dying on a signal is safe there: vault writes are a
	// rename of a complete file, and the ECR lock is a flock the kernel
	// drops with the process. Management commands, which may prompt or wait
	// on a lock, get a context that a signal cancels.
	if !helpercli.IsProtocol(os.Args) {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	code := helpercli.Main(ctx, os.Args, helpercli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Prompt: passphrase.TTYPrompt,
	})
	os.Exit(code)
}
