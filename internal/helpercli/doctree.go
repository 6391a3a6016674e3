package helpercli

import (
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/helperproto"
)

// Command returns the management command tree as the binary builds it, with
// an Env that touches nothing outside the process. It exists for the
// documentation generator (man pages and shell completions come from the
// live tree, so they cannot drift from it) and for tests that compare the
// tree against the contract. Shell completion is switched on, as in the
// binary, so the tree carries the hidden "completion" command.
func Command() *cli.Command {
	env := Env{Env: helperproto.Env{
		Stdin:  strings.NewReader(""),
		Stdout: io.Discard,
		Stderr: io.Discard,
		Getenv: func(string) string { return "" },
		Now:    time.Now,
	}}
	root := rootCommand(&env)
	root.EnableShellCompletion = true
	return root
}
