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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/anchored/anchored/internal/bench"
	"github.com/anchored/anchored/pkg/passhash"
	"github.com/anchored/anchored/pkg/vault"
)

const (
	adminPassword = "bench-admin-password"
	coldPassword  = "bench-cold-password"
	benchRegistry = "registry.bench.local"
)

func main() {
	var (
		binDir     = flag.String("bin", "bin", "directory holding anchored and docker-credential-anchore")
		trivial    = flag.String("trivial", "", "a trivial credential helper to compare the helper get with")
		duration   = flag.Duration("duration", 5*time.Second, "length of each scenario")
		workers    = flag.Uint64("workers", 8, "concurrent HTTP clients")
		procs      = flag.Int("procs", 2, "concurrent helper processes")
		coldUsers  = flag.Int("cold-users", 300, "users for the two cold scenarios together (each is used once)")
		rounds     = flag.Int("rounds", 5, "slices per scenario, interleaved with its reference")
		floorAddr  = flag.String("serve-floor", "", "internal: serve the floor on this address and wait")
		helperOnly = flag.Bool("helper-only", false, "run only the helper get scenarios (the daemon still runs; no HTTP load)")
		withOps    = flag.Bool("ops", false, "also run a second anchored with the audit log (reads on, to a file) and metrics on, and measure Bearer and warm Basic on it against the plain daemon, interleaved")
		floodConns = flag.Int("flood", 0, "flood mode: hold this many trickling TCP connections for -duration and time the socket (flood.go); nothing else runs")
		database   = flag.String("database", "", "run the daemon on PostgreSQL (store: postgres) at this empty database, its state copied from the bench vault with anchored store copy")
	)
	flag.Parse()
	if *floorAddr != "" {
		serveFloor(*floorAddr)
		return
	}
	if err := run(*binDir, *trivial, *duration, *workers, *procs, *coldUsers, *rounds, *helperOnly, *withOps, *floodConns, *database); err != nil {
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

func run(binDir, trivial string, duration time.Duration, workers uint64, procs, coldUsers, rounds int, helperOnly, withOps bool, floodConns int, database string) error {
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
	cfg := daemonConfig(vaultPath, socket, daemonAddr, database)
	if database != "" {
		// The same state, on PostgreSQL: the daemon's caches answer the
		// measured requests (docs/anchored.md, "PostgreSQL store").
		cp := exec.Command(filepath.Join(binDir, "anchored"), "--passphrase-file", passFile, "store", "copy",
			"--from", "vault:"+vaultPath, "--to", "postgres:"+database)
		cp.Env = benchEnv(dir)
		if out, err := cp.CombinedOutput(); err != nil {
			return fmt.Errorf("store copy: %w: %s", err, out)
		}
		fmt.Fprintln(os.Stderr, "anchored on PostgreSQL (store: postgres)")
	}
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
	if floodConns > 0 {
		return runFlood(daemon.Process.Pid, base, socket, floodConns, duration)
	}
	token, err := getToken(base, "admin", adminPassword)
	if err != nil {
		return err
	}

	results := map[string]bench.Result{}
	ratios := map[string]float64{}
	// -helper-only skips the HTTP scenarios (for measuring the helper
	// alone); the rows it does not run are left out of the report.
	if !helperOnly {
		basicAdmin := http.Header{"Authorization": {basic("admin", adminPassword)}}
		bearer := http.Header{"Authorization": {"Bearer " + token}}
		form := func(user, pass string) []byte {
			return []byte(url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}, "client_id": {"anonymous"}}.Encode())
		}
		formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		var coldBasicNext, coldTokenNext atomic.Int64
		floorLoad := bench.Load{Name: "floor GET /v1/account", Workers: workers, Duration: duration,
			Next: bench.Static("GET", "http://"+floorAddr+"/v1/account", nil, nil)}
		// Each scenario runs interleaved with the floor, in slices, so that
		// both see the same background load; the ratio is the median of the
		// slices' ratios.
		against := func(key, name string, next vegeta.Targeter) {
			f, r, ratio := bench.Interleaved(floorLoad, bench.Load{Name: name, Workers: workers, Duration: duration, Next: next}, rounds)
			fmt.Fprintln(os.Stderr, f)
			fmt.Fprintln(os.Stderr, r, fmt.Sprintf("(%.2fx floor)", ratio))
			results[key], ratios[key] = r, ratio
			if old, ok := results["floor"]; !ok || f.Requests > old.Requests {
				results["floor"] = f
			}
		}
		// Warm-up, not measured: both servers' heaps, goroutines and
		// connections settle before the first figure is taken.
		bench.Interleaved(floorLoad, bench.Load{Name: "warm-up", Workers: workers, Duration: duration / 2, Next: bench.Static("GET", base+"/v1/account", bearer, nil)}, 2)
		against("bearer", "Bearer GET /v1/account", bench.Static("GET", base+"/v1/account", bearer, nil))
		against("basic-warm", "Basic GET /v1/account warm", bench.Static("GET", base+"/v1/account", basicAdmin, nil))
		against("token-warm", "POST /v1/oauth/token warm", bench.Static("POST", base+"/v1/oauth/token", formHeader, form("admin", adminPassword)))
		if withOps {
			opsDaemon, opsBase, err := startOpsDaemon(binDir, dir, vaultPath, passFile, database)
			if opsDaemon != nil {
				defer stop(opsDaemon)
			}
			if err != nil {
				return err
			}
			// The daemon with audit and metrics against the same daemon
			// without, interleaved: the ratio is their throughput's.
			vsPlain := func(key, name, path string, h http.Header) {
				plain := bench.Load{Name: name + " (plain)", Workers: workers, Duration: duration, Next: bench.Static("GET", base+path, h, nil)}
				_, r, ratio := bench.Interleaved(plain, bench.Load{Name: name + " (audit+metrics)", Workers: workers, Duration: duration, Next: bench.Static("GET", opsBase+path, h, nil)}, rounds)
				fmt.Fprintln(os.Stderr, r, fmt.Sprintf("(%.3fx without)", ratio))
				results[key], ratios[key] = r, ratio
			}
			bench.Interleaved(floorLoad, bench.Load{Name: "warm-up", Workers: workers, Duration: duration / 2, Next: bench.Static("GET", opsBase+"/v1/account", bearer, nil)}, 2)
			// Warm: the verified-credential cache of this daemon holds the
			// admin's pair before Basic is measured, as the plain one's does.
			bench.Run(bench.Load{Name: "warm-up", Workers: 1, Duration: duration / 4, Next: bench.Static("GET", opsBase+"/v1/account", basicAdmin, nil)})
			vsPlain("bearer-ops", "Bearer GET /v1/account", "/v1/account", bearer)
			vsPlain("basic-warm-ops", "Basic GET /v1/account warm", "/v1/account", basicAdmin)
		}

		// Cold: every request a user not seen before, so every one costs one
		// scrypt. The yardstick (cores / one scrypt) is measured in slices
		// between the cold slices, so that it sees the same machine load.
		cold := func(key, name string, next vegeta.Targeter) {
			var scrypts []time.Duration
			var ideals []float64
			var sm []bench.Result
			for range rounds {
				scrypts = append(scrypts, timeVerify(ctx, hasher, hash, adminPassword, 3))
				ideals = append(ideals, parallelVerifyRate(ctx, hasher, hash, adminPassword, 2))
				sm = append(sm, bench.Run(bench.Load{Name: name, Workers: workers, Duration: duration / time.Duration(rounds), Next: next}))
			}
			r := combine(name, sm)
			oneScrypt = bench.Quantile(scrypts, 0.5)
			// cores / one scrypt, measured as it is meant: one bare scrypt per
			// core at once, in slices between the cold slices, so that the
			// yardstick sees the same machine (other processes included).
			ideal := bench.Median(ideals)
			fmt.Fprintln(os.Stderr, r, fmt.Sprintf("(%.2fx of cores/scrypt = %.1f/s)", r.RPS/ideal, ideal))
			results[key], ratios[key] = r, r.RPS/ideal
			ratios[key+"-ideal"] = ideal
		}
		if database != "" {
			if err := fleetWrites(binDir, dir, passFile, database, base, duration, workers, rounds, results, ratios); err != nil {
				return err
			}
		}
		cold("basic-cold", "Basic GET /v1/account cold", func(t *vegeta.Target) error {
			i := coldBasicNext.Add(1)
			if int(i) > coldUsers/2 {
				return vegeta.ErrNoTargets
			}
			*t = vegeta.Target{Method: "GET", URL: base + "/v1/account", Header: http.Header{"Authorization": {basic(fmt.Sprintf("cold-%d", i), coldPassword)}}}
			return nil
		})
		cold("token-cold", "POST /v1/oauth/token cold", func(t *vegeta.Target) error {
			i := coldTokenNext.Add(1) + int64(coldUsers/2)
			if int(i) > coldUsers {
				return vegeta.ErrNoTargets
			}
			*t = vegeta.Target{Method: "POST", URL: base + "/v1/oauth/token", Header: formHeader, Body: form(fmt.Sprintf("cold-%d", i), coldPassword)}
			return nil
		})
	}

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
	daemonProcs := bench.Procs{Name: "helper get via daemon", Workers: procs, Duration: duration / time.Duration(rounds),
		Cmd: helperCmd(filepath.Join(binDir, "docker-credential-anchore"), viaDaemon)}
	if trivial != "" {
		trivialProcs := bench.Procs{Name: "trivial helper get", Workers: procs, Duration: duration / time.Duration(rounds),
			Cmd: helperCmd(trivial, benchEnv(dir))}
		var ts, ds []bench.Result
		var rs []float64
		for range rounds {
			t, d := trivialProcs.Run(), daemonProcs.Run()
			ts, ds = append(ts, t), append(ds, d)
			if t.P50 > 0 {
				rs = append(rs, float64(d.P50)/float64(t.P50))
			}
		}
		results["helper-trivial"], results["helper-daemon"] = combine(trivialProcs.Name, ts), combine(daemonProcs.Name, ds)
		ratios["helper-daemon"] = bench.Median(rs)
	} else {
		daemonProcs.Duration = duration
		results["helper-daemon"] = daemonProcs.Run()
	}
	fmt.Fprintln(os.Stderr, results["helper-trivial"])
	fmt.Fprintln(os.Stderr, results["helper-daemon"])
	direct := append(benchEnv(dir), "ANCHORED_SOCKET="+filepath.Join(dir, "absent.sock"), "ANCHORE_VAULT="+vaultPath, "ANCHORE_VAULT_PASSPHRASE_FILE="+passFile)
	results["helper-direct"] = bench.Procs{Name: "helper get direct (vault)", Workers: procs, Duration: duration,
		Cmd: helperCmd(filepath.Join(binDir, "docker-credential-anchore"), direct)}.Run()
	fmt.Fprintln(os.Stderr, results["helper-direct"])

	report(os.Stdout, results, ratios, oneScrypt, duration, workers, procs, rounds)
	for name, r := range results {
		if r.Success < 1 {
			return fmt.Errorf("%s: %.1f%% succeeded (codes %v, errors %q)", name, 100*r.Success, r.Codes, r.Errors)
		}
	}
	return nil
}

