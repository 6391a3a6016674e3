// Package bench measures anchored under load on loopback: a floor server (a
// bare net/http handler returning a small JSON, the best any handler on the
// same kind of listener can do), a load driver built on vegeta's library,
// and a runner for whole-process measurements (the credential helper run
// as Docker runs it). scripts/bench.sh drives it through cmd/loadbench and
// BENCHMARKS.md records the figures as ratios to the floor.
//
// Everything here talks to 127.0.0.1 or a Unix socket only, and every run
// is bounded by a duration.
package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// FloorHandler answers every request with a small JSON, as GET /v1/account
// does, and nothing else: the floor's cost is net/http's own.
func FloorHandler() http.Handler {
	body := []byte(`{"created_at":"2026-01-01T00:00:00Z","email":"admin@myanchore","last_updated":"2026-01-01T00:00:00Z","name":"admin","state":"enabled","type":"admin"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

// ServeFloor serves FloorHandler on ln until ctx is done.
func ServeFloor(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: FloorHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}

// Result is one measured scenario.
type Result struct {
	Name     string
	Requests uint64
	Success  float64 // fraction of 2xx answers
	RPS      float64 // successful requests per second
	P50, P99 time.Duration
	Codes    map[string]int
	Errors   []string
}

func (r Result) String() string {
	return fmt.Sprintf("%-28s %8.0f req/s  p50 %8s  p99 %8s  n=%d ok=%.1f%%",
		r.Name, r.RPS, r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Requests, 100*r.Success)
}

// Load is an HTTP load scenario: as many requests as Workers concurrent
// clients can make in Duration.
type Load struct {
	Name     string
	Workers  uint64
	Duration time.Duration
	// Socket, if set, sends every request over this Unix socket.
	Socket string
	// Next fills in each request; it may vary the target (cold scenarios
	// use a different user per request).
	Next vegeta.Targeter
}

// Run drives l and summarises it.
func Run(l Load) Result {
	var sm samples
	sm.attack(l)
	return sm.result(l.Name)
}

// Interleaved runs floor and l alternately, rounds times each, every slice
// Duration/rounds long, so that both see the same background load (the
// machine may be shared); ratio is the median of the rounds' throughput
// ratios.
func Interleaved(floor, l Load, rounds int) (floorRes, res Result, ratio float64) {
	var fs, ls samples
	ratios := make([]float64, 0, rounds)
	fslice, lslice := floor, l
	fslice.Duration /= time.Duration(rounds)
	lslice.Duration /= time.Duration(rounds)
	for range rounds {
		f1, l1 := fs.attack(fslice), ls.attack(lslice)
		if f1 > 0 {
			ratios = append(ratios, l1/f1)
		}
	}
	return fs.result(floor.Name), ls.result(l.Name), Median(ratios)
}

// samples accumulates the results of one or more attacks.
type samples struct {
	lat       []time.Duration // of successful requests
	total, ok uint64
	codes     map[string]int
	errs      map[string]bool
	elapsed   time.Duration
}

// attack drives l once, adds its results, and returns the attack's own
// successful requests per second.
func (sm *samples) attack(l Load) float64 {
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(l.Workers), vegeta.MaxWorkers(l.Workers),
		vegeta.Connections(int(l.Workers)), vegeta.KeepAlive(true),
		vegeta.Timeout(30 * time.Second), vegeta.HTTP2(false),
	}
	if l.Socket != "" {
		opts = append(opts, vegeta.UnixSocket(l.Socket))
	}
	if sm.codes == nil {
		sm.codes, sm.errs = map[string]int{}, map[string]bool{}
	}
	atk := vegeta.NewAttacker(opts...)
	start := time.Now()
	var ok uint64
	// Freq 0 with a fixed worker count: a closed loop, each worker sends
	// its next request when the previous one is answered.
	for res := range atk.Attack(l.Next, vegeta.Rate{Freq: 0}, l.Duration, l.Name) {
		if res.Error == vegeta.ErrNoTargets.Error() {
			// A finite targeter (the cold scenarios' one-use users) ran
			// out: the attack is over, no request was sent.
			continue
		}
		sm.total++
		sm.codes[fmt.Sprint(res.Code)]++
		if res.Code >= 200 && res.Code < 300 && res.Error == "" {
			ok++
			sm.lat = append(sm.lat, res.Latency)
		} else if res.Error != "" && len(sm.errs) < 5 {
			sm.errs[res.Error] = true
		}
	}
	d := time.Since(start)
	sm.ok += ok
	sm.elapsed += d
	return float64(ok) / d.Seconds()
}

func (sm *samples) result(name string) Result {
	r := Result{Name: name, Requests: sm.total, Codes: sm.codes}
	for e := range sm.errs {
		r.Errors = append(r.Errors, e)
	}
	if sm.total > 0 {
		r.Success = float64(sm.ok) / float64(sm.total)
	}
	if sm.elapsed > 0 {
		r.RPS = float64(sm.ok) / sm.elapsed.Seconds()
	}
	r.P50, r.P99 = Quantile(sm.lat, 0.50), Quantile(sm.lat, 0.99)
	return r
}

// Median returns the median of xs (the upper one of an even count).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// Static returns a targeter that sends the same request every time.
func Static(method, url string, header http.Header, body []byte) vegeta.Targeter {
	return vegeta.NewStaticTargeter(vegeta.Target{Method: method, URL: url, Header: header, Body: body})
}

// Procs runs cmd (a fresh process per call) from Workers goroutines for
// Duration and summarises the calls' wall times, process start included:
// what a Docker client waiting on the helper sees.
type Procs struct {
	Name     string
	Workers  int
	Duration time.Duration
	// Cmd returns the command of one call; it must succeed (exit 0).
	Cmd func() *exec.Cmd
}

// Run drives p.
func (p Procs) Run() Result {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		fails int
		errs  = map[string]bool{}
		wg    sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(p.Duration)
	for range p.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				out, err := p.Cmd().CombinedOutput()
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					fails++
					if len(errs) < 5 {
						errs[fmt.Sprintf("%v: %.200s", err, out)] = true
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := Result{Name: p.Name, Requests: uint64(len(lat) + fails)}
	for e := range errs {
		r.Errors = append(r.Errors, e)
	}
	if r.Requests > 0 {
		r.Success = float64(len(lat)) / float64(r.Requests)
	}
	r.RPS = float64(len(lat)) / elapsed.Seconds()
	r.P50, r.P99 = Quantile(lat, 0.50), Quantile(lat, 0.99)
	return r
}

// Quantile returns the q-th quantile of ds (nearest rank); ds is sorted in
// place.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(q*float64(len(ds))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(ds) {
		i = len(ds) - 1
	}
	return ds[i]
}
