package tokenserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/anchored/anchored/pkg/apitype"
)

// credentialMask stands for a stored password in answers. Anchore writes
// one "*" per stored character, which leaks the password's length; we
// always write the same mask (ours).
const credentialMask = "********"

var errUserNotFound = errorf(http.StatusNotFound, "User not found")

func userJSON(u User) apitype.User {
	var src *string
	if u.Source != "" {
		src = &u.Source
	}
	return apitype.User{Username: u.Username, Type: u.Type, Source: src,
		CreatedAt: apitype.Time{Time: u.CreatedAt}, LastUpdated: apitype.Time{Time: u.LastUpdated}}
}

func credentialsJSON(u User) []apitype.Credential {
	if !u.HasCredential() {
		return []apitype.Credential{}
	}
	return []apitype.Credential{{Type: apitype.CredentialTypePassword, Value: credentialMask, CreatedAt: apitype.Time{Time: u.LastUpdated}}}
}

// validPassword is Anchore's swagger pattern ".{6,128}$", which connexion
// searches rather than matches: without a "^" any password of at least 6
// characters passes, however long (the body cap bounds it). We also refuse
// line breaks and invalid UTF-8 (ours: a password must be typeable at
// anchore-cli's prompt and survive the vault's JSON unchanged).
func validPassword(pw string) error {
	if utf8.RuneCountInString(pw) < 6 || strings.ContainsAny(pw, "\r\n") || !utf8.ValidString(pw) {
		return errorf(http.StatusBadRequest, "Validation failed: password must be at least 6 characters on one line")
	}
	return nil
}

// storedPassword returns the fields to store for pw: a scrypt hash when
// hashed_passwords is on, else Anchore's plaintext. Hashing runs before any
// store lock is taken.
func (s *Server) storedPassword(ctx context.Context, pw string) (plain, hash string, err error) {
	if !s.cfg.HashedPasswords {
		return pw, "", nil
	}
	h, err := s.hasher.Hash(ctx, pw)
	return "", h, err
}

// NewUser builds a native user record with a fresh uuid and pw stored as
// the configuration says (bootstrap and the API share it).
func (s *Server) NewUser(ctx context.Context, account, username, pw string) (User, error) {
	plain, hash, err := s.storedPassword(ctx, pw)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	return User{Username: username, Account: account, UUID: strings.ReplaceAll(uuid.NewString(), "-", ""),
		Type: apitype.UserTypeNative, Password: plain, PasswordHash: hash, Generation: 1,
		CreatedAt: now, LastUpdated: now}, nil
}

