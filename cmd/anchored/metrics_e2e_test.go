package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/anchored/anchored/internal/testbin"
)

// scrape reads the metrics listener's families.
func scrape(t *testing.T, addr string) map[string]*familyT {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the counter (or histogram count) of family name whose labels
// include every pair of labels.
func value(t *testing.T, fams map[string]*familyT, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	var sum float64
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	}
	return sum
}

// TestMetrics: after a known sequence of requests the scrape has the
// expected counts, per route and code, password checks and cache.
func TestMetrics(t *testing.T) {
	maddr := freeAddr(t)
	d := startOps(t, "metrics:\n  listen: "+maddr+"\n")
	// The metrics listener is bound before the API's listeners log.
	before := scrape(t, maddr)
	if v := value(t, before, "anchored_build_info"); v != 1 {
		t.Errorf("build_info %v, want 1", v)
	}
	for range 3 {
		d.call(t, "GET", "/v1/account", "admin:foobar", "")
	}
	for range 2 {
		d.call(t, "GET", "/v1/account", "admin:wrong-password", "")
	}
	d.call(t, "GET", "/v1/accounts/nosuch", "admin:foobar", "")
	d.call(t, "GET", "/v1/nosuchroute", "", "")

	f := scrape(t, maddr)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"anchored_http_requests_total", []string{"method", "GET", "route", "/account", "code", "200"}, 3},
		{"anchored_http_requests_total", []string{"method", "GET", "route", "/account", "code", "401"}, 2},
		{"anchored_http_requests_total", []string{"method", "GET", "route", "/accounts/{accountname}", "code", "404"}, 1},
		{"anchored_http_requests_total", []string{"route", "unmatched", "code", "404"}, 1},
		{"anchored_http_request_duration_seconds", []string{"method", "GET", "route", "/account"}, 5},
		{"anchored_password_checks_total", []string{"result", "ok"}, 4},
		{"anchored_password_checks_total", []string{"result", "failed"}, 2},
		{"anchored_password_checks_total", []string{"result", "throttled"}, 0},
		// The first good check and both wrong ones ran a hash; the other
		// three good ones were answered by the cache.
		{"anchored_auth_cache_lookups_total", []string{"result", "miss"}, 3},
		{"anchored_auth_cache_lookups_total", []string{"result", "hit"}, 3},
		{"anchored_ecr_token_fetches_total", []string{"result", "error"}, 0},
		{"anchored_config_reloads_total", []string{"result", "ok"}, 0},
		// Only this daemon wrote the vault: nothing to re-read.
		{"anchored_vault_reloads_total", []string{"result", "ok"}, 0},
	}
	for _, c := range checks {
		if got := value(t, f, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	code, body := doHTTP(t, http.DefaultClient, "GET", "http://"+maddr+"/readyz", "", "")
	want(t, "readyz on the metrics listener", code, body, 200, "ready")
	// The API's listener does not serve /metrics.
	code, _ = d.call(t, "GET", "/metrics", "", "")
	if code != 404 {
		t.Errorf("/metrics on the API listener: %d, want 404", code)
	}
}

// TestMetricsListenerLoopbackOnly: the metrics listener refuses
// non-loopback plain HTTP as listen.http does: exit 2, the line naming it.
func TestMetricsListenerLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:9464", "192.0.2.1:9464", "example.com:9464"} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.yaml")
		writeFile(t, cfg, "metrics:\n  listen: "+addr+"\n")
		cmd := exec.Command(testbin.Path(t, "anchored"), "--config", cfg, "--vault", filepath.Join(dir, "vault"), "--socket", filepath.Join(dir, "run", "s.sock"))
		cmd.Env = []string{"ANCHORE_VAULT_PASSPHRASE=test passphrase", "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "metrics.listen") || !strings.Contains(string(out), "loopback") {
			t.Errorf("metrics.listen %s: %v, output %q; want exit 2 naming metrics.listen and loopback", addr, err, out)
		}
	}
}

type familyT = dto.MetricFamily

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
