package vault

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The cross-process tests re-execute this test binary in a child mode chosen
// by an environment variable; the passphrase travels in the environment,
// never in the arguments.
const (
	envChild = "VAULT_TEST_CHILD"
	envPath  = "VAULT_TEST_PATH"
	envPass  = "VAULT_TEST_PASS"
	envID    = "VAULT_TEST_ID"
	envCount = "VAULT_TEST_COUNT"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(m.Run())
	case "update":
		os.Exit(childMain(childUpdate))
	case "loop":
		os.Exit(childMain(childLoop))
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode")
		os.Exit(3)
	}
}

func childMain(f func(context.Context, *Vault, string, int) error) int {
	ctx := context.Background()
	n, _ := strconv.Atoi(os.Getenv(envCount))
	v, err := Open(ctx, os.Getenv(envPath), os.Getenv(envPass))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := f(ctx, v, os.Getenv(envID), n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func addEntry(key string) func(*Document) error {
	return func(d *Document) error {
		d.AccountRegistries("admin")[key] = &Registry{Registry: key, Name: key, Type: "docker_v2", User: "u", Pass: "p-" + key}
		return nil
	}
}

// childUpdate waits for a byte on stdin (so that all children start at
// once) and then makes n updates, one entry each.
func childUpdate(ctx context.Context, v *Vault, id string, n int) error {
	if _, err := io.ReadFull(os.Stdin, make([]byte, 1)); err != nil {
		return err
	}
	for i := range n {
		if err := v.Update(ctx, addEntry(fmt.Sprintf("child-%s-%02d.example", id, i))); err != nil {
			return err
		}
	}
	return nil
}

// childLoop updates forever, reporting each update on stdout once Update
// has returned, until it is killed.
func childLoop(ctx context.Context, v *Vault, id string, _ int) error {
	for i := 0; ; i++ {
		key := fmt.Sprintf("loop-%s-%06d.example", id, i)
		if err := v.Update(ctx, addEntry(key)); err != nil {
			return err
		}
		if _, err := fmt.Fprintln(os.Stdout, key); err != nil {
			return err
		}
	}
}

func childCmd(t *testing.T, mode, path, id string, n int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envPath+"="+path, envPass+"="+testPass, envID+"="+id, envCount+"="+strconv.Itoa(n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func TestNoLostUpdateAcrossProcesses(t *testing.T) {
	const procs, each = 16, 25
	path := newVaultPath(t)
	mustCreate(t, path, nil)

	var starts []io.WriteCloser
	var cmds []*exec.Cmd
	var stderrs []*strings.Builder
	for p := range procs {
		cmd := childCmd(t, "update", path, fmt.Sprintf("%02d", p), each)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, starts, stderrs = append(cmds, cmd), append(starts, in), append(stderrs, &stderr)
	}
	for _, in := range starts {
		in.Write([]byte{1})
		in.Close()
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v: %s", i, err, stderrs[i])
		}
	}
	v, err := Open(context.Background(), path, testPass)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	regs := v.Document().Registries["admin"]
	if got, want := len(regs), procs*each; got != want {
		t.Errorf("%d entries after %d processes made %d updates each, want %d", got, procs, each, want)
	}
	for p := range procs {
		for i := range each {
			if key := fmt.Sprintf("child-%02d-%02d.example", p, i); regs[key] == nil {
				t.Errorf("update %s lost", key)
			}
		}
	}
}

func TestCrashSafetySIGKILL(t *testing.T) {
	const kills = 16
	ctx := context.Background()
	path := newVaultPath(t)
	mustCreate(t, path, nil)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var reported []string
	for k := range kills {
		cmd := childCmd(t, "loop", path, fmt.Sprintf("%02d", k), 0)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var done []string
		readDone := make(chan struct{})
		firstDone := make(chan struct{})
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				mu.Lock()
				done = append(done, sc.Text())
				if len(done) == 1 {
					close(firstDone)
				}
				mu.Unlock()
			}
		}()
		// Wait for the child's first reported update (a race-built child
		// on a loaded machine can take longer to start than any fixed
		// sleep), then let it run a random while so that the kill lands
		// anywhere in a later update.
		select {
		case <-firstDone:
		case <-readDone:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			t.Fatalf("child %d reported no update within a minute", k)
		}
		time.Sleep(time.Duration(rng.IntN(120)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		<-readDone
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("child %d ended before the kill: %v: %s", k, err, stderr.String())
		}
		mu.Lock()
		// Only whole lines were reported; a key the scanner saw is done.
		reported = append(reported, done...)
		mu.Unlock()

		v, err := Open(ctx, path, testPass)
		if err != nil {
			t.Fatalf("after kill %d the vault does not open: %v", k, err)
		}
		regs := v.Document().Registries["admin"]
		for _, key := range reported {
			if regs[key] == nil {
				t.Fatalf("after kill %d, reported update %s is missing", k, key)
			}
		}
	}
	if len(reported) == 0 {
		t.Errorf("no child reported any update; the test proved nothing")
	}
	// A kill mid-write leaves a temp file; the next writer removes it.
	v, err := Open(ctx, path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Update(ctx, addEntry("after-the-kills.example")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "vault" && e.Name() != "vault.lock" {
			t.Errorf("left beside the vault after a write: %s", e.Name())
		}
	}
	t.Logf("%d kills, %d updates reported and found", kills, len(reported))
}
