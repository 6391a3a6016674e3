package tokenserver

import (
	"context"
	"errors"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
)

// Bootstrap creates the admin account and user on a store that has no
// admin account yet, as Anchore does from default_admin_password. It
// reports whether it created them; an existing admin is left untouched
// (changing default_admin_password later changes nothing, as in Anchore).
func (s *Server) Bootstrap(ctx context.Context, password, email string) (bool, error) {
	if _, err := s.store.GetAccount(ctx, "admin"); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if password == "" {
		return false, errors.New("no admin account and no default_admin_password to create it with")
	}
	if validPassword(password) != nil {
		return false, errors.New("default_admin_password must be at least 6 characters on one line")
	}
	if email == "" {
		email = "admin@myanchore"
	}
	now := s.now().UTC().Truncate(time.Second)
	a := Account{Name: "admin", Email: email, Type: apitype.AccountTypeAdmin, State: apitype.AccountEnabled, CreatedAt: now, LastUpdated: now}
	if err := s.store.CreateAccount(ctx, a); err != nil && !errors.Is(err, ErrAlreadyExists) {
		return false, err
	}
	u, err := s.NewUser(ctx, "admin", "admin", password)
	if err != nil {
		return false, err
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrAlreadyExists) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
