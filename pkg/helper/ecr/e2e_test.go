package ecr_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

// TestHelperGetConcurrent runs the built helper as Docker would: 20
// concurrent "get" processes for a cold awsecr entry in direct mode make one
// ECR call, and all answer AWS and the same token.
// helperEnv makes a home with a vault holding one awsecr entry for
// testHost with creds, a config file with allowIAM, and returns the
// environment of a direct-mode helper (no daemon) aimed at fake.
func helperEnv(t *testing.T, fake *awsfake.Fake, user, pass string, allowIAM bool) (env []string, vaultPath string) {
	t.Helper()
	home := t.TempDir()
	vaultPath = filepath.Join(home, "data", "vault.age")
	passFile := filepath.Join(home, "passphrase")
	if err := os.WriteFile(passFile, []byte(testPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(home, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("allow_awsecr_iam_auto: %v\n", allowIAM)), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := vault.NewDocument()
	doc.AccountRegistries("admin")[testHost] = &vault.Registry{
		Registry: testHost, Name: testHost, Type: "awsecr",
		User: user, Pass: pass, Verify: true,
	}
	if _, err := vault.Create(t.Context(), vaultPath, testPassphrase, doc, vault.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	return append(fake.Environ(os.Environ()),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_RUNTIME_DIR="+home,
		"ANCHORE_CONFIG="+cfg,
		"ANCHORE_VAULT="+vaultPath,
		"ANCHORED_SOCKET="+filepath.Join(home, "no-daemon.sock"),
		"ANCHORE_VAULT_PASSPHRASE_FILE="+passFile,
	), vaultPath
}

// TestHelperGetConcurrent runs the built helper as Docker would: 20
// concurrent "get" processes for a cold awsecr entry in direct mode make one
// ECR call, and all answer AWS and the same token.
func TestHelperGetConcurrent(t *testing.T) {
	bin := testbin.Path(t, "docker-credential-anchore")
	fake := awsfake.Start(t)
	env, vaultPath := helperEnv(t, fake, testKeyID, testSecret, false)

	const n = 20
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	errs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = exec.CommandContext(t.Context(), bin, "get")
		cmds[i].Env = env
		cmds[i].Stdin = strings.NewReader(testHost) // Docker sends no newline
		outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	var answers []struct{ ServerURL, Username, Secret string }
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("get %d: %v\nstdout: %s\nstderr: %s", i, err, outs[i], errs[i])
		}
		var a struct{ ServerURL, Username, Secret string }
		if err := json.Unmarshal(outs[i].Bytes(), &a); err != nil {
			t.Fatalf("get %d: %v in %q", i, err, outs[i])
		}
		answers = append(answers, a)
	}
	calls := fake.ECRCalls()
	if len(calls) != 1 {
		t.Fatalf("ECR calls from %d get processes = %d, want 1", n, len(calls))
	}
	if calls[0].Scope.AccessKeyID != testKeyID || calls[0].Scope.Region != "eu-west-1" {
		t.Errorf("ECR scope = %+v, want the stored key in eu-west-1", calls[0].Scope)
	}
	for i, a := range answers {
		if a.Username != "AWS" || a.Secret != calls[0].Password {
			t.Errorf("get %d = %q/%q, want AWS/%q", i, a.Username, a.Secret, calls[0].Password)
		}
	}
	raw, err := os.ReadFile(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(calls[0].Password)) {
		t.Error("vault file holds the token in clear")
	}
}

// TestHelperGetAWSAuto: an awsauto entry answers with a token got with the
// instance role where allow_awsecr_iam_auto is on, and is refused with
// Anchore's text, without any AWS call, where it is off.
func TestHelperGetAWSAuto(t *testing.T) {
	bin := testbin.Path(t, "docker-credential-anchore")
	for _, allow := range []bool{true, false} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			fake := awsfake.Start(t)
			env, _ := helperEnv(t, fake, "awsauto", "awsauto", allow)
			cmd := exec.CommandContext(t.Context(), bin, "get")
			cmd.Env = env
			cmd.Stdin = strings.NewReader("https://" + testHost + "/v2/")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if !allow {
				if err == nil || !strings.Contains(stdout.String(), ecr.ErrIAMAutoDisabled.Error()) {
					t.Errorf("get: err %v, stdout %q; want exit 1 and %q", err, stdout.String(), ecr.ErrIAMAutoDisabled)
				}
				if n := len(fake.ECRCalls()) + fake.IMDSTokenPuts(); n != 0 {
					t.Errorf("%d AWS calls for a refused entry", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("get: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			calls := fake.ECRCalls()
			if len(calls) != 1 || calls[0].Scope.AccessKeyID != awsfake.IMDSAccessKeyID {
				t.Fatalf("ECR calls = %+v, want one signed with the instance role's key", calls)
			}
			var a struct{ Username, Secret string }
			if err := json.Unmarshal(stdout.Bytes(), &a); err != nil || a.Username != "AWS" || a.Secret != calls[0].Password {
				t.Errorf("get answered %q (%v), want AWS/%q", stdout.String(), err, calls[0].Password)
			}
		})
	}
}
