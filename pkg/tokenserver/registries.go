package tokenserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/anchored/anchored/internal/apitype"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/validate"
	"github.com/anchored/anchored/pkg/vault"
)

// RegistryOptions configures the registries API and the credential-helper
// endpoints.
type RegistryOptions struct {
	// Resolver turns awsecr entries into ECR tokens. The daemon gives one
	// resolver to every request, so tokens live in its memory and
	// concurrent requests for one registry make one AWS call; its
	// AllowIAMAuto is allow_awsecr_iam_auto. nil: awsecr entries cannot be
	// added with validation nor served, and awsauto is refused.
	Resolver *ecr.Resolver
	// Transport carries validation requests to registries; nil means
	// http.DefaultTransport. Tests pass one that trusts their CA.
	Transport http.RoundTripper
	// HelperAccount is whose entries the helper endpoints serve
	// (helper_account); "" means "admin".
	HelperAccount string
}

// RegistryStore keeps registry entries. Its operations are pkg/helper's, on
// the vault document, so the API, "registry add" and the helper's direct
// mode cannot drift apart. Errors are pkg/helper's sentinels.
type RegistryStore interface {
	ListRegistries(ctx context.Context, account string) ([]vault.Registry, error)
	GetRegistry(ctx context.Context, account, registry string) (vault.Registry, error)
	AddRegistry(ctx context.Context, account string, e helper.Entry, now time.Time) (vault.Registry, error)
	UpdateRegistry(ctx context.Context, account string, e helper.Entry, now time.Time) (vault.Registry, error)
	DeleteRegistry(ctx context.Context, account, registry string) error

	// The credential-helper protocol, for the helper endpoints.
	ResolveCredentials(ctx context.Context, account string, k helper.Key, serverURL string, r *ecr.Resolver) (helper.Credentials, error)
	StoreCredentials(ctx context.Context, account string, c helper.Credentials, now time.Time) error
	EraseCredentials(ctx context.Context, account string, k helper.Key) error
	ListCredentials(ctx context.Context, account string) (map[string]string, error)
}

var _ RegistryStore = (*VaultStore)(nil)

// registryStore is the server's store as a RegistryStore. A store without
// registries (a future shared database that does not keep them yet) makes
// the routes answer 501 rather than fail in a confusing way.
func (s *Server) registryStore() (RegistryStore, error) {
	rs, ok := s.store.(RegistryStore)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "Registry credentials are not kept by this store")
	}
	return rs, nil
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

// registryError maps pkg/helper's sentinels to Anchore's statuses and
// messages. Messages are the sentinels' own texts, which are Anchore's.
func registryError(err error) error {
	for _, m := range []struct {
		target error
		code   int
	}{
		{helper.ErrTrailingSlash, http.StatusConflict},
		{helper.ErrScheme, http.StatusConflict},
		{helper.ErrExists, http.StatusConflict}, // ours: Anchore answers 500
		{helper.ErrRegistryNotFound, http.StatusNotFound},
		{ecr.ErrIAMAutoDisabled, http.StatusNotAcceptable},
		{helper.ErrNoRegistry, http.StatusBadRequest},
		{helper.ErrUnknownType, http.StatusBadRequest},
	} {
		if errors.Is(err, m.target) {
			return errorf(m.code, "%s", m.target.Error())
		}
	}
	if errors.Is(err, validate.ErrFailed) {
		return errorf(http.StatusNotAcceptable, "%s", err.Error())
	}
	return err
}

// usesHostIdentity reports whether an awsecr entry's credentials spend the
// host's own AWS identity (awsauto, or _iam_role, which assumes a role with
// it), which allow_awsecr_iam_auto gates.
func usesHostIdentity(user, pass string) bool {
	return user == "awsauto" || pass == "awsauto" || user == "_iam_role"
}

func (s *Server) allowIAMAuto() bool {
	r := s.cfg.Registries.Resolver
	return r != nil && r.AllowIAMAuto
}

