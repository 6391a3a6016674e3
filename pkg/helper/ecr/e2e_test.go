package ecr_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/vault"
)

// TestHelperGetConcurrent runs the built helper as Docker would: 20
// concurrent "get" processes for a cold awsecr entry in direct mode make one
// ECR call, and all answer AWS and the same token.
func TestHelperGetConcurrent(t *testing.T) {
	bin := testbin.Path(t, "docker-credential-anchore")
	fake := awsfake.Start(t)
	home := t.TempDir()
	vaultPath := filepath.Join(home, "data", "vault.age")
	passFile := filepath.Join(home, "passphrase")
	if err := os.WriteFile(passFile, []byte(testPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := vault.NewDocument()
	doc.AccountRegistries("admin")[testHost] = &vault.Registry{
		Registry: testHost, Name: testHost, Type: "awsecr",
		User: testKeyID, Pass: testSecret, Verify: true,
	}
	if _, err := vault.Create(t.Context(), vaultPath, testPassphrase, doc, vault.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	env := append(fake.Environ(os.Environ()),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_RUNTIME_DIR="+home,
		"ANCHORE_CONFIG="+filepath.Join(home, "config.yaml"),
		"ANCHORE_VAULT="+vaultPath,
		"ANCHORED_SOCKET="+filepath.Join(home, "no-daemon.sock"),
		"ANCHORE_VAULT_PASSPHRASE_FILE="+passFile,
	)

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
