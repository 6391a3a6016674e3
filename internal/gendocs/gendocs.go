// Package gendocs writes man pages and shell completion scripts from the
// live urfave/cli/v3 command trees of the project's binaries, so that what a
// package installs cannot drift from what the binaries accept.
//
// The layout it writes under a directory is what "make install" copies:
//
//	man/manN/NAME.N
//	completions/bash/NAME
//	completions/zsh/_NAME
//	completions/fish/NAME.fish
package gendocs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	docs "github.com/urfave/cli-docs/v3"
	"github.com/urfave/cli/v3"
)

// Program is one binary to document.
type Program struct {
	// New returns a fresh command tree each call: running a tree (as the
	// completion scripts are rendered) sets it up, and a tree is run once.
	New func() *cli.Command
	// Section is the man section: 1 for commands, 8 for daemons.
	Section int
	// Extra is roff appended to the generated page: sections the tree cannot
	// know (ENVIRONMENT, FILES, EXIT STATUS, SEE ALSO).
	Extra string
	// Synopsis, when set, replaces the root's usage line in the man page
	// (one form a line), for forms the tree does not run, such as the
	// Docker protocol actions.
	Synopsis string
}

// Shells are the shells completions are written for.
var Shells = []string{"bash", "zsh", "fish"}

// ErrNoName is returned for a tree without a name: every file is named by it.
var ErrNoName = errors.New("command tree has no name")

var thLine = regexp.MustCompile(`(?m)^\.TH .*$`)

// Man renders p's man page. version goes into the page's footer.
func Man(p Program, version string) (string, error) {
	cmd := p.New()
	if cmd.Name == "" {
		return "", ErrNoName
	}
	if p.Synopsis != "" {
		cmd.UsageText = p.Synopsis
	}
	addUsageLines(cmd, cmd.Name)
	page, err := docs.ToManWithSection(cmd, p.Section)
	if err != nil {
		return "", fmt.Errorf("man page of %s: %w", cmd.Name, err)
	}
	// cli-docs writes a bare ".TH name N"; man(7) wants the source and the
	// manual's title as well, so that the footer names the version.
	title := "User Commands"
	if p.Section == 8 {
		title = "System Administration"
	}
	th := fmt.Sprintf(".TH %q %q \"\" %q %q", strings.ToUpper(cmd.Name), fmt.Sprint(p.Section), "anchored "+version, title)
	page = thLine.ReplaceAllLiteralString(page, th)
	if p.Extra != "" {
		page = strings.TrimRight(page, "\n") + "\n\n" + strings.TrimSpace(p.Extra) + "\n"
	}
	return page, nil
}

// addUsageLines gives every command that takes arguments a usage line
// ("docker-credential-anchore registry add [options] REGISTRY USERNAME
// [PASSWORD]"): cli-docs prints UsageText but not ArgsUsage, which is
// where the trees say what the arguments are.
func addUsageLines(c *cli.Command, path string) {
	for _, sub := range c.Commands {
		full := path + " " + sub.Name
		if sub.UsageText == "" && sub.ArgsUsage != "" {
			sub.UsageText = full + " [options] " + sub.ArgsUsage
		}
		addUsageLines(sub, full)
	}
}

// Completion renders p's completion script for shell by running the tree's
// own "completion SHELL" command (urfave/cli/v3's scripts, which ask the
// binary itself for candidates with --generate-shell-completion). For fish
// it writes the static script urfave/cli/v3 derives from the tree, which
// works even where the binary cannot be asked.
func Completion(ctx context.Context, p Program, shell string) (string, error) {
	cmd := p.New()
	if cmd.Name == "" {
		return "", ErrNoName
	}
	if shell == "fish" {
		return cmd.ToFishCompletion()
	}
	var out, errOut bytes.Buffer
	cmd.EnableShellCompletion = true
	cmd.Writer = &out
	cmd.ErrWriter = &errOut
	// The tree's Before hooks and exit handler are the binary's business,
	// not the generator's: rendering a script touches no vault or config.
	cmd.Before = nil
	cmd.After = nil
	cmd.ExitErrHandler = func(context.Context, *cli.Command, error) {}
	if err := cmd.Run(ctx, []string{cmd.Name, "completion", shell}); err != nil {
		return "", fmt.Errorf("%s completion for %s: %w: %s", shell, cmd.Name, err, strings.TrimSpace(errOut.String()))
	}
	if out.Len() == 0 {
		return "", fmt.Errorf("%s completion for %s: empty script", shell, cmd.Name)
	}
	return out.String(), nil
}

// CompletionPath is where the script for shell lives under dir.
func CompletionPath(dir, shell, name string) string {
	switch shell {
	case "zsh":
		return filepath.Join(dir, "completions", "zsh", "_"+name)
	case "fish":
		return filepath.Join(dir, "completions", "fish", name+".fish")
	default:
		return filepath.Join(dir, "completions", shell, name)
	}
}

// ManPath is where p's page lives under dir.
func ManPath(dir, name string, section int) string {
	s := fmt.Sprint(section)
	return filepath.Join(dir, "man", "man"+s, name+"."+s)
}

// Write writes every program's man page and completions under dir (files
// 0644, directories 0755, as they are installed).
func Write(ctx context.Context, dir, version string, progs []Program) error {
	for _, p := range progs {
		name := p.New().Name
		page, err := Man(p, version)
		if err != nil {
			return err
		}
		if err := writeFile(ManPath(dir, name, p.Section), page); err != nil {
			return err
		}
		for _, sh := range Shells {
			script, err := Completion(ctx, p, sh)
			if err != nil {
				return err
			}
			if err := writeFile(CompletionPath(dir, sh, name), script); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return err
	}
	// WriteFile keeps the mode of a file that exists; the umask may have
	// narrowed a new one.
	return os.Chmod(path, 0o644)
}
