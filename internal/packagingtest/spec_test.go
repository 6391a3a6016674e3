package packagingtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/anchored/anchored/internal/anchoredcli"
	"github.com/anchored/anchored/internal/helpercli"
)

// specCommand is one command of SPEC sections 4 and 6, hard-coded from the
// contract so that the command trees, --help and the man pages are checked
// against it rather than against themselves.
type specCommand struct {
	path  []string // below the binary
	flags []string // the flags SPEC gives it, without "--"
	subs  []string // its subcommands, exactly
}

var helperGlobalFlags = []string{"config", "vault", "socket", "passphrase-file", "account", "json"}

var specHelper = []specCommand{
	{path: nil, flags: helperGlobalFlags, subs: []string{"configure-docker", "registry", "vault"}},
	{path: []string{"registry"}, subs: []string{"add", "del", "get", "list", "update"}},
	{path: []string{"registry", "add"}, flags: []string{"registry-type", "registry-name", "insecure", "skip-validate", "password-stdin"}},
	{path: []string{"registry", "update"}, flags: []string{"registry-type", "registry-name", "insecure", "skip-validate", "password-stdin"}},
	{path: []string{"registry", "del"}},
	{path: []string{"registry", "get"}},
	{path: []string{"registry", "list"}},
	{path: []string{"vault"}, subs: []string{"init", "passwd", "status"}},
	{path: []string{"vault", "init"}, flags: []string{"work-factor"}},
	{path: []string{"vault", "passwd"}, flags: []string{"new-passphrase-file"}},
	{path: []string{"vault", "status"}},
	{path: []string{"configure-docker"}, flags: []string{"registry"}},
}

var specAnchored = []specCommand{
	{path: nil, flags: []string{"config", "vault", "socket", "passphrase-file"}},
}

// builtinCommands are urfave/cli's own, not the contract's.
var builtinCommands = map[string]bool{"help": true, "h": true, "completion": true}

func find(root *cli.Command, path []string) *cli.Command {
	c := root
	for _, name := range path {
		var next *cli.Command
		for _, sub := range c.Commands {
			if sub.Name == name {
				next = sub
			}
		}
		if next == nil {
			return nil
		}
		c = next
	}
	return c
}

func flagNames(c *cli.Command) []string {
	var names []string
	for _, f := range c.Flags {
		names = append(names, f.Names()...)
	}
	return names
}

func visibleSubs(c *cli.Command) []string {
	var names []string
	for _, sub := range c.Commands {
		if !sub.Hidden && !builtinCommands[sub.Name] {
			names = append(names, sub.Name)
		}
	}
	slices.Sort(names)
	return names
}

// TestCommandTreesMatchSPEC walks the live trees, as the binaries build
// them and as gendocs documents them.
func TestCommandTreesMatchSPEC(t *testing.T) {
	trees := []struct {
		name string
		root *cli.Command
		spec []specCommand
	}{
		{helpercli.Name, helpercli.Command(), specHelper},
		{anchoredcli.Name, anchoredcli.Command(), specAnchored},
	}
	for _, tree := range trees {
		for _, sc := range tree.spec {
			name := strings.Join(append([]string{tree.name}, sc.path...), " ")
			t.Run(name, func(t *testing.T) {
				c := find(tree.root, sc.path)
				if c == nil {
					t.Fatalf("%s: no such command", name)
				}
				have := flagNames(c)
				for _, f := range sc.flags {
					if !slices.Contains(have, f) {
						t.Errorf("%s: flag --%s missing; has %v", name, f, have)
					}
				}
				if got := visibleSubs(c); sc.subs != nil && !slices.Equal(got, sc.subs) {
					t.Errorf("%s: subcommands %v, want %v", name, got, sc.subs)
				}
			})
		}
	}
}

// runBin runs an installed binary with a scratch HOME and no vault
// environment; it returns stdout+stderr and the exit code.
func runBin(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + home}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return out.String(), code
}

var helpFlag = regexp.MustCompile(`(?m)^\s+--([a-z0-9-]+)`)
var helpCommand = regexp.MustCompile(`(?m)^\s{3}([a-z][a-z0-9-]*)(?:, [a-z]+)*\s{2,}`)

