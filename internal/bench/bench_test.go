package bench

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

func TestRunAgainstFloor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ServeFloor(ctx, ln)
	r := Run(Load{
		Name: "floor", Workers: 2, Duration: 200 * time.Millisecond,
		Next: Static(http.MethodGet, "http://"+ln.Addr().String()+"/v1/account", nil, nil),
	})
	if r.Requests == 0 || r.Success != 1 {
		t.Fatalf("Run = %+v, want requests, all 2xx", r)
	}
	if r.Codes["200"] != int(r.Requests) {
		t.Errorf("status codes %v, want %d × 200", r.Codes, r.Requests)
	}
	if r.P50 <= 0 || r.P99 < r.P50 {
		t.Errorf("p50 %v, p99 %v: want 0 < p50 <= p99", r.P50, r.P99)
	}
}

func TestProcs(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	r := Procs{Name: "true", Workers: 2, Duration: 100 * time.Millisecond, Cmd: func() *exec.Cmd { return exec.Command(truePath) }}.Run()
	if r.Requests == 0 || r.Success != 1 {
		t.Errorf("Procs.Run = %+v, want calls, all succeeded", r)
	}
}

func TestQuantile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0, 1}} {
		if got := Quantile(ds, tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestInterleaved(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ServeFloor(ctx, ln)
	next := Static(http.MethodGet, "http://"+ln.Addr().String()+"/", nil, nil)
	f, r, ratio := Interleaved(Load{Name: "a", Workers: 1, Duration: 200 * time.Millisecond, Next: next},
		Load{Name: "b", Workers: 1, Duration: 200 * time.Millisecond, Next: next}, 2)
	if f.Requests == 0 || r.Requests == 0 || ratio <= 0 {
		t.Errorf("Interleaved = %+v, %+v, ratio %v; want requests on both sides and a ratio", f, r, ratio)
	}
	if f.Name != "a" || r.Name != "b" {
		t.Errorf("names %q, %q", f.Name, r.Name)
	}
}