// startOpsDaemon starts a second anchored on the same vault (or database)
// with the
// audit log (changes and reads, to a file) and metrics on. It returns the
// process (to stop) and its base URL.
func startOpsDaemon(binDir, dir, vaultPath, passFile, database string) (*exec.Cmd, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	maddr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	// The same store as the plain daemon's.
	cfg := daemonConfig(vaultPath, filepath.Join(dir, "ops.sock"), addr, database) + fmt.Sprintf(`audit:
  reads: true
  file: %s
metrics:
  listen: %s
`, filepath.Join(dir, "audit.log"), maddr)
	d, base, err := spawn(binDir, dir, "config-ops.yaml", cfg, addr, passFile)
	if err != nil {
		return d, "", err
	}
	// Scraped once, so the metrics are live as under Prometheus.
	if res, err := http.Get("http://" + maddr + "/metrics"); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return d, base, nil
}

// daemonConfig is the configuration every benched anchored shares: the
// vault at vaultPath (none when empty), OAuth on with hashed passwords,
// and, when database is set, the PostgreSQL store there.
func daemonConfig(vaultPath, socket, addr, database string) string {
	var cfg string
	if vaultPath != "" {
		cfg = "vault: " + vaultPath + "\n"
	}
	cfg += fmt.Sprintf(`listen:
  socket: %s
  http: %s
helper_account: admin
user_authentication:
  oauth:
    enabled: true
  hashed_passwords: true
`, socket, addr)
	if database != "" {
		cfg += fmt.Sprintf("store: postgres\ndatabase:\n  url: %q\n", database)
	}
	return cfg
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

// parallelVerifyRate runs n verifications on each core at once and returns
// verifications per second.
func parallelVerifyRate(ctx context.Context, h passhash.Hasher, enc, pw string, n int) float64 {
	cores := runtime.NumCPU()
	var wg sync.WaitGroup
	t0 := time.Now()
	for range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				h.Verify(ctx, enc, pw)
			}
		}()
	}
	wg.Wait()
	return float64(cores*n) / time.Since(t0).Seconds()
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
func report(w io.Writer, rs map[string]bench.Result, ratios map[string]float64, oneScrypt, duration time.Duration, workers uint64, procs, rounds int) {
	cores := runtime.NumCPU()
	fmt.Fprintf(w, "Loopback, %d cores, %s per scenario in %d slices interleaved with its reference, %d HTTP clients (closed loop), %d helper processes at once; one scrypt (ln=15) alone = %s; cores/scrypt is measured as %d bare scrypts at once.\n\n",
		cores, duration, rounds, workers, procs, oneScrypt.Round(100*time.Microsecond), cores)
	fmt.Fprintln(w, "| scenario | req/s | p50 | p99 | ratio | target | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|---|")
	row := func(key, ratio, target string, met *bool) {
		r, ok := rs[key]
		if !ok {
			return
		}
		m := ""
		if met != nil {
			m = map[bool]string{true: "yes", false: "no"}[*met]
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s |\n", r.Name, r.RPS, ms(r.P50), ms(r.P99), ratio, target, m)
	}
	atLeast := func(key string, min float64) *bool { b := ratios[key] >= min; return &b }
	row("floor", "1.00x", "", nil)
	row("bearer", fmt.Sprintf("%.2fx floor", ratios["bearer"]), ">= 0.6x floor", atLeast("bearer", 0.6))
	row("basic-warm", fmt.Sprintf("%.2fx floor", ratios["basic-warm"]), ">= 0.5x floor", atLeast("basic-warm", 0.5))
	row("token-warm", fmt.Sprintf("%.2fx floor", ratios["token-warm"]), ">= 0.3x floor", atLeast("token-warm", 0.3))
	// -ops: the same daemon with the audit log and metrics on (issue 13).
	row("bearer-ops", fmt.Sprintf("%.3fx without", ratios["bearer-ops"]), ">= 0.95x without", atLeast("bearer-ops", 0.95))
	row("basic-warm-ops", fmt.Sprintf("%.3fx without", ratios["basic-warm-ops"]), ">= 0.95x without", atLeast("basic-warm-ops", 0.95))
	// -database: registry writes through one and two replicas on one
	// PostgreSQL, against its own single-row insert rate (issue 11).
	row("writes-floor", "1.00x", "", nil)
	row("writes-one", fmt.Sprintf("%.2fx pgbench", ratios["writes-one"]), "", nil)
	row("writes-two", fmt.Sprintf("%.2fx pgbench", ratios["writes-two"]), "", nil)
	row("basic-cold", fmt.Sprintf("%.2fx of cores/scrypt (%.1f/s)", ratios["basic-cold"], ratios["basic-cold-ideal"]), "", nil)
	row("token-cold", fmt.Sprintf("%.2fx of cores/scrypt (%.1f/s)", ratios["token-cold"], ratios["token-cold-ideal"]), "within 1.2x (>= 0.83x)", atLeast("token-cold", 1/1.2))
	if _, ok := rs["helper-trivial"]; ok {
		row("helper-trivial", "1.00x", "", nil)
		met := ratios["helper-daemon"] <= 2
		row("helper-daemon", fmt.Sprintf("%.2fx trivial's p50", ratios["helper-daemon"]), "<= 2x trivial (issue 10)", &met)
	} else {
		row("helper-daemon", "", "", nil)
	}
	row("helper-direct", "", "(reference: one scrypt per get)", nil)
}

// combine merges slices of one scenario: counts add up, req/s is over the
// slices' total time, p50 and p99 are the medians of the slices'.
func combine(name string, rs []bench.Result) bench.Result {
	out := bench.Result{Name: name, Codes: map[string]int{}}
	var secs float64
	var p50s, p99s []time.Duration
	var ok float64
	for _, r := range rs {
		out.Requests += r.Requests
		ok += r.Success * float64(r.Requests)
		if r.RPS > 0 {
			secs += r.Success * float64(r.Requests) / r.RPS
		}
		for k, v := range r.Codes {
			out.Codes[k] += v
		}
		out.Errors = append(out.Errors, r.Errors...)
		p50s, p99s = append(p50s, r.P50), append(p99s, r.P99)
	}
	if out.Requests > 0 {
		out.Success = ok / float64(out.Requests)
	}
	if secs > 0 {
		out.RPS = ok / secs
	}
	out.P50, out.P99 = bench.Quantile(p50s, 0.5), bench.Quantile(p99s, 0.5)
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
