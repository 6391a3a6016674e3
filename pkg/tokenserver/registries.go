package tokenserver

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/validate"
	"github.com/anchored/anchored/pkg/registries"
)

// RegistryOptions configures the registries API and the credential-helper
// endpoints.
type RegistryOptions struct {
	// Resolver turns awsecr entries into ECR tokens. The daemon gives one
	// resolver to every request, so tokens live in its memory and
	// concurrent requests for one registry make one AWS call; its
	// AllowIAMAuto is allow_awsecr_iam_auto. nil: awsecr entries cannot be
	// added (their hosts cannot be recognised) nor served, and awsauto is
	// refused.
	Resolver *ecr.Resolver
	// Transport carries validation requests to registries; nil means
	// http.DefaultTransport. Tests pass one that trusts their CA.
	Transport http.RoundTripper
	// HelperAccount is whose entries the helper endpoints serve
	// (helper_account); "" means "admin".
	HelperAccount string
	// Observer hears every registry change and every credential read, from
	// the API and the helper endpoints alike (pkg/registries); nil: none.
	Observer registries.Observer
}

// registries is the one registry workflow over the server's store, as
// the API and the helper endpoints use it.
func (s *Server) registries() *registries.Service {
	o := s.cfg.Registries
	return &registries.Service{
		Store:        s.store,
		Resolver:     o.Resolver,
		AllowIAMAuto: o.Resolver != nil && o.Resolver.AllowIAMAuto,
		Validate: func(ctx context.Context, account string, e registries.Entry) error {
			return validate.Validator{Transport: o.Transport, Resolver: o.Resolver, Account: account}.Check(ctx, e)
		},
		Now:      s.now,
		Observer: o.Observer,
		Log:      s.log,
	}
}

// validateParam reads ?validate= in any case (anchore-cli sends Python's
// True/False); absent means true.
func validateParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("validate")
	switch strings.ToLower(v) {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errorf(http.StatusBadRequest, "Invalid value for validate: %q (want true or false)", v)
}

// registryError maps the workflow's sentinels to Anchore's statuses. The
// message is the error's own text, the same the CLI and the helper print.
func registryError(err error) error {
	for _, m := range []struct {
		target error
		code   int
	}{
		{registries.ErrTrailingSlash, http.StatusConflict},
		{registries.ErrScheme, http.StatusConflict},
		{registries.ErrExists, http.StatusConflict}, // ours: Anchore answers 500
		{registries.ErrRegistryNotFound, http.StatusNotFound},
		{ecr.ErrIAMAutoDisabled, http.StatusNotAcceptable},
		{registries.ErrNoRegistry, http.StatusBadRequest},
		{registries.ErrUnknownType, http.StatusBadRequest},
		{helper.ErrInvalidName, http.StatusBadRequest},
		{registries.ErrNotECRHost, http.StatusBadRequest},
		{registries.ErrManaged, http.StatusConflict},
		{validate.ErrFailed, http.StatusNotAcceptable},
		{registries.ErrNoValidator, http.StatusNotAcceptable},
	} {
		if errors.Is(err, m.target) {
			return errorf(m.code, "%s", err.Error())
		}
	}
	return err
}

// listRegistries is GET /registries.
func (s *Server) listRegistries(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r, "listRegistries")
	if err != nil {
		return err
	}
	list, err := s.registries().List(r.Context(), ns)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, registries.Records(list, ns))
	return nil
}

// getRegistry is GET /registries/{registry}: a list of one record.
func (s *Server) getRegistry(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r, "getRegistry")
	if err != nil {
		return err
	}
	name, err := pathVar(r, "registry")
	if err != nil {
		return err
	}
	reg, err := s.registries().Get(r.Context(), ns, name)
	if err != nil {
		return registryError(err)
	}
	writeJSON(w, http.StatusOK, registries.Records([]registries.Entry{reg}, ns))
	return nil
}

// createRegistry is POST /registries: registries.Service.Add, in Anchore's
// order. A request without a type is docker_v2, as Anchore stores it.
func (s *Server) createRegistry(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r, "createRegistry")
	if err != nil {
		return err
	}
	validate, err := validateParam(r)
	if err != nil {
		return err
	}
	var req apitype.RegistryRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	noteURLTarget(r, req.Registry) // audit
	in := registries.AddInput{Registry: req.Registry, Name: deref(req.RegistryName), Type: deref(req.RegistryType),
		User: deref(req.RegistryUser), Pass: deref(req.RegistryPass), Verify: true}
	if req.RegistryVerify != nil {
		in.Verify = *req.RegistryVerify
	}
	reg, err := s.registries().Add(r.Context(), ns, in, validate)
	if err != nil {
		return registryError(err)
	}
	writeJSON(w, http.StatusOK, registries.Records([]registries.Entry{reg}, ns))
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// updateRegistry is PUT /registries/{registry}: only the fields sent
// change (Anchore's behaviour); a body without a registry names the path's.
func (s *Server) updateRegistry(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r, "updateRegistry")
	if err != nil {
		return err
	}
	name, err := pathVar(r, "registry")
	if err != nil {
		return err
	}
	validate, err := validateParam(r)
	if err != nil {
		return err
	}
	var req apitype.RegistryRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Registry != "" && registries.EntryKey(req.Registry) != registries.EntryKey(name) {
		return errorf(http.StatusConflict, "registry name in path does not equal registry name in body")
	}
	p := registries.Patch{Name: req.RegistryName, Type: req.RegistryType, User: req.RegistryUser,
		Pass: req.RegistryPass, Verify: req.RegistryVerify}
	reg, err := s.registries().Update(r.Context(), ns, name, p, validate)
	if errors.Is(err, registries.ErrRegistryNotFound) {
		return errorf(http.StatusNotFound, "could not find existing registry to update")
	}
	if err != nil {
		return registryError(err)
	}
	writeJSON(w, http.StatusOK, registries.Records([]registries.Entry{reg}, ns))
	return nil
}

// deleteRegistry is DELETE /registries/{registry}: 200 true, also when
// there was nothing to delete (Anchore's behaviour).
func (s *Server) deleteRegistry(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r, "deleteRegistry")
	if err != nil {
		return err
	}
	name, err := pathVar(r, "registry")
	if err != nil {
		return err
	}
	if err := s.registries().Delete(r.Context(), ns, name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, true)
	return nil
}
