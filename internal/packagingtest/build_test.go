package packagingtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// testVersion is the version every make run in these tests builds with, so
// that the package, the install tree and --version can be compared.
const testVersion = "v9.9.9-pkgtest"

// built is one "make package" and two "make install"s, shared by every test
// of the package: building packages is the slow part, so it happens once.
type built struct {
	root    string // repository root
	dir     string // scratch directory for everything below
	bin     string // make's BIN: binaries, generated docs, staging tree
	dist    string // the .deb and .rpm
	usr     string // make install DESTDIR=usr PREFIX=/usr
	local   string // make install DESTDIR=local PREFIX=/opt/anchored (and a config already there)
	deb     string
	rpm     string
	makeErr error
}

var (
	buildOnce sync.Once
	shared    built
	scratch   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if scratch != "" {
		os.RemoveAll(scratch)
	}
	os.Exit(code)
}

// repoRoot is two directories up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		t.Fatalf("repository root %s has no Makefile: %v", root, err)
	}
	return root
}

// needTool fails (not skips) when a tool the tests need is missing: .ci/run
// installs them, and a skipped packaging test would hide a broken package.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install Debian's %q package (.ci/run does: apt-get install %s)", name, pkg, pkg)
	}
	return p
}

// runMake runs make in the repository with a clean make environment (the
// tests may themselves run under "make test", whose jobserver is not ours).
func runMake(ctx context.Context, root string, args ...string) error {
	cmd := exec.CommandContext(ctx, "make", append([]string{"-C", root, "--no-print-directory"}, args...)...)
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR", "PREFIX", "VERSION", "BIN", "DIST", "STAGE":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("make %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// build runs make package and make install once and returns the results.
func build(t *testing.T) *built {
	t.Helper()
	needTool(t, "make", "make")
	buildOnce.Do(func() {
		b := &shared
		b.root = repoRoot(t)
		dir, err := os.MkdirTemp("", "anchored-packagingtest-")
		if err != nil {
			b.makeErr = err
			return
		}
		scratch = dir
		b.dir = dir
		b.bin = filepath.Join(dir, "bin")
		b.dist = filepath.Join(dir, "dist")
		b.usr = filepath.Join(dir, "usr-root")
		b.local = filepath.Join(dir, "local-root")
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		common := []string{"BIN=" + b.bin, "VERSION=" + testVersion}
		if b.makeErr = runMake(ctx, b.root, append([]string{"package", "DIST=" + b.dist}, common...)...); b.makeErr != nil {
			return
		}
		if b.makeErr = runMake(ctx, b.root, append([]string{"install", "DESTDIR=" + b.usr, "PREFIX=/usr"}, common...)...); b.makeErr != nil {
			return
		}
		// An administrator's config is already there: make install keeps it.
		if err := os.MkdirAll(filepath.Join(b.local, "etc", "anchored"), 0o755); err != nil {
			b.makeErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(b.local, "etc", "anchored", "config.yaml"), []byte(adminConfig), 0o640); err != nil {
			b.makeErr = err
			return
		}
		if b.makeErr = runMake(ctx, b.root, append([]string{"install", "DESTDIR=" + b.local, "PREFIX=/opt/anchored"}, common...)...); b.makeErr != nil {
			return
		}
		debs, _ := filepath.Glob(filepath.Join(b.dist, "*.deb"))
		rpms, _ := filepath.Glob(filepath.Join(b.dist, "*.rpm"))
		if len(debs) != 1 || len(rpms) != 1 {
			b.makeErr = fmt.Errorf("make package wrote %d .deb and %d .rpm into %s, want 1 and 1", len(debs), len(rpms), b.dist)
			return
		}
		b.deb, b.rpm = debs[0], rpms[0]
	})
	if shared.makeErr != nil {
		t.Fatal(shared.makeErr)
	}
	return &shared
}

const adminConfig = "# the administrator's own\nallow_awsecr_iam_auto: true\n"

// entry is one file or directory of a tree, as a package lists it.
type entry struct {
	mode fs.FileMode // permission bits and the directory bit
	sum  string      // sha256 of a regular file's content
}

func (e entry) String() string {
	if e.mode.IsDir() {
		return fmt.Sprintf("dir %04o", e.mode.Perm())
	}
	return fmt.Sprintf("file %04o %.12s", e.mode.Perm(), e.sum)
}

// walkTree lists every file and directory under root by its absolute path
// inside root ("/usr/bin/anchored").
func walkTree(t *testing.T, root string) map[string]entry {
	t.Helper()
	tree := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{mode: info.Mode() & (fs.ModeDir | fs.ModePerm)}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			e.sum = hex.EncodeToString(h[:])
		} else if !info.IsDir() {
			return fmt.Errorf("%s: neither file nor directory (%v)", p, info.Mode())
		}
		tree["/"+filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// files keeps the regular files of a tree.
func files(tree map[string]entry) map[string]entry {
	out := map[string]entry{}
	for p, e := range tree {
		if !e.mode.IsDir() {
			out[p] = e
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diffTrees reports every path that differs between got and want.
func diffTrees(t *testing.T, what string, got, want map[string]entry) {
	t.Helper()
	for _, p := range sortedKeys(want) {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: missing %s (want %v)", what, p, want[p])
		case g != want[p]:
			t.Errorf("%s: %s is %v, want %v", what, p, g, want[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected %s (%v)", what, p, got[p])
		}
	}
}

// run runs a command and returns its standard output; it fails the test
// when the command fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
