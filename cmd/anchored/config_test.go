package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"anchored", "--version"}, 0, "anchored version", ""},
		{[]string{"anchored", "--help"}, 0, "--passphrase-file", ""},
		{[]string{"anchored", "--bogus"}, 2, "", "anchored: flag provided but not defined: -bogus (see 'anchored --help')\n"},
		{[]string{"anchored", "extra"}, 2, "", `anchored: unexpected argument "extra"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb strings.Builder
			code := run(t.Context(), tc.args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.inStdout) || !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d with %q / %q", code, out.String(), errb.String(), tc.code, tc.inStdout, tc.inStderr)
			}
			// A usage error is one line, not the help text (SPEC section 4).
			if code != 0 && (strings.Count(errb.String(), "\n") != 1 || out.Len() != 0) {
				t.Errorf("usage error printed stdout %q, stderr %q; want one stderr line", out.String(), errb.String())
			}
		})
	}
}

func TestEnvProblemsOneLineEach(t *testing.T) {
	env := map[string]string{"ANCHORE_OAUTH_ENABLED": "maybe", "ANCHORE_OAUTH_TOKEN_EXPIRATION": "soon", "HOME": t.TempDir()}
	var out, errb strings.Builder
	code := run(t.Context(), []string{"anchored", "--config", filepath.Join(t.TempDir(), "none.yaml")}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
	if code != 2 || len(lines) != 2 || !strings.Contains(lines[0], "ANCHORE_OAUTH_ENABLED") || !strings.Contains(lines[1], "ANCHORE_OAUTH_TOKEN_EXPIRATION") {
		t.Errorf("exit %d, stderr %q; want 2 and one line per bad variable", code, errb.String())
	}
}
