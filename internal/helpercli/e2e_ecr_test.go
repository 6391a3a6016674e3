package helpercli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/vault"
)

// An awsecr entry end to end with the built binary against a loopback ECR
// endpoint: "registry add" validates by fetching a token signed with the
// stored access key for the host's region; "get" then answers AWS and that
// token from the vault's sealed cache, without another AWS call; an entry
// whose token cannot be fetched is an error on stdout, not not-found.
func TestEndToEndECR(t *testing.T) {
	fake := awsfake.Start(t)
	home := t.TempDir()
	pf := filepath.Join(home, "passphrase")
	if err := os.WriteFile(pf, []byte("ecr passphrase"), 0o600); err != nil {
		t.Fatal(err)
	}
	vaultPath := filepath.Join(home, "data", "vault")
	if _, err := vault.Create(context.Background(), vaultPath, "ecr passphrase", nil, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_RUNTIME_DIR=" + home,
		"ANCHORE_CONFIG=" + filepath.Join(home, "none.yaml"),
		"ANCHORED_SOCKET=" + filepath.Join(home, "none.sock"),
		"ANCHORE_VAULT=" + vaultPath,
		"ANCHORE_VAULT_PASSPHRASE_FILE=" + pf,
	}
	for k, v := range fake.Env() {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	run := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(testbin.Path(t, Name), args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		r := runProcess(t, cmd, stdin)
		return r.stdout, r.stderr, r.code
	}

	const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	stdout, stderr, code := run("", "registry", "add", host, "AKIAHELPERTEST", "secret-key")
	if code != 0 || !strings.Contains(stdout, "Type: awsecr\n") || !strings.HasPrefix(stderr, "WARN: setting registry type to 'awsecr'") {
		t.Fatalf("registry add: exit %d\n%s%s", code, stdout, stderr)
	}
	calls := fake.ECRCalls()
	if len(calls) != 1 || calls[0].Scope.AccessKeyID != "AKIAHELPERTEST" || calls[0].Scope.Region != "eu-west-1" {
		t.Fatalf("ECR calls after add: %+v, want one signed by AKIAHELPERTEST for eu-west-1", calls)
	}

	stdout, stderr, code = run(host+"/team/app", "get")
	var got struct{ Username, Secret string }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 0 {
		t.Fatalf("get: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	if got.Username != "AWS" || got.Secret != calls[0].Password {
		t.Errorf("get = %+v, want AWS and the issued token", got)
	}
	if n := len(fake.ECRCalls()); n != 1 {
		t.Errorf("%d ECR calls after a cached get, want 1", n)
	}
	if strings.Contains(stdout, "secret-key") {
		t.Errorf("get leaked the stored secret access key")
	}

	// A second entry, never validated, whose token fetch fails: on add
	// (the refresh of an add without validation is only logged, as
	// Anchore's) and on get.
	fake.FailECR(400, "AccessDeniedException", "not authorized")
	if _, stderr, code := run("", "registry", "add", "210987654321.dkr.ecr.us-east-2.amazonaws.com", "AKIAOTHER", "s", "--skip-validate"); code != 0 {
		t.Fatalf("add --skip-validate: %s", stderr)
	}
	stdout, _, code = run("210987654321.dkr.ecr.us-east-2.amazonaws.com", "get")
	if code != 1 || stdout == "credentials not found in native keychain\n" || !strings.Contains(stdout, "AccessDeniedException") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("get with a failing ECR: exit %d stdout %q, want the cause on one line", code, stdout)
	}
}
