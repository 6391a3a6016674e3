package helpercli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/vault"
)

// cliFixture runs the helper's Main in process against a vault (work factor
// 10: the race detector makes scrypt about 7x slower) in a temp HOME.
type cliFixture struct {
	t         *testing.T
	home      string
	vaultPath string
	env       map[string]string
	transport http.RoundTripper
	now       time.Time
	// prompt answers terminal prompts; nil means no terminal.
	prompt func(label string) (string, error)
	// envOverride, if set, adjusts the Env of each run.
	envOverride func(*Env)
	// ecr is the AWS access; nil means the SDK in process.
	ecr ecr.AWS
}

const fixturePassphrase = "correct horse battery"

// newCLIFixture makes a HOME with a passphrase file; withVault also creates
// the vault.
func newCLIFixture(t *testing.T, withVault bool) *cliFixture {
	t.Helper()
	home := t.TempDir()
	pf := filepath.Join(home, "passphrase")
	if err := os.WriteFile(pf, []byte(fixturePassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &cliFixture{
		t:         t,
		home:      home,
		vaultPath: filepath.Join(home, "data", "anchore", "vault"),
		env: map[string]string{
			"HOME":                          home,
			"ANCHORE_VAULT_PASSPHRASE_FILE": pf,
			"XDG_RUNTIME_DIR":               filepath.Join(home, "run"),
		},
		now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
	}
	f.env["ANCHORE_VAULT"] = f.vaultPath
	if withVault {
		if _, err := vault.Create(context.Background(), f.vaultPath, fixturePassphrase, nil, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// runProcess runs a built binary's command with stdin and collects what
// it printed and its exit code; a failure to start fails the test.
func runProcess(t *testing.T, cmd *exec.Cmd, stdin string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// run runs Main with args (without the program name) and stdin.
func (f *cliFixture) run(stdin string, args ...string) cliResult {
	f.t.Helper()
	var out, errb bytes.Buffer
	env := Env{
		Env: helperproto.Env{
			Stdin:  strings.NewReader(stdin),
			Stdout: &out,
			Stderr: &errb,
			Getenv: func(k string) string { return f.env[k] },
			Now:    func() time.Time { return f.now },
			Prompt: f.prompt,
			// The SDK in process: these tests are about the CLI; the
			// e2e tests run the built binaries, through "anchored ecr".
			ECR: f.aws(),
		},
		Transport: f.transport,
	}
	if f.envOverride != nil {
		f.envOverride(&env)
	}
	code := Main(context.Background(), append([]string{Name}, args...), env)
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

func (f *cliFixture) aws() ecr.AWS {
	if f.ecr != nil {
		return f.ecr
	}
	return awsecr.Client{}
}

// vaultBytes returns the vault file's bytes ("" when missing).
func (f *cliFixture) vaultBytes() string {
	f.t.Helper()
	b, err := os.ReadFile(f.vaultPath)
	if err != nil && !os.IsNotExist(err) {
		f.t.Fatal(err)
	}
	return string(b)
}

// doc opens the vault and returns its document.
func (f *cliFixture) doc() *vault.Document {
	f.t.Helper()
	v, err := vault.Open(context.Background(), f.vaultPath, fixturePassphrase)
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Document()
}

// emptyVault makes a passphrase file and an empty vault (the lowest work
// factor) under dir for the end-to-end tests, and returns their paths.
func emptyVault(t *testing.T, dir, pass string) (passFile, vaultPath string) {
	t.Helper()
	passFile = filepath.Join(dir, "passphrase")
	if err := os.WriteFile(passFile, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vaultPath = filepath.Join(dir, "data", "vault")
	if _, err := vault.Create(context.Background(), vaultPath, pass, nil, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
		t.Fatal(err)
	}
	return passFile, vaultPath
}
