// Package helpercli is docker-credential-anchore's command line: the five
// Docker protocol actions (through docker-credential-helpers' HandleCommand)
// and the management commands (urfave/cli/v3), one file per command group.
package helpercli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/cliusage"
	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/internal/version"
	"github.com/anchored/anchored/pkg/registries"
)

// Name is the binary's name, as Docker finds it on PATH.
const Name = helperproto.Name

// Env is everything the command line touches outside the process, injected
// so tests run it in-process without a terminal, a real clock or real AWS:
// the protocol path's helperproto.Env, and what only the management
// commands use.
type Env struct {
	helperproto.Env
	// Transport carries registry validation requests; nil means
	// http.DefaultTransport (tests trust their own CA through it). It is
	// here, not in helperproto.Env, so that the protocol binary does not
	// link net/http.
	Transport http.RoundTripper
	// ContainersSystemDir is the system registries.conf.d directory that
	// "configure-docker --system" writes to; "" means
	// /etc/containers/registries.conf.d (tests point it elsewhere).
	ContainersSystemDir string
}

// Exit codes (SPEC section 4).
const (
	ExitOK      = 0
	ExitFailed  = 1 // the operation failed: not found, rejected, validation, exists
	ExitNoStart = 2 // usage, unknown command, configuration, vault cannot be opened
)

// exitError carries an exit code with a one-line message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func failed(err error) error  { return &exitError{code: ExitFailed, err: err} }
func noStart(err error) error { return &exitError{code: ExitNoStart, err: err} }

// IsProtocol reports whether args (args[0] is the program name) are one of
// the Docker protocol actions, which Main serves without the command tree.
func IsProtocol(args []string) bool { return helperproto.IsProtocol(args) }

// Main runs the helper with args (args[0] is the program name) and returns
// the exit code. The protocol actions go to helperproto, everything else to
// the urfave/cli command tree. docker-credential-anchore itself calls
// helperproto directly and runs Main in anchored for the rest (see
// cmd/docker-credential-anchore); tests and anchored call Main.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	if IsProtocol(args) {
		return helperproto.Run(ctx, args[1], env.Env)
	}
	root := rootCommand(&env)
	err := root.Run(ctx, args)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "Error: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// urfave/cli's own errors are usage errors.
	return ExitNoStart
}

func rootCommand(env *Env) *cli.Command {
	root := &cli.Command{
		Name:      Name,
		Usage:     "Docker credential helper backed by an encrypted vault and anchored",
		Version:   version.Version,
		Reader:    env.Stdin,
		Writer:    env.Stdout,
		ErrWriter: env.Stderr,
		Flags:     globalFlags(),
		// "completion bash|zsh|fish" and --generate-shell-completion, which
		// the installed completion scripts call (packaging, issue 6).
		EnableShellCompletion: true,
		// Errors are printed once, by Main.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Action:         unknownCommand,
		Commands: []*cli.Command{
			vaultCommand(env),
			registryCommand(env),
			configureDockerCommand(env),
		},
	}
	cliusage.Quiet(root)
	return root
}

// globalFlags are accepted before or after any command (urfave/cli/v3
// passes persistent flags down).
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "config file (env ANCHORE_CONFIG)"},
		&cli.StringFlag{Name: "vault", Usage: "vault file (env ANCHORE_VAULT)"},
		&cli.StringFlag{Name: "socket", Usage: "anchored socket (env ANCHORED_SOCKET)"},
		&cli.StringFlag{Name: "passphrase-file", Usage: "file holding the vault passphrase (env ANCHORE_VAULT_PASSPHRASE_FILE)"},
		&cli.StringFlag{Name: "account", Value: registries.DefaultAccount, Usage: "account whose registry entries to manage"},
		&cli.BoolFlag{Name: "json", Usage: "print the API's JSON"},
	}
}

// unknownCommand is the action of a command that needs a subcommand: none
// given prints the help; anything else is a usage error (exit 2), never
// urfave/cli's "No help topic".
func unknownCommand(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() == 0 {
		_ = cli.ShowSubcommandHelp(cmd)
		return noStart(fmt.Errorf("%s: a command is required", cmd.FullName()))
	}
	return noStart(fmt.Errorf("unknown command %q", cmd.Args().First()))
}
