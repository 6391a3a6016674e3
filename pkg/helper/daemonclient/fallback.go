package daemonclient

import (
	"context"
	"errors"

	"github.com/anchored/anchored/pkg/helper"
)

// Fallback is the helper's backend choice (SPEC section 3): the daemon when
// its socket answers, the vault in process otherwise. Only "nobody is
// listening" falls back: an answer from the daemon, error or not, is the
// answer, so the two paths never disagree about one request.
type Fallback struct {
	Daemon *Client
	Direct helper.Backend
}

var _ helper.Backend = (*Fallback)(nil)

func notRunning(err error) bool { return errors.Is(err, ErrNotRunning) }

// Get implements helper.Backend.
func (f *Fallback) Get(ctx context.Context, serverURL string) (helper.Credentials, error) {
	c, err := f.Daemon.Get(ctx, serverURL)
	if notRunning(err) {
		return f.Direct.Get(ctx, serverURL)
	}
	return c, err
}

// Store implements helper.Backend.
func (f *Fallback) Store(ctx context.Context, c helper.Credentials) error {
	err := f.Daemon.Store(ctx, c)
	if notRunning(err) {
		return f.Direct.Store(ctx, c)
	}
	return err
}

// Erase implements helper.Backend.
func (f *Fallback) Erase(ctx context.Context, serverURL string) error {
	err := f.Daemon.Erase(ctx, serverURL)
	if notRunning(err) {
		return f.Direct.Erase(ctx, serverURL)
	}
	return err
}

// List implements helper.Backend.
func (f *Fallback) List(ctx context.Context) (map[string]string, error) {
	m, err := f.Daemon.List(ctx)
	if notRunning(err) {
		return f.Direct.List(ctx)
	}
	return m, err
}
