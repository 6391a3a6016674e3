package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/config/daemoncfg"
	"github.com/anchored/anchored/internal/daemon"
	"github.com/anchored/anchored/internal/metrics"
	"github.com/anchored/anchored/pkg/audit"
)

// The operator's side of the daemon (issue 13): log format, audit log,
// metrics listener, and the reload on SIGHUP.

// newLogger is the daemon's logger in the configured format.
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// auditSink is where audit events go: its own handler, on a file (JSON
// lines, for logrotate) or the daemon's stderr (the journal).
type auditSink struct {
	logger *audit.Logger
	file   *audit.File // nil: stderr
	stderr io.Writer
}

// configure applies cfg's audit block (at start and on reload): a new file
// path is opened before anything changes, so a path that cannot be opened
// leaves the old setting.
func (s *auditSink) configure(cfg config.File) error {
	a := cfg.Audit
	if !a.Enabled {
		s.logger.Set(nil, false)
		s.closeFile()
		return nil
	}
	if a.File == "" {
		s.logger.Set(newLogger(cfg.LogFormat, s.stderr), a.Reads)
		s.closeFile()
		return nil
	}
	if s.file != nil && s.file.Path() == a.File {
		// The same path: reopen it, for logrotate's move-then-SIGHUP.
		if err := s.file.Reopen(); err != nil {
			return err
		}
		s.logger.Set(slog.New(slog.NewJSONHandler(s.file, nil)), a.Reads)
		return nil
	}
	f, err := audit.OpenFile(a.File)
	if err != nil {
		return err
	}
	s.logger.Set(slog.New(slog.NewJSONHandler(f, nil)), a.Reads)
	s.closeFile()
	s.file = f
	return nil
}

func (s *auditSink) closeFile() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// serveMetrics serves /metrics and /readyz on their own listener until ctx
// ends.
func serveMetrics(ctx context.Context, l net.Listener, m *metrics.Metrics, api http.Handler, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /readyz", api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("metrics listening", "addr", l.Addr().String(), "network", l.Addr().Network())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("metrics listener failed", "err", err)
	}
}

// listenMetrics opens metrics.listen: a socket path (the API socket's
// rules: private directory, peer check) or a loopback address.
func listenMetrics(ctx context.Context, addr string, log *slog.Logger) (net.Listener, error) {
	if strings.HasPrefix(addr, "/") {
		return daemon.ListenUnix(ctx, addr, log)
	}
	return daemon.ListenHTTP(ctx, addr)
}

// restartOnly lists the top-level keys that differ between old and new
// among those a reload does not apply (everything but audit and the TLS
// certificate files).
func restartOnly(old, new config.File) []string {
	old.Audit, new.Audit = config.Audit{}, config.Audit{}
	old.Listen.TLSCert, new.Listen.TLSCert = "", ""
	old.Listen.TLSKey, new.Listen.TLSKey = "", ""
	var keys []string
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(new)
	for i := range ov.NumField() {
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			name, _, _ := strings.Cut(ov.Type().Field(i).Tag.Get("yaml"), ",")
			keys = append(keys, name)
		}
	}
	return keys
}

// reloader applies SIGHUP: the config file is read and checked as at
// start; any problem refuses the whole reload (each problem logged, the
// running configuration kept). Otherwise the TLS certificate and key are
// reloaded and the audit block applied; other changed keys are named as
// needing a restart.
type reloader struct {
	mu      sync.Mutex
	flags   config.Flags
	getenv  func(string) string
	log     *slog.Logger
	cfg     config.File // the running configuration
	certs   *daemon.Certs
	sink    *auditSink
	metrics *metrics.Metrics
}

func (r *reloader) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log.Info("reloading configuration (SIGHUP)")
	ok := r.apply()
	if r.metrics != nil {
		r.metrics.Reload(ok)
	}
}

func (r *reloader) apply() bool {
	cfg, _, _, errs := daemoncfg.Load(r.flags, r.getenv)
	refuse := func(errs ...error) bool {
		for _, err := range errs {
			for _, line := range strings.Split(err.Error(), "\n") {
				r.log.Error("reload refused: "+line, "kept", "the running configuration")
			}
		}
		return false
	}
	if len(errs) > 0 {
		return refuse(errs...)
	}
	if (cfg.Listen.TLSCert != "") != (r.certs != nil) {
		return refuse(errors.New("listen.tls_cert and listen.tls_key: adding or removing TLS needs a restart"))
	}
	if r.certs != nil {
		// Load into a fresh holder first: a broken pair changes nothing.
		if _, err := daemon.LoadCerts(cfg.Listen.TLSCert, cfg.Listen.TLSKey); err != nil {
			return refuse(err)
		}
	}
	if err := r.sink.configure(cfg); err != nil {
		return refuse(err)
	}
	if r.certs != nil {
		if err := r.certs.Reload(cfg.Listen.TLSCert, cfg.Listen.TLSKey); err != nil {
			return refuse(err) // the files changed again in between
		}
	}
	if keys := restartOnly(r.cfg, cfg); len(keys) > 0 {
		r.log.Warn("reload: changes that take effect at the next restart", "keys", strings.Join(keys, ","))
	}
	r.cfg = cfg
	r.log.Info("configuration reloaded", "tls", r.certs != nil, "audit", cfg.Audit.Enabled, "audit_reads", cfg.Audit.Reads)
	return true
}
