package tokenserver

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
)

// nameRE is Anchore's rule for account and user names (swagger and
// subsys/identities.py), character for character: "+-=" is a range there
// too. At least 3 characters.
var nameRE = regexp.MustCompile("^[a-zA-Z0-9][a-zA-Z0-9@.!#$+-=^_`~;]{1,126}[a-zA-Z0-9]$")

// reservedAccountNames may not be created through the API.
var reservedAccountNames = map[string]bool{"system": true, "anchore-system": true, "admin": true}

func validName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return errorf(http.StatusBadRequest, "Validation failed: %s %q does not match the name rules (3 to 128 characters, letters and digits at both ends)", kind, name)
	}
	return nil
}

// validEmail is Anchore's check of an account's email: the swagger's
// "format: email", which connexion's validator (jsonschema's draft 4
// format checker) passes when the value contains an "@". Empty means none
// given. The message is connexion's wording.
func validEmail(email string) error {
	if email != "" && !strings.Contains(email, "@") {
		return errorf(http.StatusBadRequest, "Validation failed: %q is not a 'email'", email)
	}
	return nil
}

func accountJSON(a Account) apitype.Account {
	return apitype.Account{Name: a.Name, Email: a.Email, Type: a.Type, State: a.State,
		CreatedAt: apitype.Time{Time: a.CreatedAt}, LastUpdated: apitype.Time{Time: a.LastUpdated}}
}

var errAccountNotFound = errorf(http.StatusNotFound, "Account not found")

// writeAccount answers one account in Anchore's shape, 404 when missing.
func (s *Server) writeAccount(w http.ResponseWriter, r *http.Request, name string) error {
	a, err := s.store.GetAccount(r.Context(), name)
	if errors.Is(err, ErrNotFound) {
		return errAccountNotFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accountJSON(a))
	return nil
}

// getOwnAccount: GET /account, the requesting namespace's account.
func (s *Server) getOwnAccount(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.namespace(r, "getAccount")
	if err != nil {
		return err
	}
	return s.writeAccount(w, r, ns)
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(CallerFrom(r.Context()), systemDomain, "listAccounts", "*"); err != nil {
		return err
	}
	state := r.URL.Query().Get("state")
	switch state {
	case "", apitype.AccountEnabled, apitype.AccountDisabled, apitype.AccountDeleting:
	default:
		return errorf(http.StatusBadRequest, "Invalid state %q: want enabled, disabled or deleting", state)
	}
	all, err := s.store.ListAccounts(r.Context())
	if err != nil {
		return err
	}
	out := []apitype.Account{}
	for _, a := range all {
		if a.Type == apitype.AccountTypeService || (state != "" && a.State != state) {
			continue
		}
		out = append(out, accountJSON(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(CallerFrom(r.Context()), systemDomain, "createAccount", "*"); err != nil {
		return err
	}
	var req apitype.AccountCreationRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	noteTarget(r, req.Name)
	if req.Name == "" {
		return errorf(http.StatusBadRequest, "Validation failed: 'name' is a required property")
	}
	if reservedAccountNames[req.Name] {
		return errorf(http.StatusBadRequest, "Invalid account request: Cannot use name %s", req.Name)
	}
	if err := validName("account name", req.Name); err != nil {
		return err
	}
	if err := validEmail(req.Email); err != nil {
		return err
	}
	if req.Type != "" && req.Type != apitype.AccountTypeUser {
		return errorf(http.StatusBadRequest, "Invalid account request: Cannot create account of type %s", req.Type)
	}
	now := s.now().UTC().Truncate(time.Second)
	a := Account{Name: req.Name, Email: req.Email, Type: apitype.AccountTypeUser, State: apitype.AccountEnabled, CreatedAt: now, LastUpdated: now}
	err := s.store.CreateAccount(r.Context(), a)
	if errors.Is(err, ErrAlreadyExists) {
		return errorf(http.StatusBadRequest, "Account already exists")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, accountJSON(a))
	return nil
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	name, err := pathVar(r, "accountname")
	if err != nil {
		return err
	}
	if err := authorize(CallerFrom(r.Context()), name, "getAccount", "*"); err != nil {
		return err
	}
	return s.writeAccount(w, r, name)
}

// deleteAccount: the account must be disabled first (Anchore's rule: only
// disabled -> deleting). It is marked "deleting" at once, which GET and
// list show and which makes the account unusable (the gate refuses its
// users, namespace refuses it as a target); its users, credentials and
// registries are removed in the background (lifecycle.go), then the
// account itself.
func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	name, err := pathVar(r, "accountname")
	if err != nil {
		return err
	}
	if err := authorize(CallerFrom(r.Context()), systemDomain, "deleteAccount", name); err != nil {
		return err
	}
	noteTarget(r, name)
	err = s.store.UpdateAccount(r.Context(), name, func(a Account) (Account, error) {
		if a.Type != apitype.AccountTypeUser {
			return a, errorf(http.StatusBadRequest, "Account cannot be deleted")
		}
		switch a.State {
		case apitype.AccountDeleting:
			return a, errAlreadyDeleting
		case apitype.AccountEnabled:
			return a, errorf(http.StatusBadRequest, "Invalid account state change requested. Cannot go from state enabled to state deleting")
		}
		a.State = apitype.AccountDeleting
		a.LastUpdated = s.now().UTC().Truncate(time.Second)
		return a, nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return errAccountNotFound
	case errors.Is(err, errAlreadyDeleting):
		// Anchore answers a repeated delete with the state it is in.
	case err != nil:
		return err
	default:
		s.scheduleDeletion(name)
	}
	writeJSON(w, http.StatusOK, apitype.AccountStatus{State: apitype.AccountDeleting})
	return nil
}

// errAlreadyDeleting aborts the state update of an account already being
// deleted; it never reaches a client.
var errAlreadyDeleting = errors.New("account already deleting")

func (s *Server) updateAccountState(w http.ResponseWriter, r *http.Request) error {
	name, err := pathVar(r, "accountname")
	if err != nil {
		return err
	}
	if err := authorize(CallerFrom(r.Context()), systemDomain, "updateAccount", name); err != nil {
		return err
	}
	noteTarget(r, name)
	var req apitype.AccountStatus
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.State != apitype.AccountEnabled && req.State != apitype.AccountDisabled {
		return errorf(http.StatusBadRequest, "Validation failed: state must be enabled or disabled")
	}
	var out Account
	err = s.store.UpdateAccount(r.Context(), name, func(a Account) (Account, error) {
		if a.Type == apitype.AccountTypeAdmin && req.State == apitype.AccountDisabled {
			return a, errorf(http.StatusBadRequest, "Cannot disable the admin account")
		}
		if a.State == apitype.AccountDeleting {
			return a, errorf(http.StatusBadRequest, "Invalid account state change requested. Cannot go from state %s to state %s", a.State, req.State)
		}
		if a.State != req.State {
			a.State = req.State
			a.LastUpdated = s.now().UTC().Truncate(time.Second)
		}
		out = a
		return a, nil
	})
	if errors.Is(err, ErrNotFound) {
		return errAccountNotFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.AccountStatus{State: out.State})
	return nil
}