// TestInstalledHelpVersionAndManMatchSPEC runs the binaries make install
// installed and reads the man pages it installed.
func TestInstalledHelpVersionAndManMatchSPEC(t *testing.T) {
	b := build(t)
	bins := map[string][]specCommand{helpercli.Name: specHelper, anchoredcli.Name: specAnchored}
	for name, spec := range bins {
		bin := filepath.Join(b.usr, "usr", "bin", name)
		t.Run(name+" --version", func(t *testing.T) {
			out, code := runBin(t, bin, "--version")
			if code != 0 || !strings.Contains(out, testVersion) {
				t.Errorf("%s --version: exit %d, output %q; want exit 0 naming %s", name, code, out, testVersion)
			}
		})
		for _, sc := range spec {
			path := strings.Join(append([]string{name}, sc.path...), " ")
			t.Run(path+" --help", func(t *testing.T) {
				out, code := runBin(t, bin, append(sc.path, "--help")...)
				if code != 0 {
					t.Fatalf("%s --help: exit %d\n%s", path, code, out)
				}
				var flags []string
				for _, m := range helpFlag.FindAllStringSubmatch(out, -1) {
					flags = append(flags, m[1])
				}
				for _, f := range sc.flags {
					if !slices.Contains(flags, f) {
						t.Errorf("%s --help does not list --%s:\n%s", path, f, out)
					}
				}
				if sc.subs != nil {
					_, cmds, _ := strings.Cut(out, "COMMANDS:")
					cmds, _, _ = strings.Cut(cmds, "OPTIONS:")
					var got []string
					for _, m := range helpCommand.FindAllStringSubmatch(cmds, -1) {
						if !builtinCommands[m[1]] {
							got = append(got, m[1])
						}
					}
					slices.Sort(got)
					if !slices.Equal(got, sc.subs) {
						t.Errorf("%s --help lists commands %v, want %v:\n%s", path, got, sc.subs, out)
					}
				}
			})
		}
	}
	t.Run("docker-credential-anchore version", func(t *testing.T) {
		out, code := runBin(t, filepath.Join(b.usr, "usr", "bin", helpercli.Name), "version")
		if code != 0 || !strings.Contains(out, testVersion) {
			t.Errorf("protocol action version: exit %d, output %q; want exit 0 naming %s", code, out, testVersion)
		}
	})

	pages := map[string]string{
		helpercli.Name:   filepath.Join(b.usr, "usr", "share", "man", "man1", helpercli.Name+".1"),
		anchoredcli.Name: filepath.Join(b.usr, "usr", "share", "man", "man8", anchoredcli.Name+".8"),
	}
	for name, page := range pages {
		t.Run("man "+name, func(t *testing.T) {
			body, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			sections := manSections(string(body))
			if !strings.Contains(string(body), "anchored "+testVersion) {
				t.Errorf("%s does not name version %s in its .TH line", page, testVersion)
			}
			for _, sc := range bins[name] {
				// Global flags are under GLOBAL OPTIONS; a command's flags under
				// its own heading (.SH for a command, .SS for a subcommand).
				key := "GLOBAL OPTIONS"
				if len(sc.path) > 0 {
					key = strings.Join(sc.path, " ")
				}
				text, ok := sections[key]
				if !ok {
					t.Errorf("%s: no section for %q; sections %v", page, key, sortedKeys(sections))
					continue
				}
				for _, f := range sc.flags {
					if !strings.Contains(text, `\fB--`+f+`\fP`) {
						t.Errorf("%s: section %q does not document --%s", page, key, f)
					}
				}
			}
		})
	}
}

// manSections splits a cli-docs man page into its sections, keyed by the
// heading: ".SH registry" then ".SS add" gives "registry" and "registry add".
func manSections(page string) map[string]string {
	sections := map[string]string{}
	var sh, key string
	for _, line := range strings.Split(page, "\n") {
		switch {
		case strings.HasPrefix(line, ".SH "):
			sh = strings.Trim(strings.TrimPrefix(line, ".SH "), `"`)
			key = sh
		case strings.HasPrefix(line, ".SS "):
			key = sh + " " + strings.Trim(strings.TrimPrefix(line, ".SS "), `"`)
		default:
			sections[key] += line + "\n"
			continue
		}
		sections[key] += ""
	}
	return sections
}
