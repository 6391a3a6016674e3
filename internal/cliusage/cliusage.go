// Package cliusage makes urfave/cli's usage errors one line. By default the
// library prints "Incorrect Usage", a blank line and the command's whole
// help before the error; a bad flag value then scrolls the one line that
// matters off the screen, where the contract asks for one clear line and a
// non-zero exit (SPEC section 4). Help stays one flag away, and the line
// says which.
package cliusage

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
)

// Quiet sets every command of the tree under root to answer a usage error
// (an unknown flag, a bad flag value, a missing argument) with the error
// alone, naming the help to read. The caller prints it once, as it prints
// every other error, and chooses the exit code.
func Quiet(root *cli.Command) {
	root.OnUsageError = func(_ context.Context, cmd *cli.Command, err error, _ bool) error {
		return fmt.Errorf("%w (see '%s --help')", err, cmd.FullName())
	}
	for _, sub := range root.Commands {
		Quiet(sub)
	}
}
