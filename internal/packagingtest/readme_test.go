package packagingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	quickstartBegin = "<!-- BEGIN docs/quickstart.sh -->\n```sh\n"
	quickstartEnd   = "```\n<!-- END docs/quickstart.sh -->"
)

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestREADMEStructure: make run and make test come first, the quick start
// is docs/quickstart.sh verbatim, and every docs/ file README names exists.
func TestREADMEStructure(t *testing.T) {
	readme := readRepoFile(t, "README.md")

	fence := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readme)
	if fence == nil {
		t.Fatal("README.md has no sh code block")
	}
	var cmds []string
	for _, line := range strings.Split(fence[1], "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			cmds = append(cmds, f[0]+" "+f[1])
		}
	}
	if len(cmds) < 2 || cmds[0] != "make run" || cmds[1] != "make test" {
		t.Errorf("README's first commands are %q, want make run then make test", cmds)
	}

	_, rest, ok := strings.Cut(readme, quickstartBegin)
	block, _, ok2 := strings.Cut(rest, quickstartEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md lacks the quick start markers %q ... %q", quickstartBegin, quickstartEnd)
	}
	if script := readRepoFile(t, "docs/quickstart.sh"); block != script {
		t.Errorf("README's quick start differs from docs/quickstart.sh:\n--- README\n%s--- docs/quickstart.sh\n%s", block, script)
	}

	for _, m := range regexp.MustCompile("`(docs/[a-z0-9-]+\\.(?:md|sh))`").FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot(t), m[1])); err != nil {
			t.Errorf("README names %s: %v", m[1], err)
		}
	}
}

// TestQuickstartRuns runs docs/quickstart.sh (README's quick start) with
// the installed binaries on PATH, in an empty HOME, as a new user would,
// then checks what it left behind.
func TestQuickstartRuns(t *testing.T) {
	b := build(t)
	bash := needTool(t, "bash", "bash")
	home := t.TempDir()
	rt := filepath.Join(home, "run")
	if err := os.Mkdir(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-euo", "pipefail", filepath.Join(repoRoot(t), "docs", "quickstart.sh"))
	cmd.Dir = home
	cmd.Env = []string{
		"HOME=" + home,
		"PATH=" + filepath.Join(b.usr, "usr", "bin") + ":/usr/bin:/bin",
		"XDG_RUNTIME_DIR=" + rt,
		"LANG=C.UTF-8",
	}
	// No terminal: nothing may prompt.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("docs/quickstart.sh: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	stdout := out.String()

	for _, want := range []string{`"Username":"alice"`, `"Secret":"s3cret"`, "registry.example.com:5000"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("quick start output lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^registry\.example\.com:5000\s+.*docker_v2\s+alice\s*$`).MatchString(stdout) {
		t.Errorf("registry list has no row for registry.example.com:5000, docker_v2, alice:\n%s", stdout)
	}

	var dockerCfg struct {
		CredsStore string `json:"credsStore"`
	}
	raw, err := os.ReadFile(filepath.Join(home, ".docker", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dockerCfg); err != nil || dockerCfg.CredsStore != "anchore" {
		t.Errorf("~/.docker/config.json = %s (%v), want credsStore anchore", raw, err)
	}

	// A new shell: nothing of the quick start's environment, no
	// passphrase variable. The config it wrote is what finds the
	// passphrase, so "get" answers as it did in the quick start's shell.
	get := exec.CommandContext(ctx, filepath.Join(b.usr, "usr", "bin", "docker-credential-anchore"), "get")
	get.Dir = home
	get.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + rt}
	get.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	get.Stdin = strings.NewReader("registry.example.com:5000")
	var getOut, getErr bytes.Buffer
	get.Stdout, get.Stderr = &getOut, &getErr
	if err := get.Run(); err != nil || !strings.Contains(getOut.String(), `"Username":"alice"`) || !strings.Contains(getOut.String(), `"Secret":"s3cret"`) {
		t.Errorf("get in a new shell after the quick start: %v\nstdout %q\nstderr %q", err, getOut.String(), getErr.String())
	}
	dropIn := filepath.Join(home, ".config", "containers", "registries.conf.d", "50-anchore.conf")
	if b, err := os.ReadFile(dropIn); err != nil || !strings.Contains(string(b), `credential-helpers = ["anchore", "containers-auth.json"]`) {
		t.Errorf("the containers drop-in %s: %q, %v", dropIn, b, err)
	}

	vaultPath := filepath.Join(home, ".local", "share", "anchore", "vault")
	st, err := os.Stat(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("vault mode %04o, want 0600", st.Mode().Perm())
	}
	vault, err := os.ReadFile(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(vault, []byte("s3cret")) || !bytes.HasPrefix(vault, []byte("age-encryption.org/v1\n")) {
		t.Errorf("the vault is not an age file, or holds the password in clear")
	}
}
