package gendocs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"
)

func tree() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "a demo tool",
		Flags: []cli.Flag{&cli.StringFlag{Name: "config", Usage: "config file"}},
		// Running the tree must not run the binary's hooks.
		Before: func(ctx context.Context, _ *cli.Command) (context.Context, error) {
			panic("Before ran while rendering a completion script")
		},
		Commands: []*cli.Command{{
			Name:      "sub",
			Usage:     "a subcommand",
			ArgsUsage: "THING",
			Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Usage: "do it"}},
		}},
	}
}

func TestMan(t *testing.T) {
	page, err := Man(Program{New: tree, Section: 8, Extra: ".SH FILES\n/etc/demo\n", Synopsis: "demo get < input"}, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`.TH "DEMO" "8" "" "anchored v1.2.3" "System Administration"`,
		`\fB--config\fP`,
		".SH sub",
		`\fB--force\fP`,
		".SH FILES\n/etc/demo\n",
		"demo get < input",
		"demo sub [options] THING",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("man page lacks %q:\n%s", want, page)
		}
	}
	if strings.HasSuffix(page, "\n\n") || !strings.HasSuffix(page, "/etc/demo\n") {
		t.Errorf("Extra is not the page's end: %q", page[len(page)-40:])
	}
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		shell string
		want  string
	}{
		{"bash", "complete -o bashdefault -o default -F __demo_bash_autocomplete demo"},
		{"zsh", "#compdef demo"},
		{"fish", "complete -c demo"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			got, err := Completion(context.Background(), Program{New: tree}, tt.shell)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("%s script lacks %q:\n%s", tt.shell, tt.want, got)
			}
		})
	}
	if _, err := Completion(context.Background(), Program{New: tree}, "tcsh"); err == nil {
		t.Error("a shell urfave/cli does not know: got a script, want an error")
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := Write(context.Background(), dir, "v1", []Program{{New: tree, Section: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{
		"man/man1/demo.1",
		"completions/bash/demo",
		"completions/zsh/_demo",
		"completions/fish/demo.fish",
	} {
		st, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Error(err)
			continue
		}
		if st.Mode().Perm() != 0o644 || st.Size() == 0 {
			t.Errorf("%s: mode %04o size %d, want 0644 and content", rel, st.Mode().Perm(), st.Size())
		}
	}
	if err := Write(context.Background(), dir, "v1", []Program{{New: func() *cli.Command { return &cli.Command{} }}}); !errors.Is(err, ErrNoName) {
		t.Errorf("unnamed tree: err %v, want ErrNoName", err)
	}
}
