package packagingtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletions checks the installed scripts and that the installed
// binaries answer the requests those scripts make
// (--generate-shell-completion), with SPEC's commands and flags.
func TestCompletions(t *testing.T) {
	b := build(t)
	bash := needTool(t, "bash", "bash")
	share := filepath.Join(b.usr, "usr", "share")
	for _, name := range []string{"docker-credential-anchore", "anchored"} {
		scripts := []struct {
			path, want string
		}{
			{filepath.Join(share, "bash-completion", "completions", name), "complete -o bashdefault -o default -F __" + name + "_bash_autocomplete " + name},
			{filepath.Join(share, "zsh", "site-functions", "_"+name), "#compdef " + name},
			{filepath.Join(share, "fish", "vendor_completions.d", name+".fish"), "complete -c " + name},
		}
		for _, s := range scripts {
			body, err := os.ReadFile(s.path)
			if err != nil {
				t.Error(err)
				continue
			}
			if !strings.Contains(string(body), s.want) {
				t.Errorf("%s lacks %q", s.path, s.want)
			}
		}
		run(t, bash, "-n", scripts[0].path)
	}

	tests := []struct {
		bin  string
		args []string
		want []string
	}{
		{"docker-credential-anchore", nil, []string{"vault:", "registry:", "configure-docker:"}},
		{"docker-credential-anchore", []string{"registry"}, []string{"add:", "update:", "del:", "get:", "list:"}},
		{"docker-credential-anchore", []string{"vault"}, []string{"init:", "passwd:", "status:"}},
		{"docker-credential-anchore", []string{"registry", "add", "--reg"}, []string{"--registry-type:", "--registry-name:"}},
		{"anchored", []string{"--pass"}, []string{"--passphrase-file:"}},
	}
	for _, tt := range tests {
		name := strings.Join(append([]string{tt.bin}, tt.args...), " ")
		t.Run(name, func(t *testing.T) {
			out, code := runBin(t, filepath.Join(b.usr, "usr", "bin", tt.bin), append(tt.args, "--generate-shell-completion")...)
			if code != 0 {
				t.Fatalf("%s --generate-shell-completion: exit %d\n%s", name, code, out)
			}
			lines := strings.Split(out, "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, w)
				}
				if !found {
					t.Errorf("%s --generate-shell-completion: no line starting %q in\n%s", name, w, out)
				}
			}
		})
	}
}
