package packagingtest

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/testbin"
)

// TestMakeRunOnBusyPort: a second "make run" on a port in use fails at
// once, names ANCHORED_HTTP, and makes no state (no passphrase, config,
// vault or admin).
func TestMakeRunOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	state := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "run.sh"))
	cmd.Env = append(os.Environ(), "ANCHORED_BIN="+testbin.Path(t, "anchored"), "ANCHORED_STATE="+state, "ANCHORED_HTTP="+ln.Addr().String())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("run.sh on a busy port: %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(string(out), ln.Addr().String()+" is already in use") || !strings.Contains(string(out), "ANCHORED_HTTP") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("run.sh on a busy port said %q; want one line naming the address and ANCHORED_HTTP", out)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run.sh on a busy port made %s (%v)", state, err)
	}
}
