package helpercli

import (
	"strings"
	"testing"
)

// TestUsageErrorsOneLine: a bad flag, a bad flag value or a missing
// argument is one line on stderr naming the help to read, exit 2, and
// nothing on stdout (SPEC section 4), not urfave/cli's help text.
func TestUsageErrorsOneLine(t *testing.T) {
	f := newCLIFixture(t, false)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"vault", "init", "--work-factor", "abc"}, `Error: invalid value "abc" for flag -work-factor: strconv.ParseInt: parsing "abc": invalid syntax (see '` + Name + ` vault init --help')`},
		{[]string{"registry", "add", "--bogus", "x"}, `Error: flag provided but not defined: -bogus (see '` + Name + ` registry add --help')`},
		{[]string{"--nope", "registry", "list"}, `Error: flag provided but not defined: -nope (see '` + Name + ` --help')`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := f.run("", tc.args...)
			if r.code != ExitNoStart || r.stdout != "" || r.stderr != tc.want+"\n" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing, %q", r.code, r.stdout, r.stderr, ExitNoStart, tc.want)
			}
		})
	}
}
