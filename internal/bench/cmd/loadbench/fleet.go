package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/anchored/anchored/internal/bench"
)

// Registry writes through a fleet (issue 11, -database): POST
// /v1/registries, every request a new entry, through one replica and
// through two on the one database, interleaved; the yardstick is the
// database's own single-row insert rate (pgbench, a custom script, the
// same number of clients), run in slices between them.

// startReplica starts a second anchored on database, sharing nothing with
// the first but the database, and returns it (to stop) and its base URL.
func startReplica(binDir, dir, passFile, database string) (*exec.Cmd, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cfg := daemonConfig("", filepath.Join(dir, "replica.sock"), addr, database)
	return spawn(binDir, dir, "config-replica.yaml", cfg, addr, passFile)
}

// spawn writes cfg to dir/name and starts anchored on it, quiet, in a
// session of its own; it returns once the daemon answers on addr.
func spawn(binDir, dir, name, cfg, addr, passFile string) (*exec.Cmd, string, error) {
	cfgPath := filepath.Join(dir, name)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, "", err
	}
	d := exec.Command(filepath.Join(binDir, "anchored"), "--config", cfgPath, "--passphrase-file", passFile)
	d.Env = benchEnv(dir)
	d.Stdout, d.Stderr = io.Discard, io.Discard
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.Start(); err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	return d, base, waitHealthy(base+"/health", 20*time.Second)
}

// writes targets POST /v1/registries on bases in turn, a new entry each.
func writes(bases []string, next *atomic.Int64) vegeta.Targeter {
	h := http.Header{"Authorization": {basic("admin", adminPassword)}, "Content-Type": {"application/json"}}
	return func(t *vegeta.Target) error {
		i := next.Add(1)
		body := fmt.Sprintf(`{"registry":"w%d.bench.local","registry_user":"u","registry_pass":"bench-write-secret"}`, i)
		*t = vegeta.Target{Method: "POST", URL: bases[int(i)%len(bases)] + "/v1/registries?validate=false", Header: h, Body: []byte(body)}
		return nil
	}
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbenchInserts runs pgbench's single-row insert for d and returns its
// transactions per second.
func pgbenchInserts(pgbench, database, dir string, clients uint64, d time.Duration) (float64, error) {
	script := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(script, []byte("INSERT INTO bench_floor (v) VALUES (:client_id);\n"), 0o600); err != nil {
		return 0, err
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	out, err := exec.Command(pgbench, "-n", "-c", strconv.FormatUint(clients, 10), "-j", "2", "-T", strconv.Itoa(secs), "-f", script, database).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in %q", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// fleetWrites adds the rows "writes-one", "writes-two" and "writes-floor".
func fleetWrites(binDir, dir, passFile, database, base string, duration time.Duration, workers uint64, rounds int,
	results map[string]bench.Result, ratios map[string]float64) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, v int NOT NULL)`)
	conn.Close(ctx)
	if err != nil {
		return err
	}
	replica, base2, err := startReplica(binDir, dir, passFile, database)
	if replica != nil {
		defer stop(replica)
	}
	if err != nil {
		return err
	}
	// Warm: the second replica's verified-credential cache holds the
	// admin's pair, as the first one's does (one scrypt, not measured).
	bench.Run(bench.Load{Name: "warm-up", Workers: 1, Duration: duration / 4,
		Next: bench.Static("GET", base2+"/v1/account", http.Header{"Authorization": {basic("admin", adminPassword)}}, nil)})
	pgbench := os.Getenv("PGBENCH")
	if pgbench == "" {
		pgbench = "pgbench"
	}
	var next atomic.Int64
	var ones, twos []bench.Result
	var floors []float64
	slice := duration / time.Duration(rounds)
	for range rounds {
		ones = append(ones, bench.Run(bench.Load{Name: "registry writes, one replica", Workers: workers, Duration: slice, Next: writes([]string{base}, &next)}))
		twos = append(twos, bench.Run(bench.Load{Name: "registry writes, two replicas", Workers: workers, Duration: slice, Next: writes([]string{base, base2}, &next)}))
		tps, err := pgbenchInserts(pgbench, database, dir, workers, slice)
		if err != nil {
			return err
		}
		floors = append(floors, tps)
	}
	one, two := combine("registry writes, one replica", ones), combine("registry writes, two replicas", twos)
	floor := bench.Median(floors)
	results["writes-floor"] = bench.Result{Name: "pgbench single-row insert", Requests: 1, Success: 1, RPS: floor}
	results["writes-one"], results["writes-two"] = one, two
	ratios["writes-one"], ratios["writes-two"] = one.RPS/floor, two.RPS/floor
	fmt.Fprintln(os.Stderr, one, fmt.Sprintf("(%.2fx pgbench's %.0f/s)", one.RPS/floor, floor))
	fmt.Fprintln(os.Stderr, two, fmt.Sprintf("(%.2fx pgbench's; %.2fx one replica)", two.RPS/floor, two.RPS/one.RPS))
	return nil
}
