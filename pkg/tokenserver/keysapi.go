package tokenserver

import (
	"net/http"
	"time"
)

// The signing keys API (ours, not Anchore's): GET /keys lists the keys,
// POST /keys/rotate makes a new one (docs/anchored.md, "Signing keys").
// Admins only. No private key or secret is ever in an answer.

// keyInfo is one key as the API shows it.
type keyInfo struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	Signs       bool       `json:"signs"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	VerifyUntil *time.Time `json:"verify_until,omitempty"`
}

// keysResponse is the answer of both routes.
type keysResponse struct {
	// Source is "store" for generated keys, "config" for keys.*.
	Source string    `json:"source"`
	Keys   []keyInfo `json:"keys"`
}

// listKeys is GET /keys.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	if err := s.keysAllowed(r); err != nil {
		return err
	}
	s.tokens.reloadIfChanged(r.Context())
	writeJSON(w, http.StatusOK, s.keysResponse())
	return nil
}

// rotateKeys is POST /keys/rotate: a new key signs from now on, the ones
// that signed verify for KeepFor(token lifetime), older ones go.
func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request) error {
	if err := s.keysAllowed(r); err != nil {
		return err
	}
	rl := s.tokens.reload
	if rl == nil {
		return errorf(http.StatusConflict, "Cannot rotate: %v", ErrKeysConfigured)
	}
	ctx := r.Context()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	next, err := Rotate(ctx, s.store, s.cfg.KeyAlgorithm, s.cfg.TokenTTL, s.now())
	if err != nil {
		return err
	}
	noteTarget(r, next.KID)
	if err := s.tokens.load(ctx); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.keysResponse())
	return nil
}

func (s *Server) keysAllowed(r *http.Request) error {
	if err := authorize(CallerFrom(r.Context()), systemDomain, "manageSigningKeys", "*"); err != nil {
		return err
	}
	if s.tokens == nil {
		return errorf(http.StatusConflict, "Oauth not enabled in configuration: there are no signing keys")
	}
	return nil
}

func (s *Server) keysResponse() keysResponse {
	ring := s.tokens.ring.Load()
	out := keysResponse{Source: "store", Keys: []keyInfo{}}
	if s.tokens.reload == nil {
		out.Source = "config"
	}
	now := s.now()
	for _, k := range ring.keys {
		if !k.validAt(now) {
			continue
		}
		ki := keyInfo{KID: k.kid, Alg: string(k.alg), Signs: k == ring.signing}
		if !k.verifyUntil.IsZero() {
			vu := k.verifyUntil.UTC()
			ki.VerifyUntil = &vu
		}
		if !k.createdAt.IsZero() {
			ca := k.createdAt.UTC()
			ki.CreatedAt = &ca
		}
		out.Keys = append(out.Keys, ki)
	}
	return out
}
