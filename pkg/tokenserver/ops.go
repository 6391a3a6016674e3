package tokenserver

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/audit"
	"github.com/anchored/anchored/pkg/vault"
)

// Readiness and Anchore's status endpoints. The daemon is one service
// (Anchore's "apiext", the API; the registries Anchore's catalog would
// keep live in the same process), so /system lists exactly one, and
// reports it up only when the store answers: a vault file gone, replaced
// by one this daemon cannot open, or unreadable makes it "down", and
// anchore-cli's "system wait --servicesready apiext" waits.

// serviceName is the one service this daemon reports.
const serviceName = "apiext"

// readyTimeout bounds the readiness check, so a stuck store makes the
// answer "not ready" rather than a hung probe.
const readyTimeout = 5 * time.Second

// ready reports whether the store answers (Config.Ready, else a read of
// the account list through the store).
func (s *Server) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if s.cfg.Ready != nil {
		return s.cfg.Ready(ctx)
	}
	_, err := s.store.ListAccounts(ctx)
	return err
}

// readyz answers 200 "ready" or 503 with the reason, as plain text for
// probes. The reason never holds a secret (store errors name paths).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ready(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return nil
	}
	w.Write([]byte("ready\n"))
	return nil
}

// statusResponse is this daemon's StatusResponse now.
func (s *Server) statusResponse(ctx context.Context) apitype.StatusResponse {
	v := s.cfg.Version
	if v == "" {
		v = "dev"
	}
	st := apitype.StatusResponse{Available: true, Up: true, Message: "all good", Version: v,
		DBVersion: strconv.Itoa(vault.FormatVersion),
		Detail:    map[string]any{"uptime_seconds": int64(s.now().Sub(s.started) / time.Second)}}
	if err := s.ready(ctx); err != nil {
		st.Available, st.Up, st.Message = false, false, "store not ready: "+err.Error()
	}
	return st
}

// status is GET /status: Anchore's StatusResponse of the API service,
// unauthenticated as in Anchore (no authz action).
func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.statusResponse(r.Context()))
	return nil
}

// service is this daemon as Anchore's Service record. base_url is how the
// request reached it.
func (s *Server) service(r *http.Request) apitype.Service {
	st := s.statusResponse(r.Context())
	host, _ := os.Hostname()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	if ConnInfoFrom(r.Context()).Transport == TransportUnix {
		base = "unix://" // the socket has no host
	}
	msg := "registered"
	if !st.Up {
		msg = "unavailable"
	}
	return apitype.Service{HostID: host, ServiceName: serviceName, BaseURL: base, Status: st.Up,
		StatusMessage: msg, Version: "v1", ServiceDetail: st}
}

// systemStatus is GET /system (anchore-cli "system status" and "system
// wait"): the service states. Anchore's getSystemStatus is a system-domain
// action, so admins only.
func (s *Server) systemStatus(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(CallerFrom(r.Context()), systemDomain, "getSystemStatus", "*"); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.SystemStatusResponse{ServiceStates: []apitype.Service{s.service(r)}})
	return nil
}

// systemServices is GET /system/services: Anchore's ServiceList.
func (s *Server) systemServices(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(CallerFrom(r.Context()), systemDomain, "listServices", "*"); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, []apitype.Service{s.service(r)})
	return nil
}

// auditedGenerateKey is GenerateKey of the configured algorithm,
// recording the key's creation (only when the store had none; the key may
// still lose a race to another process's: either way one was generated).
func (s *Server) auditedGenerateKey(ctx context.Context) func() (KeyRecord, error) {
	return func() (KeyRecord, error) {
		k, err := GenerateKey(s.cfg.KeyAlgorithm, s.now())
		if err == nil {
			s.cfg.Audit.Log(ctx, audit.Event{Action: "key.generate", Kind: audit.Change, Target: "signing_key",
				Code: http.StatusOK, Actor: audit.Actor{Transport: "internal", PeerUID: -1, PeerPID: -1}})
		}
		return k, err
	}
}
