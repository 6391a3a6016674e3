package packagingtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wantFiles is every file "make install PREFIX=/usr" installs and the
// packages carry, with its mode (SPEC section 1, issue 6).
var wantFiles = map[string]fs.FileMode{
	"/usr/bin/docker-credential-anchore":                                  0o755,
	"/usr/bin/anchored":                                                   0o755,
	"/usr/bin/anchore-credential-provider":                                0o755,
	"/usr/lib/systemd/system/anchored.service":                            0o644,
	"/usr/lib/systemd/system/anchored.socket":                             0o644,
	"/usr/lib/systemd/user/anchored.service":                              0o644,
	"/usr/lib/systemd/user/anchored.socket":                               0o644,
	"/usr/lib/sysusers.d/anchored.conf":                                   0o644,
	"/usr/lib/tmpfiles.d/anchored.conf":                                   0o644,
	"/etc/anchored/config.yaml":                                           0o644,
	"/usr/share/man/man1/docker-credential-anchore.1":                     0o644,
	"/usr/share/man/man8/anchored.8":                                      0o644,
	"/usr/share/bash-completion/completions/docker-credential-anchore":    0o644,
	"/usr/share/bash-completion/completions/anchored":                     0o644,
	"/usr/share/zsh/site-functions/_docker-credential-anchore":            0o644,
	"/usr/share/zsh/site-functions/_anchored":                             0o644,
	"/usr/share/fish/vendor_completions.d/docker-credential-anchore.fish": 0o644,
	"/usr/share/fish/vendor_completions.d/anchored.fish":                  0o644,
}

// debPath is where the .deb puts an installed file: Debian's zsh reads
// vendor-completions, not site-functions (packaging/nfpm.yaml).
func debPath(p string) string {
	return strings.Replace(p, "/usr/share/zsh/site-functions", "/usr/share/zsh/vendor-completions", 1)
}

