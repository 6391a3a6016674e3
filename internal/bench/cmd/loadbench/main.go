// Command loadbench measures a built anchored against a floor on loopback,
// in one run, with one load driver (vegeta's library), and prints the
// figures and their ratios as a Markdown table for BENCHMARKS.md.
//
//	go run ./internal/bench/cmd/loadbench -bin bin -trivial PATH -duration 5s
//
// It makes its own state in a temporary directory (a vault at the default
// work factor, users whose passwords are stored as scrypt hashes), starts
// anchored with plain HTTP on 127.0.0.1 and its Unix socket, starts the
// floor (this same binary, -serve-floor) on 127.0.0.1, and talks to
// nothing else.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/anchored/anchored/internal/bench"
	"github.com/anchored/anchored/internal/passhash"
	"github.com/anchored/anchored/pkg/vault"
)

const (
	adminPassword = "bench-admin-password"
	coldPassword  = "bench-cold-password"
	benchRegistry = "registry.bench.local"
)

func main() {
	var (
		binDir    = flag.String("bin", "bin", "directory holding anchored and docker-credential-anchore")
		trivial   = flag.String("trivial", "", "a trivial credential helper to compare the helper get with")
		duration  = flag.Duration("duration", 5*time.Second, "length of each scenario")
		workers   = flag.Uint64("workers", 8, "concurrent HTTP clients")
		procs     = flag.Int("procs", 2, "concurrent helper processes")
		coldUsers = flag.Int("cold-users", 2000, "users for each cold scenario (each is used once)")
		floorAddr = flag.String("serve-floor", "", "internal: serve the floor on this address and wait")
	)
	flag.Parse()
	if *floorAddr != "" {
		serveFloor(*floorAddr)
		return
	}
	if err := run(*binDir, *trivial, *duration, *workers, *procs, *coldUsers); err != nil {
		log.Fatal(err)
	}
}

func serveFloor(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready")
	if err := bench.ServeFloor(context.Background(), ln); err != nil {
		log.Fatal(err)
	}
}

