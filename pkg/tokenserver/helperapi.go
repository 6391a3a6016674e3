package tokenserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/anchored/anchored/internal/apitype"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/vault"
)

// The credential-helper endpoints (SPEC section 8): on the Unix socket only
// (the routes are SocketOnly: whoever the socket's peer check admits may
// ask for the helper account's credentials, and needs no password), for
// config helper_account. They carry the Docker protocol's own payloads
// (internal/apitype) and answer what the vault backend answers in direct
// mode, error texts included, because they run the same pkg/helper code:
// docker-credential-anchore prints either answer as it is.

func (s *Server) helperAccount() string {
	if a := s.cfg.Registries.HelperAccount; a != "" {
		return a
	}
	return "admin"
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

// readKey reads a get or erase payload and normalises it to its key.
func readKey(r *http.Request) (serverURL string, k helper.Key, err error) {
	serverURL, err = readServerURL(r)
	if err != nil {
		return "", helper.Key{}, helperError(err)
	}
	noteURLTarget(r, serverURL) // audit (issue 13)
	k, err = helper.Normalize(serverURL)
	if err != nil {
		return "", helper.Key{}, errorf(http.StatusBadRequest, "%s", err.Error())
	}
	return serverURL, k, nil
}

// helperGet is POST /credential-helper/get.
func (s *Server) helperGet(w http.ResponseWriter, r *http.Request) error {
	serverURL, k, err := readKey(r)
	if err != nil {
		return err
	}
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	c, err := rs.ResolveCredentials(r.Context(), s.helperAccount(), k, serverURL, s.cfg.Registries.Resolver)
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
	noteURLTarget(r, hc.ServerURL) // audit (issue 13)
	if _, err := helper.Normalize(hc.ServerURL); err != nil {
		return errorf(http.StatusBadRequest, "%s", err.Error())
	}
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	c := helper.Credentials{ServerURL: hc.ServerURL, Username: hc.Username, Secret: hc.Secret}
	if err := rs.StoreCredentials(r.Context(), s.helperAccount(), c, s.now()); err != nil {
		return helperError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// helperErase is POST /credential-helper/erase.
func (s *Server) helperErase(w http.ResponseWriter, r *http.Request) error {
	_, k, err := readKey(r)
	if err != nil {
		return err
	}
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	if err := rs.EraseCredentials(r.Context(), s.helperAccount(), k); err != nil {
		return helperError(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// helperList is POST /credential-helper/list.
func (s *Server) helperList(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	m, err := rs.ListCredentials(r.Context(), s.helperAccount())
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

// The VaultStore's side of the helper protocol.

// ResolveCredentials implements RegistryStore.
func (s *VaultStore) ResolveCredentials(ctx context.Context, account string, k helper.Key, serverURL string, res *ecr.Resolver) (helper.Credentials, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return helper.Credentials{}, helper.Unavailable(err)
	}
	return helper.Resolve(ctx, d, account, k, serverURL, func() *ecr.Resolver { return res })
}

// StoreCredentials implements RegistryStore. Storing what is already there
// writes nothing.
func (s *VaultStore) StoreCredentials(ctx context.Context, account string, c helper.Credentials, now time.Time) error {
	k, err := helper.Normalize(c.ServerURL)
	if err != nil {
		return err
	}
	err = s.v.Update(ctx, func(d *vault.Document) error {
		changed, err := helper.StoreCredentials(d, account, k, c, now)
		if err == nil && !changed {
			return errKeep
		}
		return err
	})
	if errors.Is(err, errKeep) {
		return nil
	}
	return err
}

// EraseCredentials implements RegistryStore. Erasing what is not there
// writes nothing.
func (s *VaultStore) EraseCredentials(ctx context.Context, account string, k helper.Key) error {
	d, err := s.doc(ctx)
	if err != nil {
		return helper.Unavailable(err)
	}
	if _, ok := d.Registries[account][k.Key]; !ok {
		return nil
	}
	err = s.v.Update(ctx, func(d *vault.Document) error {
		if !helper.EraseCredentials(d, account, k) {
			return errKeep
		}
		return nil
	})
	if errors.Is(err, errKeep) {
		return nil
	}
	return err
}

// ListCredentials implements RegistryStore.
func (s *VaultStore) ListCredentials(ctx context.Context, account string) (map[string]string, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, helper.Unavailable(err)
	}
	return helper.ListCredentials(d, account), nil
}
