package nodump

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDisable runs Disable in a child process (it cannot be undone) and
// checks both effects there.
func TestDisable(t *testing.T) {
	if os.Getenv("NODUMP_CHILD") == "1" {
		if d, err := Dumpable(); err != nil || !d {
			t.Fatalf("before: dumpable %v, %v; want true", d, err)
		}
		if err := Disable(); err != nil {
			t.Fatal(err)
		}
		if d, err := Dumpable(); err != nil || d {
			t.Fatalf("after: dumpable %v, %v; want false", d, err)
		}
		var rl unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil || rl.Cur != 0 || rl.Max != 0 {
			t.Fatalf("after: RLIMIT_CORE %+v, %v; want 0/0", rl, err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDisable$", "-test.v")
	cmd.Env = append(os.Environ(), "NODUMP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDisable") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