func run(binDir, trivial string, duration time.Duration, workers uint64, procs, coldUsers int) error {
	ctx := context.Background()
	binDir, err := filepath.Abs(binDir)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "anchored-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// One scrypt at the production cost, measured here: the yardstick of
	// the cold scenarios.
	hasher := passhash.New()
	hash, err := hasher.Hash(ctx, adminPassword)
	if err != nil {
		return err
	}
	coldHash, err := hasher.Hash(ctx, coldPassword)
	if err != nil {
		return err
	}
	oneScrypt := timeVerify(ctx, hasher, hash, adminPassword, 5)

	state := filepath.Join(dir, "state")
	vaultPath := filepath.Join(state, "vault")
	passFile := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(passFile, []byte("bench-vault-passphrase\n"), 0o600); err != nil {
		return err
	}
	if err := makeVault(ctx, vaultPath, "bench-vault-passphrase", hash, coldHash, coldUsers); err != nil {
		return err
	}
	daemonAddr, err := freeAddr()
	if err != nil {
		return err
	}
	floorAddr, err := freeAddr()
	if err != nil {
		return err
	}
	socket := filepath.Join(state, "anchored.sock")
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(`vault: %s
listen:
  socket: %s
  http: %s
helper_account: admin
user_authentication:
  oauth:
    enabled: true
  hashed_passwords: true
`, vaultPath, socket, daemonAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}

	daemon := exec.Command(filepath.Join(binDir, "anchored"), "--config", cfgPath, "--passphrase-file", passFile)
	daemon.Env = benchEnv(dir)
	daemon.Stdout, daemon.Stderr = io.Discard, io.Discard
	daemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := daemon.Start(); err != nil {
		return err
	}
	defer stop(daemon)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	floor := exec.Command(self, "-serve-floor", floorAddr)
	floor.Stderr = os.Stderr
	out, err := floor.StdoutPipe()
	if err != nil {
		return err
	}
	if err := floor.Start(); err != nil {
		return err
	}
	defer stop(floor)
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		return fmt.Errorf("floor did not start: %w", err)
	}
	base := "http://" + daemonAddr
	if err := waitHealthy(base+"/health", 20*time.Second); err != nil {
		return err
	}
	token, err := getToken(base, "admin", adminPassword)
	if err != nil {
		return err
	}

	basicAdmin := http.Header{"Authorization": {basic("admin", adminPassword)}}
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	form := func(user, pass string) []byte {
		return []byte(url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}, "client_id": {"anonymous"}}.Encode())
	}
	formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	var coldBasicNext, coldTokenNext atomic.Int64
	load := func(name string, next vegeta.Targeter) bench.Result {
		r := bench.Run(bench.Load{Name: name, Workers: workers, Duration: duration, Next: next})
		fmt.Fprintln(os.Stderr, r)
		return r
	}
	results := map[string]bench.Result{}
	results["floor"] = load("floor GET /v1/account", bench.Static("GET", "http://"+floorAddr+"/v1/account", nil, nil))
	results["bearer"] = load("Bearer GET /v1/account", bench.Static("GET", base+"/v1/account", bearer, nil))
	results["basic-warm"] = load("Basic GET /v1/account warm", bench.Static("GET", base+"/v1/account", basicAdmin, nil))
	results["basic-cold"] = load("Basic GET /v1/account cold", func(t *vegeta.Target) error {
		i := coldBasicNext.Add(1)
		if int(i) > coldUsers/2 {
			return vegeta.ErrNoTargets
		}
		*t = vegeta.Target{Method: "GET", URL: base + "/v1/account", Header: http.Header{"Authorization": {basic(fmt.Sprintf("cold-%d", i), coldPassword)}}}
		return nil
	})
	results["token-warm"] = load("POST /v1/oauth/token warm", bench.Static("POST", base+"/v1/oauth/token", formHeader, form("admin", adminPassword)))
	results["token-cold"] = load("POST /v1/oauth/token cold", func(t *vegeta.Target) error {
		i := coldTokenNext.Add(1) + int64(coldUsers/2)
		if int(i) > coldUsers {
			return vegeta.ErrNoTargets
		}
		*t = vegeta.Target{Method: "POST", URL: base + "/v1/oauth/token", Header: formHeader, Body: form(fmt.Sprintf("cold-%d", i), coldPassword)}
		return nil
	})

	helperCmd := func(path string, env []string) func() *exec.Cmd {
		return func() *exec.Cmd {
			c := exec.Command(path, "get")
			c.Stdin = strings.NewReader(benchRegistry)
			c.Env = env
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			return c
		}
	}
	// Through the daemon: no passphrase in the helper's environment.
	viaDaemon := append(benchEnv(dir), "ANCHORED_SOCKET="+socket, "ANCHORE_VAULT="+vaultPath)
	results["helper-daemon"] = bench.Procs{Name: "helper get via daemon", Workers: procs, Duration: duration,
		Cmd: helperCmd(filepath.Join(binDir, "docker-credential-anchore"), viaDaemon)}.Run()
	fmt.Fprintln(os.Stderr, results["helper-daemon"])
	direct := append(benchEnv(dir), "ANCHORED_SOCKET="+filepath.Join(dir, "absent.sock"), "ANCHORE_VAULT="+vaultPath, "ANCHORE_VAULT_PASSPHRASE_FILE="+passFile)
	results["helper-direct"] = bench.Procs{Name: "helper get direct (vault)", Workers: procs, Duration: duration,
		Cmd: helperCmd(filepath.Join(binDir, "docker-credential-anchore"), direct)}.Run()
	fmt.Fprintln(os.Stderr, results["helper-direct"])
	if trivial != "" {
		results["helper-trivial"] = bench.Procs{Name: "trivial helper get", Workers: procs, Duration: duration,
			Cmd: helperCmd(trivial, benchEnv(dir))}.Run()
		fmt.Fprintln(os.Stderr, results["helper-trivial"])
	}

	report(os.Stdout, results, oneScrypt, duration, workers, procs)
	for name, r := range results {
		if r.Success < 1 {
			return fmt.Errorf("%s: %.1f%% succeeded (codes %v, errors %q)", name, 100*r.Success, r.Codes, r.Errors)
		}
	}
	return nil
}

// benchEnv is a minimal environment: no passphrase, no AWS, no proxies, the
// bench directory as home.
func benchEnv(dir string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_RUNTIME_DIR=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data")}
}