func (s *Server) validator(account string) validate.Validator {
	return validate.Validator{Transport: s.cfg.Registries.Transport, Resolver: s.cfg.Registries.Resolver, Account: account}
}

func registryRecords(rs []vault.Registry, account string) []apitype.Registry {
	out := make([]apitype.Registry, 0, len(rs))
	for i := range rs {
		out = append(out, helper.Record(&rs[i], account))
	}
	return out
}

// entryFromRequest reads a registry request body into an Entry. A request
// without a type is docker_v2, as Anchore stores it.
func entryFromRequest(req apitype.RegistryRequest) helper.Entry {
	e := helper.Entry{Registry: req.Registry, Name: req.RegistryName, Type: req.RegistryType,
		User: req.RegistryUser, Pass: req.RegistryPass, Verify: true}
	if req.RegistryVerify != nil {
		e.Verify = *req.RegistryVerify
	}
	return e
}

// listRegistries is GET /registries.
func (s *Server) listRegistries(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r, "listRegistries")
	if err != nil {
		return err
	}
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	list, err := rs.ListRegistries(r.Context(), ns)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, registryRecords(list, ns))
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
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	reg, err := rs.GetRegistry(r.Context(), ns, name)
	if err != nil {
		return registryError(err)
	}
	writeJSON(w, http.StatusOK, registryRecords([]vault.Registry{reg}, ns))
	return nil
}

// createRegistry is POST /registries, in Anchore's order: awsauto gate,
// name checks, then the registry is asked (validate=true) before anything
// is stored, so a failed check stores nothing. ECR tokens are fetched on
// add (the check does it; with validate=false a failure is only logged, as
// Anchore does).
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
	noteURLTarget(r, req.Registry) // audit (issue 13)
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	e := entryFromRequest(req)
	if e.Type == "" {
		e.Type = helper.TypeDockerV2
	}
	if err := helper.CheckType(e.Type); err != nil {
		return registryError(err)
	}
	if e.Type == helper.TypeAWSECR && usesHostIdentity(e.User, e.Pass) && !s.allowIAMAuto() {
		return registryError(ecr.ErrIAMAutoDisabled)
	}
	key, err := helper.CheckRegistryName(e.Registry)
	if err != nil {
		return registryError(err)
	}
	// A duplicate is refused before the registry is asked: no needless
	// network call, and the answer does not depend on the registry.
	if _, err := rs.GetRegistry(r.Context(), ns, key); err == nil {
		return registryError(fmt.Errorf("%w: %q", helper.ErrExists, key))
	} else if !errors.Is(err, helper.ErrRegistryNotFound) {
		return err
	}
	if validate {
		if err := s.validator(ns).Check(r.Context(), e); err != nil {
			return registryError(err)
		}
	}
	reg, err := rs.AddRegistry(r.Context(), ns, e, s.now())
	if err != nil {
		return registryError(err)
	}
	if !validate && reg.Type == helper.TypeAWSECR {
		s.refreshECR(r.Context(), ns, reg)
	}
	writeJSON(w, http.StatusOK, registryRecords([]vault.Registry{reg}, ns))
	return nil
}

// refreshECR fetches a token for a new awsecr entry added without
// validation, so the first pull finds it ready; a failure is logged, not
// answered (Anchore's behaviour with validate=false).
func (s *Server) refreshECR(ctx context.Context, account string, reg vault.Registry) {
	res := s.cfg.Registries.Resolver
	if res == nil {
		return
	}
	host, _, _ := strings.Cut(reg.Registry, "/")
	if _, ok, err := res.Parse(ctx, host); err != nil || !ok {
		return
	}
	if _, err := res.Token(ctx, account, host, ecr.Credentials{User: reg.User, Pass: reg.Pass}); err != nil {
		s.log.WarnContext(ctx, "ECR token refresh on add failed", slog.String("registry", reg.Registry), slog.Any("err", err))
	}
}

