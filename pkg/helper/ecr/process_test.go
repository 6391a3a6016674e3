package ecr_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/vault"
)

// The test binary re-executes itself as a stand-in for a direct-mode helper
// process: it opens the vault, resolves one token through NewVaultCache and
// NewLockDir, prints the password and exits.
const (
	childEnv       = "ANCHORED_ECR_TEST_CHILD"
	childVaultEnv  = "ANCHORED_ECR_TEST_VAULT"
	childLocksEnv  = "ANCHORED_ECR_TEST_LOCKS"
	testPassphrase = "correct horse battery staple" // a test vault's, not a secret
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild() error {
	ctx := context.Background()
	v, err := vault.Open(ctx, os.Getenv(childVaultEnv), testPassphrase, vault.WithWorkFactor(10))
	if err != nil {
		return err
	}
	r := &ecr.Resolver{AWS: awsecr.Client{}, Cache: ecr.NewVaultCache(v), Locker: ecr.NewLockDir(os.Getenv(childLocksEnv))}
	tok, err := r.Token(ctx, "admin", testHost, ecr.Credentials{User: testKeyID, Pass: testSecret})
	if err != nil {
		return err
	}
	_, err = fmt.Println(tok.Password)
	return err
}

// TestConcurrentProcesses: 20 cold processes at once make one AWS call, and
// a later process is served from the token sealed in the vault.
func TestConcurrentProcesses(t *testing.T) {
	fake := awsfake.Start(t)
	dir := t.TempDir()
	vaultPath := filepath.Join(dir, "vault", "vault.age") // Create makes the 0700 dir
	locks := filepath.Join(dir, "locks")
	if _, err := vault.Create(t.Context(), vaultPath, testPassphrase, nil, vault.WithWorkFactor(10)); err != nil {
		t.Fatal(err)
	}
	env := append(fake.Environ(os.Environ()), childEnv+"=1", childVaultEnv+"="+vaultPath, childLocksEnv+"="+locks)
	run := func(n int) []string {
		t.Helper()
		cmds := make([]*exec.Cmd, n)
		outs := make([]*bytes.Buffer, n)
		errs := make([]*bytes.Buffer, n)
		for i := range cmds {
			cmds[i] = exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			cmds[i].Env = env
			outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
			cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("child %d: %v: %s", i, err, errs[i])
			}
			got = append(got, strings.TrimSpace(outs[i].String()))
		}
		return got
	}

	passwords := run(20)
	calls := fake.ECRCalls()
	if len(calls) != 1 {
		t.Fatalf("ECR calls from 20 processes = %d, want 1", len(calls))
	}
	for i, p := range passwords {
		if p != calls[0].Password {
			t.Errorf("child %d printed %q, want %q", i, p, calls[0].Password)
		}
	}
	if again := run(1); again[0] != calls[0].Password || len(fake.ECRCalls()) != 1 {
		t.Errorf("warm process: %q with %d calls, want the cached %q and 1 call", again[0], len(fake.ECRCalls()), calls[0].Password)
	}

	// Sealed, never in clear: neither the vault file nor the lock files hold
	// the token, and the vault itself does.
	raw, err := os.ReadFile(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(calls[0].Password)) {
		t.Error("vault file holds the token in clear")
	}
	entries, err := os.ReadDir(locks)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(locks, e.Name()))
		if err != nil || len(b) != 0 || strings.Contains(e.Name(), testHost) {
			t.Errorf("lock file %q: %d bytes, err %v; want an empty file named by a hash", e.Name(), len(b), err)
		}
	}
	if fi, err := os.Stat(locks); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("lock dir mode: %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	v, err := vault.Open(t.Context(), vaultPath, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	toks := v.Document().ECRTokens
	if len(toks) != 1 {
		t.Fatalf("vault holds %d ECR tokens, want 1", len(toks))
	}
	for k, tok := range toks {
		if tok.Password != calls[0].Password || tok.Key != k {
			t.Errorf("sealed token %q = %+v, want password %q", k, tok, calls[0].Password)
		}
	}
}