// setPassword replaces username's password and moves its credential
// generation, so tokens issued before stop working. pw == "" removes the
// credential.
func (s *Server) setPassword(ctx context.Context, username, pw string) (User, error) {
	plain, hash := "", ""
	if pw != "" {
		var err error
		if plain, hash, err = s.storedPassword(ctx, pw); err != nil {
			return User{}, err
		}
	}
	var out User
	err := s.store.UpdateUser(ctx, username, func(u User) (User, error) {
		u.Password, u.PasswordHash = plain, hash
		u.Generation++
		u.LastUpdated = s.now().UTC().Truncate(time.Second)
		out = u
		return u, nil
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, errUserNotFound
	}
	return out, err
}

// accountUser resolves {accountname}/{username} after the permission
// check: a user of another account is "not found".
func (s *Server) accountUser(r *http.Request, action string) (User, error) {
	account, err := pathVar(r, "accountname")
	if err != nil {
		return User{}, err
	}
	if err := authorize(CallerFrom(r.Context()), account, action, "*"); err != nil {
		return User{}, err
	}
	name, err := pathVar(r, "username")
	if err != nil {
		return User{}, err
	}
	if _, err := s.store.GetAccount(r.Context(), account); errors.Is(err, ErrNotFound) {
		return User{}, errAccountNotFound
	} else if err != nil {
		return User{}, err
	}
	u, err := s.store.GetUser(r.Context(), name)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Account != account) {
		return User{}, errUserNotFound
	}
	return u, err
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	account, err := pathVar(r, "accountname")
	if err != nil {
		return err
	}
	if err := authorize(CallerFrom(r.Context()), account, "listUsers", "*"); err != nil {
		return err
	}
	users, err := s.store.ListUsers(r.Context(), account)
	if errors.Is(err, ErrNotFound) {
		return errAccountNotFound
	}
	if err != nil {
		return err
	}
	out := make([]apitype.User, 0, len(users))
	for _, u := range users {
		out = append(out, userJSON(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	account, err := pathVar(r, "accountname")
	if err != nil {
		return err
	}
	if err := authorize(CallerFrom(r.Context()), account, "createUser", "*"); err != nil {
		return err
	}
	var req apitype.UserCreationRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	noteTarget(r, req.Username)
	if req.Username == "" || req.Password == "" {
		return errorf(http.StatusBadRequest, "Validation failed: 'username' and 'password' are required properties")
	}
	if err := validName("user name", req.Username); err != nil {
		return err
	}
	if err := validPassword(req.Password); err != nil {
		return err
	}
	a, err := s.store.GetAccount(r.Context(), account)
	if errors.Is(err, ErrNotFound) {
		return errAccountNotFound
	}
	if err != nil {
		return err
	}
	if a.State == apitype.AccountDeleting {
		return errorf(http.StatusBadRequest, "Account is being deleted")
	}
	if _, err := s.store.GetUser(r.Context(), req.Username); err == nil {
		return errorf(http.StatusBadRequest, "User already exists") // before paying for a hash
	}
	u, err := s.NewUser(r.Context(), account, req.Username, req.Password)
	if err != nil {
		return err
	}
	switch err := s.store.CreateUser(r.Context(), u); {
	case errors.Is(err, ErrAlreadyExists):
		return errorf(http.StatusBadRequest, "User already exists")
	case errors.Is(err, ErrNotFound):
		return errAccountNotFound
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.accountUser(r, "getUser")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.accountUser(r, "deleteUser")
	if err != nil {
		return err
	}
	c := CallerFrom(r.Context())
	if u.Username == c.User.Username {
		return errorf(http.StatusBadRequest, "Cannot delete credential used for authentication of the request")
	}
	a, err := s.store.GetAccount(r.Context(), u.Account)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if u.Username == "admin" || u.Username == "anchore-system" || a.Type == apitype.AccountTypeService {
		return errorf(http.StatusBadRequest, "User not allowed to be deleted due to system constraints")
	}
	if err := s.store.DeleteUser(r.Context(), u.Username); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listUserCredentials(w http.ResponseWriter, r *http.Request) error {
	u, err := s.accountUser(r, "getUser")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, credentialsJSON(u))
	return nil
}

// credentialRequest is the body of POST .../credentials.
type credentialRequest struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func (s *Server) readCredential(r *http.Request) (string, error) {
	var req credentialRequest
	if err := decodeJSON(r, &req); err != nil {
		return "", err
	}
	if req.Type != apitype.CredentialTypePassword {
		return "", errorf(http.StatusBadRequest, "Invalid credential type")
	}
	if req.Value == "" {
		return "", errorf(http.StatusBadRequest, "Validation failed: 'value' must not be empty")
	}
	return req.Value, validPassword(req.Value)
}

func (s *Server) addUserCredential(w http.ResponseWriter, r *http.Request) error {
	u, err := s.accountUser(r, "updateUser")
	if err != nil {
		return err
	}
	return s.replaceCredential(w, r, u)
}

func (s *Server) replaceCredential(w http.ResponseWriter, r *http.Request, u User) error {
	if u.Type != apitype.UserTypeNative {
		return errorf(http.StatusBadRequest, "Cannot set a password on a user of type %s", u.Type)
	}
	pw, err := s.readCredential(r)
	if err != nil {
		return err
	}
	u, err = s.setPassword(r.Context(), u.Username, pw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, credentialsJSON(u)[0])
	return nil
}

func (s *Server) deleteUserCredential(w http.ResponseWriter, r *http.Request) error {
	u, err := s.accountUser(r, "updateUser")
	if err != nil {
		return err
	}
	if t := r.URL.Query().Get("credential_type"); t != apitype.CredentialTypePassword {
		return errorf(http.StatusBadRequest, "Invalid credential type")
	}
	if u.Username == CallerFrom(r.Context()).User.Username {
		return errorf(http.StatusBadRequest, "Cannot delete credential of authenticated user")
	}
	if _, err := s.setPassword(r.Context(), u.Username, ""); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getSelf(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, userJSON(CallerFrom(r.Context()).User))
	return nil
}

func (s *Server) listOwnCredentials(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, credentialsJSON(CallerFrom(r.Context()).User))
	return nil
}

func (s *Server) addOwnCredential(w http.ResponseWriter, r *http.Request) error {
	noteTarget(r, CallerFrom(r.Context()).User.Username)
	return s.replaceCredential(w, r, CallerFrom(r.Context()).User)
}
