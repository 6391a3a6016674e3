package tokenserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/audit"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/registries"
)

// Account deletion, as Anchore has it: DELETE marks a disabled account
// "deleting" (GET and list show it, nothing of it can be used); a
// background job removes its users, credentials and registries, then the
// account, and the name is free again. Anchore's job runs on the
// catalog's cycle timer; ours runs DeletionDelay after the mark, so that
// clients (and Anchore's own tests) can see the state. An account left
// "deleting" by a stop is finished at the next start.

// defaultDeletionDelay is how long an account stays "deleting" when
// Config.DeletionDelay is zero.
const defaultDeletionDelay = 5 * time.Second

// background runs the server's jobs and stops them on Close.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[string]bool // accounts with a deletion job
}

func newBackground() *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{ctx: ctx, cancel: cancel, active: map[string]bool{}}
}

// Close stops the background jobs and waits for them: an account being
// torn down is left "deleting" and finished at the next start.
func (s *Server) Close() {
	s.bg.cancel()
	s.bg.wg.Wait()
}

func errAccountDeleting(name string) error {
	return errorf(http.StatusBadRequest, "Account %s is being deleted", name)
}

// resumeDeletions schedules every account found "deleting" (New calls it).
func (s *Server) resumeDeletions(ctx context.Context) error {
	all, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range all {
		if a.State == apitype.AccountDeleting {
			s.scheduleDeletion(a.Name)
		}
	}
	return nil
}

// scheduleDeletion starts the teardown of name unless one runs.
func (s *Server) scheduleDeletion(name string) {
	b := s.bg
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active[name] || b.ctx.Err() != nil {
		return
	}
	b.active[name] = true
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() {
			b.mu.Lock()
			delete(b.active, name)
			b.mu.Unlock()
		}()
		delay := s.cfg.DeletionDelay
		if delay <= 0 {
			delay = defaultDeletionDelay
		}
		for {
			t := time.NewTimer(delay)
			select {
			case <-b.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			err := s.tearDown(b.ctx, name)
			if err == nil || b.ctx.Err() != nil {
				return
			}
			s.log.Warn("account deletion failed, retrying", "account", name, "err", err)
		}
	}()
}

// tearDown removes a "deleting" account's users, then its registries,
// then the account, each step its own write, as Anchore's job does.
func (s *Server) tearDown(ctx context.Context, name string) error {
	a, err := s.store.GetAccount(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.State != apitype.AccountDeleting {
		return nil // never: deleting is terminal
	}
	users, err := s.store.ListUsers(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	for _, u := range users {
		if err := s.store.DeleteUser(ctx, u.Username); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete user %s: %w", u.Username, err)
		}
	}
	regs, err := s.store.ListRegistries(ctx, name)
	if err != nil {
		return err
	}
	for _, reg := range regs {
		drop := func(*registries.Entry) (*registries.Entry, error) { return nil, nil }
		if err := s.store.ChangeRegistry(ctx, name, reg.Registry, drop); err != nil {
			return fmt.Errorf("delete registry %s: %w", reg.Registry, err)
		}
	}
	if err := s.store.DeleteAccount(ctx, name); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.log.Info("account deleted", "account", name, "users", len(users))
	s.cfg.Audit.Log(ctx, audit.Event{Action: "account.purge", Kind: audit.Change, Target: name, Code: http.StatusOK,
		Actor: audit.Actor{Transport: "internal", PeerUID: -1, PeerPID: -1}})
	return nil
}

// helperAccountUsable refuses the helper endpoints while the helper
// account is being deleted: nothing of a deleting account is served. The
// answer is the protocol's "not found" (the helper prints it; Docker then
// pulls anonymously), as once the teardown removed the entries.
func (s *Server) helperAccountUsable(ctx context.Context) error {
	a, err := s.store.GetAccount(ctx, s.helperAccount())
	if err == nil && a.State == apitype.AccountDeleting {
		return helperError(helper.ErrNotFound)
	}
	return nil // a missing account or a store error: the handler says so
}
