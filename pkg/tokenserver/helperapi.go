package tokenserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/registries"
)

// The credential-helper endpoints (SPEC section 8): on the Unix socket only
// (the routes are SocketOnly: whoever the socket's peer check admits may
// ask for the helper account's credentials, and needs no password), for
// config helper_account. They carry the Docker protocol's own payloads
// (pkg/apitype) and answer what the vault backend answers in direct
// mode, error texts included, because they run the same pkg/helper code:
// docker-credential-anchore prints either answer as it is. Every action is
// registries.Service's, as in direct mode.

func (s *Server) helperAccount() string {
	if a := s.cfg.Registries.HelperAccount; a != "" {
		return a
	}
	return registries.DefaultAccount
}

// helperError maps the protocol's errors. Their messages go to the client
// unchanged (the helper prints them), so they are never a 500's generic
// text; none of them holds a secret.
func helperError(err error) error {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae), errors.As(err, &mbe):
		return err
	case errors.Is(err, helper.ErrNotFound):
		return errorf(http.StatusNotFound, "%s", err.Error())
	case errors.Is(err, helper.ErrInvalidName), errors.Is(err, helper.ErrNoServerURL), errors.Is(err, helper.ErrUnsupportedScheme):
		return errorf(http.StatusBadRequest, "%s", err.Error())
	case errors.Is(err, registries.ErrManaged):
		return errorf(http.StatusConflict, "%s", err.Error())
	case errors.Is(err, helper.ErrUnavailable):
		return errorf(http.StatusServiceUnavailable, "%s", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, "%s", err.Error())
	}
	return errorf(http.StatusBadGateway, "%s", err.Error())
}

// readServerURL reads a get or erase payload: the server URL as text, as
// on the helper's stdin (the credentials library trims it the same way).
func readServerURL(r *http.Request) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, apitype.HelperMaxBody+1))
	if err != nil {
		return "", err
	}
	if len(b) > apitype.HelperMaxBody {
		return "", errorf(http.StatusRequestEntityTooLarge, "Request body too large (limit %d bytes)", apitype.HelperMaxBody)
	}
	return strings.TrimSpace(string(b)), nil
}

// helperGet is POST /credential-helper/get.
func (s *Server) helperGet(w http.ResponseWriter, r *http.Request) error {
	serverURL, err := readServerURL(r)
	if err != nil {
		return helperError(err)
	}
	noteURLTarget(r, serverURL) // audit
	c, err := s.registries().Resolve(r.Context(), s.helperAccount(), serverURL)
	if err != nil {
		return helperError(err)
	}
	writeJSON(w, http.StatusOK, apitype.HelperCredentials{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret})
	return nil
}

// helperStore is POST /credential-helper/store.
func (s *Server) helperStore(w http.ResponseWriter, r *http.Request) error {
	var hc apitype.HelperCredentials
	if err := decodeJSON(r, &hc); err != nil {
		return err
	}
	noteURLTarget(r, hc.ServerURL) // audit
	c := helper.Credentials{ServerURL: hc.ServerURL, Username: hc.Username, Secret: hc.Secret}
	if err := s.registries().StoreCredentials(r.Context(), s.helperAccount(), c); err != nil {
		return helperError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// helperErase is POST /credential-helper/erase.
func (s *Server) helperErase(w http.ResponseWriter, r *http.Request) error {
	serverURL, err := readServerURL(r)
	if err != nil {
		return helperError(err)
	}
	noteURLTarget(r, serverURL) // audit
	if err := s.registries().EraseCredentials(r.Context(), s.helperAccount(), serverURL); err != nil {
		return helperError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// helperList is POST /credential-helper/list.
func (s *Server) helperList(w http.ResponseWriter, r *http.Request) error {
	m, err := s.registries().ListCredentials(r.Context(), s.helperAccount())
	if err != nil {
		return helperError(err)
	}
	// The protocol's own encoding: compact, as the helper prints it; with
	// a Content-Length, as every JSON answer (writeJSON).
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, err = w.Write(b)
	return err
}
