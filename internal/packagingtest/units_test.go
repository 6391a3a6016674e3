package packagingtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// verifyUnits runs systemd-analyze verify on copies of the installed units
// whose ExecStart points at the installed binary: verify insists that the
// binary exists, and the test must not need /usr/bin/anchored on the host.
// Any output is a failure too: verify only warns about unknown keys.
func verifyUnits(t *testing.T, b *built, scope string) {
	t.Helper()
	analyze := needTool(t, "systemd-analyze", "systemd")
	src := filepath.Join(b.usr, "usr", "lib", "systemd", scope)
	dst := t.TempDir()
	bin := filepath.Join(b.usr, "usr", "bin", "anchored")
	var paths []string
	for _, name := range []string{"anchored.service", "anchored.socket"} {
		body, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.ReplaceAll(body, []byte("/usr/bin/anchored"), []byte(bin))
		p := filepath.Join(dst, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	args := []string{"verify", "--man=no"}
	env := os.Environ()
	if scope == "user" {
		// The user manager needs a runtime directory for %t.
		rt := t.TempDir()
		if err := os.Chmod(rt, 0o700); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--user"}, args...)
		env = append(env, "XDG_RUNTIME_DIR="+rt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, append(args, paths...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	b := build(t)
	for _, scope := range []string{"system", "user"} {
		t.Run(scope, func(t *testing.T) { verifyUnits(t, b, scope) })
	}
}

// unitValues returns every value of key in a unit file.
func unitValues(t *testing.T, path, key string) []string {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, m := range regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(key)+`=(.*)$`).FindAllStringSubmatch(string(body), -1) {
		vals = append(vals, m[1])
	}
	return vals
}

// TestUnitSettings pins what SPEC sections 1 and 6 and issue 6 ask of the
// units, so that an edit cannot quietly drop a guarantee systemd-analyze
// does not know about.
func TestUnitSettings(t *testing.T) {
	b := build(t)
	sys := filepath.Join(b.usr, "usr", "lib", "systemd", "system")
	user := filepath.Join(b.usr, "usr", "lib", "systemd", "user")
	tests := []struct {
		file, key string
		want      []string
	}{
		{"system/anchored.service", "Type", []string{"notify"}},
		{"system/anchored.service", "ExecStart", []string{"/usr/bin/anchored --config /etc/anchored/config.yaml"}},
		{"system/anchored.service", "ExecReload", []string{"/bin/kill -HUP $MAINPID"}},
		{"system/anchored.service", "User", []string{"anchored"}},
		{"system/anchored.service", "Group", []string{"anchored"}},
		{"system/anchored.service", "StateDirectory", []string{"anchored"}},
		{"system/anchored.service", "RuntimeDirectory", []string{"anchored"}},
		{"system/anchored.service", "LoadCredential", []string{"vault-passphrase:/etc/anchored/vault-passphrase"}},
		{"system/anchored.service", "ProtectSystem", []string{"strict"}},
		{"system/anchored.service", "ProtectHome", []string{"yes"}},
		{"system/anchored.service", "NoNewPrivileges", []string{"yes"}},
		{"system/anchored.service", "PrivateTmp", []string{"yes"}},
		{"system/anchored.service", "RestrictAddressFamilies", []string{"AF_UNIX AF_INET AF_INET6"}},
		{"system/anchored.service", "SystemCallFilter", []string{"@system-service", "~@privileged"}},
		{"system/anchored.service", "RestartPreventExitStatus", []string{"2"}},
		{"system/anchored.socket", "ListenStream", []string{"/run/anchored/anchored.sock"}},
		{"system/anchored.socket", "SocketMode", []string{"0660"}},
		{"system/anchored.socket", "SocketGroup", []string{"anchored"}},
		{"user/anchored.service", "Type", []string{"notify"}},
		{"user/anchored.service", "ExecStart", []string{"/usr/bin/anchored"}},
		{"user/anchored.service", "ExecReload", []string{"/bin/kill -HUP $MAINPID"}},
		{"user/anchored.socket", "ListenStream", []string{"%t/anchored.sock"}},
		{"user/anchored.socket", "SocketMode", []string{"0600"}},
		// Issue 12: no core file of a process holding the decrypted vault
		// (the daemon also sets PR_SET_DUMPABLE 0 itself).
		{"system/anchored.service", "LimitCORE", []string{"0"}},
		{"user/anchored.service", "LimitCORE", []string{"0"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.key, func(t *testing.T) {
			dir := sys
			if strings.HasPrefix(tt.file, "user/") {
				dir = user
			}
			got := unitValues(t, filepath.Join(dir, filepath.Base(tt.file)), tt.key)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("%s: %s = %q, want %q", tt.file, tt.key, got, tt.want)
			}
		})
	}

	// Every man page a unit's Documentation= names is installed.
	for _, unit := range []string{"system/anchored.service", "system/anchored.socket", "user/anchored.service", "user/anchored.socket"} {
		for _, doc := range unitValues(t, filepath.Join(b.usr, "usr", "lib", "systemd", unit), "Documentation") {
			for _, ref := range strings.Fields(doc) {
				m := regexp.MustCompile(`^man:([a-z-]+)\(([0-9])\)$`).FindStringSubmatch(ref)
				if m == nil {
					t.Errorf("%s: Documentation=%s is not a man: reference", unit, ref)
					continue
				}
				page := filepath.Join(b.usr, "usr", "share", "man", "man"+m[2], m[1]+"."+m[2])
				if _, err := os.Stat(page); err != nil {
					t.Errorf("%s: Documentation=%s: %v", unit, ref, err)
				}
			}
		}
	}
}
