package packagingtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPostinstall runs the package's post-install script against a scratch
// root (dpkg's DPKG_ROOT) with systemd-sysusers replaced by a stub that
// records its arguments: the user is created through sysusers, and a
// random passphrase appears once, 0600, and is never replaced.
func TestPostinstall(t *testing.T) {
	sh := needTool(t, "sh", "dash")
	script := filepath.Join(repoRoot(t), "packaging", "scripts", "postinstall.sh")
	root := t.TempDir()
	stubs := t.TempDir()
	calls := filepath.Join(stubs, "calls")
	stub := "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> " + calls + "\n"
	if err := os.WriteFile(filepath.Join(stubs, "systemd-sysusers"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	runScript := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, sh, script, "configure")
		cmd.Env = []string{"DPKG_ROOT=" + root, "PATH=" + stubs + ":/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
			t.Fatalf("postinstall: %v, output %q (want none)", err, out)
		}
	}

	runScript()
	pass := filepath.Join(root, "etc", "anchored", "vault-passphrase")
	first, err := os.ReadFile(pass)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(first) {
		t.Errorf("passphrase %q, want 64 hex digits and a newline", first)
	}
	if st, err := os.Stat(pass); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("passphrase file: %v, mode %v, want 0600", err, st.Mode().Perm())
	}

	runScript() // an upgrade
	second, err := os.ReadFile(pass)
	if err != nil {
		t.Fatal(err)
	}
	if string(second) != string(first) {
		t.Error("a second run replaced the passphrase: the vault would no longer open")
	}

	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("systemd-sysusers --root="+root+" /usr/lib/sysusers.d/anchored.conf\n", 2)
	if string(got) != want {
		t.Errorf("sysusers calls:\n%s\nwant:\n%s", got, want)
	}
}

// TestSysusersAndTmpfiles checks the entries parse as systemd reads them:
// systemd-sysusers and systemd-tmpfiles on a scratch root.
func TestSysusersAndTmpfiles(t *testing.T) {
	sysusers := needTool(t, "systemd-sysusers", "systemd")
	root := t.TempDir()
	conf := filepath.Join(repoRoot(t), "packaging", "sysusers.d", "anchored.conf")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, sysusers, "--root="+root, conf)
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	group, err := os.ReadFile(filepath.Join(root, "etc", "group"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^anchored:x:\d+:\d+:anchored credential daemon:/var/lib/anchored:/usr/sbin/nologin$`).Match(passwd) {
		t.Errorf("sysusers made no anchored user as expected:\n%s", passwd)
	}
	if !regexp.MustCompile(`(?m)^anchored:x:\d+:`).Match(group) {
		t.Errorf("sysusers made no anchored group:\n%s", group)
	}

	tmpfiles := needTool(t, "systemd-tmpfiles", "systemd")
	tconf := filepath.Join(repoRoot(t), "packaging", "tmpfiles.d", "anchored.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// --root resolves the user and group in root's own /etc, made above.
	if out, err := exec.CommandContext(ctx, tmpfiles, "--root="+root, "--create", tconf).CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("systemd-tmpfiles --create: %v\n%s", err, out)
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{"var/lib/anchored", 0o700}, {"run/anchored", 0o750}, {"etc/anchored", 0o755}} {
		st, err := os.Stat(filepath.Join(root, d.path))
		if err != nil {
			t.Error(err)
			continue
		}
		if !st.IsDir() || st.Mode().Perm() != d.mode {
			t.Errorf("/%s: %v, want a directory of mode %04o", d.path, st.Mode(), d.mode)
		}
	}
}