func TestInstallTree(t *testing.T) {
	b := build(t)
	got := files(walkTree(t, b.usr))
	for _, p := range sortedKeys(wantFiles) {
		e, ok := got[p]
		if !ok {
			t.Errorf("make install PREFIX=/usr: %s missing", p)
			continue
		}
		if e.mode.Perm() != wantFiles[p] {
			t.Errorf("make install PREFIX=/usr: %s mode %04o, want %04o", p, e.mode.Perm(), wantFiles[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := wantFiles[p]; !ok {
			t.Errorf("make install PREFIX=/usr: unexpected file %s", p)
		}
	}
}

func TestInstallHonoursPrefixAndKeepsConfig(t *testing.T) {
	b := build(t)
	got := files(walkTree(t, b.local))
	for _, p := range sortedKeys(wantFiles) {
		want := p
		if p != "/etc/anchored/config.yaml" {
			want = strings.Replace(p, "/usr/", "/opt/anchored/", 1)
		}
		if _, ok := got[want]; !ok {
			t.Errorf("make install PREFIX=/opt/anchored: %s missing", want)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(b.local, "etc", "anchored", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg) != adminConfig {
		t.Errorf("make install replaced an existing /etc/anchored/config.yaml: got %q, want %q", cfg, adminConfig)
	}
	for _, unit := range []string{"system", "user"} {
		body, err := os.ReadFile(filepath.Join(b.local, "opt", "anchored", "lib", "systemd", unit, "anchored.service"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^ExecStart=(\S+)`).FindSubmatch(body)
		if m == nil || string(m[1]) != "/opt/anchored/bin/anchored" {
			t.Errorf("%s unit under PREFIX=/opt/anchored: ExecStart binary %q, want /opt/anchored/bin/anchored", unit, m)
		}
	}
}

// debContents parses "dpkg-deb --contents": mode string, owner and path.
func debContents(t *testing.T, out string) map[string][2]string {
	t.Helper()
	got := map[string][2]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb --contents: unexpected line %q", line)
		}
		p := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")
		got[p] = [2]string{f[0], f[1]}
	}
	return got
}

func TestDeb(t *testing.T) {
	needTool(t, "dpkg-deb", "dpkg")
	b := build(t)

	info := run(t, "dpkg-deb", "--info", b.deb)
	for _, want := range []string{"Package: anchored", "Version: 9.9.9~pkgtest-1", "conffiles", "postinst", "prerm", "postrm"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	if got, want := strings.TrimSpace(run(t, "dpkg-deb", "--info", b.deb, "conffiles")), "/etc/anchored/config.yaml"; got != want {
		t.Errorf("conffiles = %q, want %q", got, want)
	}
	postinst := run(t, "dpkg-deb", "--info", b.deb, "postinst")
	for _, want := range []string{"systemd-sysusers /usr/lib/sysusers.d/anchored.conf", "systemd-tmpfiles --create", "/etc/anchored/vault-passphrase"} {
		if !strings.Contains(postinst, want) {
			t.Errorf("postinst lacks %q", want)
		}
	}

	contents := debContents(t, run(t, "dpkg-deb", "--contents", b.deb))
	for _, p := range sortedKeys(wantFiles) {
		wantMode := "-rw-r--r--"
		if wantFiles[p] == 0o755 {
			wantMode = "-rwxr-xr-x"
		}
		got, ok := contents[debPath(p)]
		if !ok {
			t.Errorf("dpkg-deb --contents: %s missing", debPath(p))
			continue
		}
		if got != [2]string{wantMode, "root/root"} {
			t.Errorf("dpkg-deb --contents: %s is %v, want %s root/root", debPath(p), got, wantMode)
		}
	}
	if got := contents["/etc/anchored"]; got[0] != "drwxr-xr-x" {
		t.Errorf("dpkg-deb --contents: /etc/anchored is %v, want drwxr-xr-x", got)
	}

	// Unpacked, the .deb is the tree make install made: same files, same
	// modes, same bytes.
	x := filepath.Join(t.TempDir(), "x")
	run(t, "dpkg-deb", "-x", b.deb, x)
	want := map[string]entry{}
	for p, e := range files(walkTree(t, b.usr)) {
		want[debPath(p)] = e
	}
	diffTrees(t, "dpkg-deb -x vs make install", files(walkTree(t, x)), want)
}

func TestRPM(t *testing.T) {
	needTool(t, "rpm", "rpm")
	b := build(t)
	q := func(args ...string) []string {
		out := run(t, "rpm", append([]string{"-qp"}, append(args, b.rpm)...)...)
		return strings.Split(strings.TrimSpace(out), "\n")
	}

	want := append(sortedKeys(wantFiles), "/etc/anchored")
	got := q("-l")
	gotSet := map[string]bool{}
	for _, p := range got {
		gotSet[p] = true
	}
	for _, p := range want {
		if !gotSet[p] {
			t.Errorf("rpm -qlp: %s missing", p)
		}
		delete(gotSet, p)
	}
	for _, p := range sortedKeys(gotSet) {
		t.Errorf("rpm -qlp: unexpected %s", p)
	}

	if got := q("-c"); len(got) != 1 || got[0] != "/etc/anchored/config.yaml" {
		t.Errorf("rpm -qcp = %q, want [/etc/anchored/config.yaml]", got)
	}
	for _, line := range q("--qf", `[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]`) {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("rpm --qf: unexpected line %q", line)
		}
		mode, ok := wantFiles[f[2]]
		if !ok {
			continue
		}
		wantPerms := "-rw-r--r--"
		if mode == 0o755 {
			wantPerms = "-rwxr-xr-x"
		}
		if f[0] != wantPerms || f[1] != "root:root" {
			t.Errorf("rpm: %s is %s %s, want %s root:root", f[2], f[0], f[1], wantPerms)
		}
	}
	if scripts := strings.Join(q("--scripts"), "\n"); !strings.Contains(scripts, "systemd-sysusers /usr/lib/sysusers.d/anchored.conf") {
		t.Errorf("rpm scripts lack the sysusers step:\n%s", scripts)
	}

	// Installed into a root of its own (scripts off: they need a running
	// systemd, and their text is checked above), the .rpm is the tree make
	// install made; rpm -V finds nothing changed; rpm -e takes every file
	// away again.
	root := t.TempDir()
	run(t, "rpm", "--root", root, "--initdb")
	run(t, "rpm", "--root", root, "-i", "--nodeps", "--noscripts", b.rpm)
	diffTrees(t, "rpm -i vs make install", packaged(t, root), files(walkTree(t, b.usr)))
	run(t, "rpm", "--root", root, "-V", "anchored")
	run(t, "rpm", "--root", root, "-e", "--noscripts", "anchored")
	if left := packaged(t, root); len(left) != 0 {
		t.Errorf("after rpm -e, still installed: %v", sortedKeys(left))
	}
}

// packaged is the files under root's /usr and /etc: what a package
// installs, without the package manager's own database.
func packaged(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := files(walkTree(t, root))
	for p := range out {
		if !strings.HasPrefix(p, "/usr/") && !strings.HasPrefix(p, "/etc/") {
			delete(out, p)
		}
	}
	return out
}