// updateRegistry is PUT /registries/{registry}. With validate=true the new
// credentials are checked first, for every type (ours: for awsecr a token
// is fetched with them, where Anchore fails, anchore-engine #847).
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
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	if req.Registry == "" {
		req.Registry = name
	}
	if helper.EntryKey(req.Registry) != helper.EntryKey(name) {
		return errorf(http.StatusConflict, "registry name in path does not equal registry name in body")
	}
	e := entryFromRequest(req)
	if e.Type != "" {
		if err := helper.CheckType(e.Type); err != nil {
			return registryError(err)
		}
	}
	if _, err := helper.CheckRegistryName(e.Registry); err != nil {
		return registryError(err)
	}
	old, err := rs.GetRegistry(r.Context(), ns, name)
	if errors.Is(err, helper.ErrRegistryNotFound) {
		return errorf(http.StatusNotFound, "could not find existing registry to update")
	}
	if err != nil {
		return err
	}
	check := e
	if check.Type == "" {
		check.Type = old.Type
	}
	if check.Type == helper.TypeAWSECR && usesHostIdentity(e.User, e.Pass) && !s.allowIAMAuto() {
		return registryError(ecr.ErrIAMAutoDisabled)
	}
	if validate {
		if err := s.validator(ns).Check(r.Context(), check); err != nil {
			return registryError(err)
		}
	}
	reg, err := rs.UpdateRegistry(r.Context(), ns, e, s.now())
	if errors.Is(err, helper.ErrRegistryNotFound) {
		return errorf(http.StatusNotFound, "could not find existing registry to update")
	}
	if err != nil {
		return registryError(err)
	}
	writeJSON(w, http.StatusOK, registryRecords([]vault.Registry{reg}, ns))
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
	rs, err := s.registryStore()
	if err != nil {
		return err
	}
	if err := rs.DeleteRegistry(r.Context(), ns, name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, true)
	return nil
}

// The VaultStore's registry operations: pkg/helper's, on the document.

// ListRegistries implements RegistryStore.
func (s *VaultStore) ListRegistries(ctx context.Context, account string) ([]vault.Registry, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return nil, err
	}
	list := helper.ListRegistries(d, account)
	out := make([]vault.Registry, 0, len(list))
	for _, r := range list {
		out = append(out, *r)
	}
	return out, nil
}

// GetRegistry implements RegistryStore.
func (s *VaultStore) GetRegistry(ctx context.Context, account, registry string) (vault.Registry, error) {
	d, err := s.doc(ctx)
	if err != nil {
		return vault.Registry{}, err
	}
	r, err := helper.GetRegistry(d, account, registry)
	if err != nil {
		return vault.Registry{}, err
	}
	return *r, nil
}

// AddRegistry implements RegistryStore.
func (s *VaultStore) AddRegistry(ctx context.Context, account string, e helper.Entry, now time.Time) (vault.Registry, error) {
	var out vault.Registry
	err := s.v.Update(ctx, func(d *vault.Document) error {
		r, err := helper.AddRegistry(d, account, e, now)
		if err != nil {
			return err
		}
		out = *r
		return nil
	})
	return out, err
}

// UpdateRegistry implements RegistryStore.
func (s *VaultStore) UpdateRegistry(ctx context.Context, account string, e helper.Entry, now time.Time) (vault.Registry, error) {
	var out vault.Registry
	err := s.v.Update(ctx, func(d *vault.Document) error {
		r, err := helper.UpdateRegistry(d, account, e, now)
		if err != nil {
			return err
		}
		out = *r
		return nil
	})
	return out, err
}

// DeleteRegistry implements RegistryStore. Deleting what is not there
// writes nothing (and costs no scrypt).
func (s *VaultStore) DeleteRegistry(ctx context.Context, account, registry string) error {
	d, err := s.doc(ctx)
	if err != nil {
		return err
	}
	if _, err := helper.GetRegistry(d, account, registry); err != nil {
		return nil
	}
	err = s.v.Update(ctx, func(d *vault.Document) error {
		if !helper.DeleteRegistry(d, account, registry) {
			return errKeep
		}
		return nil
	})
	if errors.Is(err, errKeep) {
		return nil
	}
	return err
}
