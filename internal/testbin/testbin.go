// Package testbin gives end-to-end tests the project's built binaries.
// "make test" builds them once (without -race) and sets ANCHORE_TEST_BINDIR;
// a plain "go test" builds them once per test process into a temp dir.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// EnvDir names the directory holding prebuilt binaries.
const EnvDir = "ANCHORE_TEST_BINDIR"

var (
	once     sync.Once
	builtDir string
	buildErr error
)

// Path returns the path of the named binary ("docker-credential-anchore",
// "anchored" or "anchore-credential-provider"), building it if needed.
func Path(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Dir(t), name)
}

// Dir returns a directory holding both binaries, suitable for PATH.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	once.Do(func() {
		dir, err := os.MkdirTemp("", "anchored-testbin-")
		if err != nil {
			buildErr = err
			return
		}
		builtDir = dir
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", dir, "./cmd/docker-credential-anchore", "./cmd/anchored", "./cmd/anchore-credential-provider")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build binaries: %v", buildErr)
	}
	return builtDir
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
