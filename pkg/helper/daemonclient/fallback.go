package daemonclient

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/anchored/anchored/pkg/helper"
)

// Fallback is the helper's backend choice (SPEC section 3): the daemon when
// its socket answers, the vault in process otherwise. "Otherwise" is
// nobody listening (silently: the daemon is simply not running), and a
// socket that accepts but gives no HTTP answer, closed, reset or silent
// past the client's deadline (said once through Warn: something is wrong
// with the daemon, and a pull should not break for it). Any HTTP answer
// from the daemon, error or not, is the answer, so the two paths never
// disagree about one request.
//
// Use a Fallback by pointer and do not copy it after first use.
type Fallback struct {
	Daemon *Client
	Direct helper.Backend
	// Warn, if set, gets one line, once, when a daemon that did not answer
	// is passed over for the vault. It holds the socket's path and the
	// network error, never a secret.
	Warn func(msg string)

	// skip is set once the daemon did not answer: the rest of this
	// Fallback's calls go to the vault without waiting on it again.
	skip atomic.Bool
}

var _ helper.Backend = (*Fallback)(nil)

// useDirect reports whether err means the vault must answer instead, and
// says why the first time a daemon did not answer.
func (f *Fallback) useDirect(err error) bool {
	if !errors.Is(err, ErrNotRunning) {
		return false
	}
	if errors.Is(err, ErrNoAnswer) && !f.skip.Swap(true) && f.Warn != nil {
		f.Warn(err.Error() + "; using the vault")
	}
	return true
}

// Get implements helper.Backend.
func (f *Fallback) Get(ctx context.Context, serverURL string) (helper.Credentials, error) {
	if f.skip.Load() {
		return f.Direct.Get(ctx, serverURL)
	}
	c, err := f.Daemon.Get(ctx, serverURL)
	if f.useDirect(err) {
		return f.Direct.Get(ctx, serverURL)
	}
	return c, err
}

// Store implements helper.Backend. Storing what the daemon may have stored
// before it failed to answer is safe: storing the same entry twice succeeds.
func (f *Fallback) Store(ctx context.Context, c helper.Credentials) error {
	if f.skip.Load() {
		return f.Direct.Store(ctx, c)
	}
	err := f.Daemon.Store(ctx, c)
	if f.useDirect(err) {
		return f.Direct.Store(ctx, c)
	}
	return err
}

// Erase implements helper.Backend. As for Store, erasing twice is safe.
func (f *Fallback) Erase(ctx context.Context, serverURL string) error {
	if f.skip.Load() {
		return f.Direct.Erase(ctx, serverURL)
	}
	err := f.Daemon.Erase(ctx, serverURL)
	if f.useDirect(err) {
		return f.Direct.Erase(ctx, serverURL)
	}
	return err
}

// List implements helper.Backend.
func (f *Fallback) List(ctx context.Context) (map[string]string, error) {
	if f.skip.Load() {
		return f.Direct.List(ctx)
	}
	m, err := f.Daemon.List(ctx)
	if f.useDirect(err) {
		return f.Direct.List(ctx)
	}
	return m, err
}
