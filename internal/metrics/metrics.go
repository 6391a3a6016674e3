// Package metrics is anchored's Prometheus metrics (client_golang): the
// API's requests by route and code with latency histograms (it implements
// tokenserver.Observer), login failures and throttle decisions, the
// verified-Basic cache and the ECR token cache, ECR token fetches and
// their errors, config reloads, and build info. It has its own registry,
// served on the opt-in metrics listener only.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/tokenserver"
)

// Metrics holds the collectors. Build one with New.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	logins       *prometheus.CounterVec
	authCache    *prometheus.CounterVec
	ecrFetches   *prometheus.CounterVec
	ecrCache     *prometheus.CounterVec
	reloads      *prometheus.CounterVec
	vaultReloads *prometheus.CounterVec
}

// New registers every collector; version is reported by
// anchored_build_info.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchored_http_requests_total", Help: "API requests answered, by method, route pattern and status code.",
	}, []string{"method", "route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "anchored_http_request_duration_seconds", Help: "Time to answer an API request, by method and route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"method", "route"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchored_password_checks_total", Help: "Basic and token-endpoint password checks, by result: ok, failed (wrong credentials), throttled (refused by the guessing throttle), error.",
	}, []string{"result"})
	m.authCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchored_auth_cache_lookups_total", Help: "Password checks by whether the verified-credential cache answered (hit) or a hash ran (miss).",
	}, []string{"result"})
	m.ecrFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchored_ecr_token_fetches_total", Help: "ECR authorization token requests to AWS, by result (ok, error).",
	}, []string{"result"})
	m.ecrCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchored_ecr_token_cache_lookups_total", Help: "ECR token cache lookups, by result (hit, miss).",
	}, []string{"result"})
	m.vaultReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchored_vault_reloads_total", Help: "Re-reads of the vault file after another process changed it, by result (ok, error: the refresh failed).",
	}, []string{"result"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchored_config_reloads_total", Help: "SIGHUP reloads of the configuration and TLS certificate, by result (ok, refused).",
	}, []string{"result"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "anchored_build_info", Help: "Always 1; the labels name the build.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.logins, m.authCache, m.ecrFetches, m.ecrCache, m.reloads, m.vaultReloads, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every result label exists from the start, at 0, so rates work from
	// the first scrape.
	for _, r := range []string{"ok", "failed", "throttled", "error"} {
		m.logins.WithLabelValues(r)
	}
	for _, r := range []string{"hit", "miss"} {
		m.authCache.WithLabelValues(r)
		m.ecrCache.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "error"} {
		m.ecrFetches.WithLabelValues(r)
		m.vaultReloads.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "refused"} {
		m.reloads.WithLabelValues(r)
	}
	return m
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Route implements tokenserver.Observer.
func (m *Metrics) Route(method, pattern string) tokenserver.RouteObserver {
	return &route{m: m, method: method, pattern: pattern, hist: m.latency.WithLabelValues(method, pattern)}
}

// route keeps its histogram and its counters by code, so that a request
// pays no label hashing after the first of its code.
type route struct {
	m               *Metrics
	method, pattern string
	hist            prometheus.Observer
	codes           sync.Map // int -> prometheus.Counter
}

func (r *route) Observe(code int, d time.Duration) {
	r.hist.Observe(d.Seconds())
	c, ok := r.codes.Load(code)
	if !ok {
		c, _ = r.codes.LoadOrStore(code, r.m.requests.WithLabelValues(r.method, r.pattern, strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
}

// VaultReload counts a re-read of the vault file (the vault store's
// OnReload hook).
func (m *Metrics) VaultReload(ok bool) {
	if ok {
		m.vaultReloads.WithLabelValues("ok").Inc()
	} else {
		m.vaultReloads.WithLabelValues("error").Inc()
	}
}

// Reload counts a SIGHUP reload.
func (m *Metrics) Reload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
	} else {
		m.reloads.WithLabelValues("refused").Inc()
	}
}

// WrapPasswordCheck wraps guard (the cache and throttle of
// internal/authcache) to count its decisions: what reaches the inner
// check ran a hash (a cache miss); the rest was a hit or refused.
func (m *Metrics) WrapPasswordCheck(guard func(tokenserver.PasswordCheck) tokenserver.PasswordCheck) func(tokenserver.PasswordCheck) tokenserver.PasswordCheck {
	ok, failed, throttled, errs := m.logins.WithLabelValues("ok"), m.logins.WithLabelValues("failed"),
		m.logins.WithLabelValues("throttled"), m.logins.WithLabelValues("error")
	hit, miss := m.authCache.WithLabelValues("hit"), m.authCache.WithLabelValues("miss")
	return func(next tokenserver.PasswordCheck) tokenserver.PasswordCheck {
		type missKey struct{}
		inner := func(ctx context.Context, a tokenserver.PasswordAttempt) (tokenserver.User, error) {
			if p, _ := ctx.Value(missKey{}).(*bool); p != nil {
				*p = true
			}
			return next(ctx, a)
		}
		guarded := guard(inner)
		return func(ctx context.Context, a tokenserver.PasswordAttempt) (tokenserver.User, error) {
			ran := false
			u, err := guarded(context.WithValue(ctx, missKey{}, &ran), a)
			var ra tokenserver.RetryAfter
			switch {
			case err == nil:
				ok.Inc()
			case errors.Is(err, tokenserver.ErrBadCredentials):
				failed.Inc()
			case errors.As(err, &ra):
				throttled.Inc()
			default:
				errs.Inc()
			}
			if ran {
				miss.Inc()
			} else if err == nil {
				hit.Inc()
			}
			return u, err
		}
	}
}

// AWS wraps an ecr.AWS to count token fetches.
func (m *Metrics) AWS(a ecr.AWS) ecr.AWS {
	return countingAWS{AWS: a, ok: m.ecrFetches.WithLabelValues("ok"), failed: m.ecrFetches.WithLabelValues("error")}
}

type countingAWS struct {
	ecr.AWS
	ok, failed prometheus.Counter
}

func (c countingAWS) Fetch(ctx context.Context, host string, creds ecr.Credentials) (ecr.Token, error) {
	t, err := c.AWS.Fetch(ctx, host, creds)
	if err != nil {
		c.failed.Inc()
	} else {
		c.ok.Inc()
	}
	return t, err
}

// Cache wraps an ecr.Cache to count hits and misses.
func (m *Metrics) Cache(c ecr.Cache) ecr.Cache {
	return countingCache{Cache: c, hit: m.ecrCache.WithLabelValues("hit"), miss: m.ecrCache.WithLabelValues("miss")}
}

type countingCache struct {
	ecr.Cache
	hit, miss prometheus.Counter
}

func (c countingCache) Load(ctx context.Context, key string) (ecr.Token, bool, error) {
	t, ok, err := c.Cache.Load(ctx, key)
	if ok && err == nil {
		c.hit.Inc()
	} else {
		c.miss.Inc()
	}
	return t, ok, err
}
