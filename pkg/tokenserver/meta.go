package tokenserver

import (
	"net/http"

	"github.com/anchored/anchored/pkg/apitype"
)

// ping answers GET /v1 with the JSON string "v1", unauthenticated:
// anchore-cli calls it before every command.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, "v1")
	return nil
}

// health answers 200 with an empty body, as Anchore.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	v := s.cfg.Version
	if v == "" {
		v = "dev"
	}
	writeJSON(w, http.StatusOK, apitype.VersionResponse{Service: apitype.VersionService{Version: v}, API: apitype.VersionAPI{Version: "v1"}})
	return nil
}
