package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anchored/anchored/internal/bench"
)

// Flood mode (-flood N): issue 12's connection flood on loopback. N TCP
// connections to anchored, each sending a request whose body trickles a
// byte a second, held for -duration; meanwhile the helper's socket
// endpoint and an authenticated TCP request are timed every 20 ms on fresh
// connections. It reports the connections anchored held at the end (its
// open descriptors), its peak RSS (VmHWM) and the two latencies.
const (
	floodHead   = "POST /v1/oauth/token HTTP/1.1\r\nHost: flood\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
	floodSample = 20 * time.Millisecond
	// floodMax bounds -flood: the figure is 20,000.
	floodMax = 30000
)

func runFlood(daemonPID int, base, socket string, n int, hold time.Duration) error {
	if n > floodMax {
		return fmt.Errorf("-flood %d: at most %d", n, floodMax)
	}
	addr := strings.TrimPrefix(base, "http://")
	var mu sync.Mutex
	conns := make([]net.Conn, 0, n)
	var dialErrs atomic.Int64
	start := time.Now()
	// 64 dialers: fast enough, and the kernel's accept queue is not
	// what is measured.
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				io.WriteString(c, floodHead+"x")
				go io.Copy(io.Discard, c)
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "flood: %d connections opened in %v (%d dial errors)\n", len(conns), time.Since(start).Round(time.Millisecond), dialErrs.Load())
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), hold)
	defer cancel()
	go func() { // the trickle
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			for _, c := range conns {
				c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				c.Write([]byte("x"))
			}
			mu.Unlock()
		}
	}()

	sockClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}}
	tcpClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var sockLat, tcpLat []time.Duration
	var sockFail, tcpFail int
	timed := func(c *http.Client, req *http.Request) (time.Duration, bool) {
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return 0, false
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return time.Since(t0), res.StatusCode == http.StatusOK
	}
	tick := time.NewTicker(floodSample)
	defer tick.Stop()
	peakRSS := 0
	for ctx.Err() == nil {
		peakRSS = max(peakRSS, procStatusKB(daemonPID, "VmRSS"))
		req, _ := http.NewRequest("POST", "http://anchored/v1/credential-helper/list", nil)
		if d, ok := timed(sockClient, req); ok {
			sockLat = append(sockLat, d)
		} else {
			sockFail++
		}
		req, _ = http.NewRequest("GET", base+"/v1/account", nil)
		req.Header.Set("Authorization", basic("admin", adminPassword))
		if d, ok := timed(tcpClient, req); ok {
			tcpLat = append(tcpLat, d)
		} else {
			tcpFail++
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	held, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", daemonPID))
	hwm := procStatusKB(daemonPID, "VmHWM")
	fmt.Printf("| flood | connections opened | anchored's open fds at the end | peak RSS during the flood (since start, vault unlock included) | socket helper list p50 / p99 (failed) | Basic GET /v1/account p50 / p99 (failed) |\n")
	fmt.Printf("|---|---|---|---|---|---|\n")
	fmt.Printf("| %d for %v | %d | %d | %.0f MB (%.0f MB) | %s / %s (%d of %d) | %s / %s (%d of %d) |\n", n, hold, len(conns), len(held), float64(peakRSS)/1024, float64(hwm)/1024,
		ms(bench.Quantile(sockLat, 0.5)), ms(bench.Quantile(sockLat, 0.99)), sockFail, sockFail+len(sockLat),
		ms(bench.Quantile(tcpLat, 0.5)), ms(bench.Quantile(tcpLat, 0.99)), tcpFail, tcpFail+len(tcpLat))
	return nil
}

// procStatusKB reads one field of /proc/PID/status ("VmHWM: 123 kB") in
// kB; 0 when it cannot.
func procStatusKB(pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}
