package helpercli

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/vault"
)

// The built helper serves the protocol itself and runs every other command
// line in anchored: found beside it through a symbolic link (a helper
// linked into ~/bin), with the user's exit code and output; without
// anchored, the protocol still works and the rest says what is missing.
func TestEndToEndSplit(t *testing.T) {
	home := t.TempDir()
	pf := filepath.Join(home, "passphrase")
	if err := os.WriteFile(pf, []byte("split passphrase"), 0o600); err != nil {
		t.Fatal(err)
	}
	vaultPath := filepath.Join(home, "data", "vault")
	doc := vault.NewDocument()
	doc.AccountRegistries("admin")["registry.example.com"] = &vault.Registry{Registry: "registry.example.com", Name: "registry.example.com", Type: "docker_v2", User: "alice", Pass: "s3cret", Verify: true}
	doc.AccountRegistries("admin")["123456789012.dkr.ecr.eu-west-1.amazonaws.com"] = &vault.Registry{Registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Name: "ecr", Type: "awsecr", User: "AKIAEXAMPLE", Pass: "secret", Verify: true}
	if _, err := vault.Create(context.Background(), vaultPath, "split passphrase", doc, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	env := []string{
		"PATH=" + empty, // neither binary on PATH
		"HOME=" + home,
		"XDG_RUNTIME_DIR=" + home,
		"ANCHORE_CONFIG=" + filepath.Join(home, "none.yaml"),
		"ANCHORED_SOCKET=" + filepath.Join(home, "none.sock"),
		"ANCHORE_VAULT=" + vaultPath,
		"ANCHORE_VAULT_PASSPHRASE_FILE=" + pf,
	}
	run := func(bin, stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		r := runProcess(t, cmd, stdin)
		return r.stdout, r.stderr, r.code
	}

	t.Run("symlinked, anchored beside the target", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), Name)
		if err := os.Symlink(testbin.Path(t, Name), link); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := run(link, "", "registry", "list")
		if code != 0 || !strings.Contains(stdout, "registry.example.com") || !strings.Contains(stdout, "alice") {
			t.Errorf("registry list: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		// A usage error keeps its exit code and message through the exec.
		_, stderr, code = run(link, "", "registry", "frob")
		if code != 2 || !strings.Contains(stderr, `unknown command "frob"`) {
			t.Errorf("registry frob: exit %d, stderr %q; want exit 2 naming the command", code, stderr)
		}
	})

	t.Run("alone", func(t *testing.T) {
		alone := filepath.Join(t.TempDir(), Name)
		copyFile(t, testbin.Path(t, Name), alone)
		stdout, stderr, code := run(alone, "registry.example.com", "get")
		if code != 0 || !strings.Contains(stdout, `"Secret":"s3cret"`) {
			t.Errorf("get without anchored: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		_, stderr, code = run(alone, "", "registry", "list")
		if code != 2 || !strings.Contains(stderr, "run in anchored, which was not found beside docker-credential-anchore or on PATH") {
			t.Errorf("registry list without anchored: exit %d, stderr %q", code, stderr)
		}
		// A cold ECR entry needs "anchored ecr": one line saying so.
		stdout, _, code = run(alone, "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "get")
		if code != 1 || stdout != "ecr entry \"123456789012.dkr.ecr.eu-west-1.amazonaws.com\": cannot reach the ECR helper: anchored not found beside docker-credential-anchore or on PATH\n" {
			t.Errorf("ECR get without anchored: exit %d, stdout %q", code, stdout)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