// makeVault writes the bench's vault: the admin account and user, the cold
// users (one stored hash shared by all, so that making them costs no
// scrypt each), and one registry entry for the helper.
func makeVault(ctx context.Context, path, passphrase, adminHash, coldHash string, coldUsers int) error {
	now := time.Now().UTC().Truncate(time.Second)
	doc := vault.NewDocument()
	doc.Accounts["admin"] = &vault.Account{Name: "admin", Email: "admin@myanchore", Type: "admin", State: "enabled", CreatedAt: now, LastUpdated: now}
	doc.Users["admin"] = &vault.User{Username: "admin", Account: "admin", UUID: "bench-admin-uuid", Type: "native", PasswordHash: adminHash, Generation: 1, CreatedAt: now, LastUpdated: now}
	for i := 1; i <= coldUsers; i++ {
		name := fmt.Sprintf("cold-%d", i)
		doc.Users[name] = &vault.User{Username: name, Account: "admin", UUID: fmt.Sprintf("bench-cold-uuid-%d", i), Type: "native", PasswordHash: coldHash, Generation: 1, CreatedAt: now, LastUpdated: now}
	}
	doc.AccountRegistries("admin")[benchRegistry] = &vault.Registry{Registry: benchRegistry, Name: benchRegistry, Type: "docker_v2",
		User: "bench-user", Pass: "bench-registry-secret", Verify: true, CreatedAt: now, LastUpdated: now}
	_, err := vault.Create(ctx, path, passphrase, doc)
	return err
}

func timeVerify(ctx context.Context, h passhash.Hasher, enc, pw string, n int) time.Duration {
	ds := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		h.Verify(ctx, enc, pw)
		ds = append(ds, time.Since(t0))
	}
	return bench.Quantile(ds, 0.5)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(u string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		res, err := http.Get(u)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("anchored did not become healthy")
}

func getToken(base, user, pass string) (string, error) {
	res, err := http.PostForm(base+"/v1/oauth/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}, "client_id": {"anonymous"}})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token request: status %d, %v", res.StatusCode, err)
	}
	return tr.AccessToken, nil
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func stop(c *exec.Cmd) {
	if c.Process == nil {
		return
	}
	c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		<-done
	}
}

// report prints the figures and the ratios the targets are stated in.
func report(w io.Writer, rs map[string]bench.Result, oneScrypt, duration time.Duration, workers uint64, procs int) {
	cores := runtime.NumCPU()
	floor := rs["floor"].RPS
	fmt.Fprintf(w, "Loopback, %d cores, %s per scenario, %d HTTP clients (closed loop), %d helper processes at once; one scrypt (ln=15) = %s.\n\n",
		cores, duration, workers, procs, oneScrypt.Round(100*time.Microsecond))
	fmt.Fprintln(w, "| scenario | req/s | p50 | p99 | ratio | target |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	row := func(key, ratio, target string) {
		r, ok := rs[key]
		if !ok {
			return
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s |\n", r.Name, r.RPS, ms(r.P50), ms(r.P99), ratio, target)
	}
	x := func(a, b float64) string {
		if b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	row("floor", "1.00x floor", "")
	row("bearer", x(rs["bearer"].RPS, floor)+" floor", ">= 0.6x")
	row("basic-warm", x(rs["basic-warm"].RPS, floor)+" floor", ">= 0.5x")
	row("basic-cold", x(rs["basic-cold"].RPS, float64(cores)/oneScrypt.Seconds())+" of cores/scrypt", "")
	row("token-warm", x(rs["token-warm"].RPS, floor)+" floor", ">= 0.3x")
	ideal := float64(cores) / oneScrypt.Seconds()
	row("token-cold", x(rs["token-cold"].RPS, ideal)+fmt.Sprintf(" of cores/scrypt (%.1f/s)", ideal), "within 1.2x (>= 0.83)")
	if t, ok := rs["helper-trivial"]; ok {
		row("helper-trivial", "1.00x trivial", "")
		row("helper-daemon", x(float64(rs["helper-daemon"].P50), float64(t.P50))+" trivial's p50 time", "<= 1.5x")
	} else {
		row("helper-daemon", "", "")
	}
	row("helper-direct", "", "(for reference: one scrypt per get)")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
