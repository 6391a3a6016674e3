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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := helpercli.Main(ctx, os.Args, helpercli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Prompt: passphrase.TTYPrompt,
	})
	stop()
	os.Exit(code)
}
