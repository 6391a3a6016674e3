// Package pgtest runs a private PostgreSQL cluster for tests: Debian's
// postgresql package (initdb and postgres under /usr/lib/postgresql/N/bin),
// a data directory and a Unix socket in a temp dir, no TCP listener. One
// cluster serves a test package (started on first use, stopped by TestMain);
// each test gets a fresh database in it, so a package pays initdb once.
//
// initdb refuses to run as root (CI runs as root), so as root the cluster
// runs as the unprivileged user "nobody"; otherwise as the current user.
// A machine without the binaries fails the test with a line naming the
// Debian package to install: never a silent skip.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres means the PostgreSQL server binaries are not installed.
var ErrNoPostgres = errors.New("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: install the Debian package \"postgresql\" (.ci/run does)")

// Superuser is the cluster's superuser role; authentication is trust on
// the private socket.
const Superuser = "postgres"

// Cluster is one private PostgreSQL server. The zero value is not usable;
// use New. Its methods are safe for concurrent use.
type Cluster struct {
	mu      sync.Mutex
	started bool
	err     error // a failed start, reported to every test
	dir     string
	bin     string
	cred    *syscall.Credential
	proc    *os.Process
	exited  chan struct{}
	dbs     int
}

// New returns a cluster that starts on first use.
func New() *Cluster { return &Cluster{} }

// Main runs the package's tests and stops c afterwards (TestMain:
// os.Exit(pgtest.Main(m, c))).
func Main(m *testing.M, c *Cluster) int {
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	return code
}

// FindBin returns the newest installed PostgreSQL's bin directory.
func FindBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return "", ErrNoPostgres
	}
	sort.Slice(ok, func(i, j int) bool { return version(ok[i]) > version(ok[j]) })
	return ok[0], nil
}

func version(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return n
}

// Bin returns the path of the named PostgreSQL program (pg_dump, psql).
func (c *Cluster) Bin(t testing.TB, name string) string {
	t.Helper()
	c.ensure(t)
	return filepath.Join(c.bin, name)
}

func (c *Cluster) ensure(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started && c.err == nil {
		c.err = c.initLocked()
		if c.err == nil {
			c.err = c.startLocked()
		}
		c.started = c.err == nil
	}
	if c.err != nil {
		t.Fatalf("pgtest: %v", c.err)
	}
}

func (c *Cluster) initLocked() error {
	bin, err := FindBin()
	if err != nil {
		return err
	}
	c.bin = bin
	dir, err := os.MkdirTemp(baseDir(), "anchored-pgtest-")
	if err != nil {
		return err
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return fmt.Errorf("running as root, and no unprivileged user %q to run PostgreSQL as: %w", "nobody", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", c.data(), "-U", Superuser, "--auth=trust",
		"--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// baseDir is where the cluster's directory goes: $TMPDIR, unless the
// server (as nobody) could not reach it or the socket's path would pass
// the Unix limit (107 bytes), then /tmp.
func baseDir() string {
	base := os.TempDir()
	if len(base) > 60 {
		return "/tmp"
	}
	if os.Geteuid() == 0 {
		for d := base; d != "/" && d != "."; d = filepath.Dir(d) {
			fi, err := os.Stat(d)
			if err != nil || fi.Mode().Perm()&0o001 == 0 {
				return "/tmp"
			}
		}
	}
	return base
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// SocketDir is the directory holding the server's Unix socket.
func (c *Cluster) SocketDir() string { return c.dir }

// startLocked starts postgres as a child and waits until it accepts
// connections. The child is started from a goroutine that keeps its OS
// thread for the child's lifetime: Pdeathsig is tied to the thread, and the
// server must die with the test process even when TestMain's cleanup is
// skipped (a panic, a -timeout).
func (c *Cluster) startLocked() error {
	logf, err := os.OpenFile(filepath.Join(c.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), "-D", c.data(), "-k", c.dir,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=16MB")
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	if err := <-started; err != nil {
		logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc, c.exited = cmd.Process, exited
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.dsn("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
			return fmt.Errorf("postgres exited at start: %s", strings.TrimSpace(string(log)))
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *Cluster) dsn(db string) string {
	return fmt.Sprintf("host=%s user=%s dbname=%s sslmode=disable", c.dir, Superuser, db)
}

// NewDatabase creates a fresh, empty database for t and returns its DSN
// (a keyword/value connection string over the Unix socket).
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	c.ensure(t)
	c.mu.Lock()
	c.dbs++
	name := fmt.Sprintf("t%d", c.dbs)
	c.mu.Unlock()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return c.dsn(name)
}

// Stop stops the server (fast shutdown) and waits for it; the data stays,
// for Start. Tests use it to take the database away mid-run.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked()
}

func (c *Cluster) stopLocked() error {
	if c.proc == nil {
		return nil
	}
	// SIGINT is PostgreSQL's fast shutdown: clients are disconnected.
	if err := c.proc.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop postgres (pid %d): %w", c.proc.Pid, err)
	}
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.proc.Kill()
		<-c.exited
	}
	c.proc = nil
	return nil
}

// Start starts a stopped server again on its data.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return
	}
	if err := c.startLocked(); err != nil {
		t.Fatalf("pgtest: restart: %v", err)
	}
}

// Close stops the server and removes its directory.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.stopLocked()
	if c.dir != "" {
		if rerr := os.RemoveAll(c.dir); err == nil {
			err = rerr
		}
		c.dir = ""
	}
	return err
}
