// Command anchored serves the Anchore Engine authentication API (accounts,
// users, OAuth2 tokens) over a Unix socket, HTTPS or loopback HTTP, and
// keeps the vault unlocked for docker-credential-anchore.
//
// Run with argv[0] docker-credential-anchore, it is that helper's full
// command line (registry, vault, configure-docker, help, completion):
// docker-credential-anchore serves the Docker protocol itself and execs
// this binary for everything else, so that the binary Docker starts on
// every pull does not link urfave/cli, the AWS SDK and the rest.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/anchored/anchored/internal/helpercli"
	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/internal/nodump"
	"github.com/anchored/anchored/internal/passphrase"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
)

func main() {
	if filepath.Base(os.Args[0]) == helpercli.Name {
		os.Exit(helperMain())
	}
	os.Exit(run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// helperMain is docker-credential-anchore's command line, with the AWS SDK
// in process (no "anchored ecr" child needed here).
func helperMain() int {
	_ = nodump.Disable() // the vault is decrypted here too; see internal/nodump
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return helpercli.Main(ctx, os.Args, helpercli.Env{Env: helperproto.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Prompt: passphrase.TTYPrompt,
		ECR:    awsecr.Client{},
	}})
}
