package helperproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/anchored/anchored/internal/config"
	"github.com/anchored/anchored/internal/version"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/daemonclient"
)

// The credentials library prints these in "version" and its usage line; it
// reads them from package variables, as its own helpers set them with
// -ldflags -X (ecr-login sets them in init, as here).
func init() {
	credentials.Name = Name
	credentials.Package = "github.com/anchored/anchored"
	credentials.Version = version.Version
}

// protocolActions are handed to the credentials library.
var protocolActions = map[string]bool{"get": true, "store": true, "erase": true, "list": true, "version": true}

// IsProtocol reports whether args (args[0] is the program name) are one of
// the Docker protocol actions, which Run serves.
func IsProtocol(args []string) bool {
	return len(args) == 2 && protocolActions[args[1]]
}

// ActionTimeout bounds one protocol action, so that nothing (a wedged
// daemon, a vault lock held forever, AWS not answering) hangs a pull for
// good. It covers the worst legitimate action: a daemon that does not
// answer (daemonclient.DefaultTimeout), then a direct-mode ECR fetch
// (ecr.DefaultFetchTimeout) with its lock wait.
const ActionTimeout = 2 * time.Minute

// Run serves one Docker protocol action through the credentials library's
// HandleCommand, which does the framing (and its own errors: empty input,
// bad JSON, over-long lines) exactly as Docker's reference helpers do, and
// returns the exit code. The action is bounded by ActionTimeout (a runtime
// timer: no goroutine, nothing measurable at start).
func Run(ctx context.Context, action string, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	ctx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	h := &protocolHelper{ctx: ctx, backend: chooseBackend(ctx, &env), stderr: env.Stderr}
	if err := credentials.HandleCommand(h, action, env.Stdin, env.Stdout); err != nil {
		fmt.Fprintln(env.Stdout, err)
		return 1
	}
	return 0
}

// Backend is the backend the protocol actions use (chooseBackend), for the
// other entry points that must answer exactly as "get" does (the kubelet
// credential provider, internal/credprovider).
func Backend(ctx context.Context, env *Env) helper.Backend { return chooseBackend(ctx, env) }

// chooseBackend is the one place that decides where the protocol actions
// go: anchored over its socket when it answers, else the vault in process
// (SPEC section 3: the answer is the same either way). A daemon whose
// socket accepts but does not answer is passed over for the vault, with one
// line on stderr saying so. A configuration that cannot be loaded gives a
// backend that is unavailable, so "get" still answers not-found.
func chooseBackend(ctx context.Context, env *Env) helper.Backend {
	s, err := Resolve(config.Flags{}, env.Getenv)
	if err != nil {
		return unavailableBackend{helper.Unavailable(err)}
	}
	return &daemonclient.Fallback{
		Daemon: &daemonclient.Client{Socket: s.Paths.Socket},
		Direct: s.VaultBackend(env, s.HelperAccount()),
		Warn:   func(msg string) { fmt.Fprintf(env.Stderr, "%s: %s\n", Name, msg) },
	}
}

// unavailableBackend answers every action with its error.
type unavailableBackend struct{ err error }

func (b unavailableBackend) Get(context.Context, string) (helper.Credentials, error) {
	return helper.Credentials{}, b.err
}
func (b unavailableBackend) Store(context.Context, helper.Credentials) error { return b.err }
func (b unavailableBackend) Erase(context.Context, string) error             { return b.err }
func (b unavailableBackend) List(context.Context) (map[string]string, error) { return nil, b.err }

// protocolHelper adapts a Backend to the credentials library's Helper and
// applies the protocol's error rules (SPEC section 3).
type protocolHelper struct {
	ctx     context.Context
	backend helper.Backend
	stderr  io.Writer
}

var _ credentials.Helper = (*protocolHelper)(nil)

// Get answers the library's exact not-found error when nothing matches, and
// also when the store cannot be used at all: clients treat only that text
// as "no credentials", so a locked vault must not break anonymous pulls.
// The real cause goes to stderr, which clients show. A known entry that
// cannot be served (an ECR failure) is a real error.
func (h *protocolHelper) Get(serverURL string) (string, string, error) {
	c, err := h.backend.Get(h.ctx, serverURL)
	switch {
	case err == nil:
		return c.Username, c.Secret, nil
	case errors.Is(err, helper.ErrNotFound):
		return "", "", credentials.NewErrCredentialsNotFound()
	case errors.Is(err, helper.ErrUnavailable):
		h.warn(err)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	return "", "", oneLine(err)
}

// Add stores credentials as sent; an identity token (Username "<token>")
// is kept as it is.
func (h *protocolHelper) Add(c *credentials.Credentials) error {
	return oneLine(h.backend.Store(h.ctx, helper.Credentials{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret}))
}

// Delete erases exactly the normalised key; erasing what is not there
// succeeds, because "docker logout" and "skopeo logout" fail otherwise.
func (h *protocolHelper) Delete(serverURL string) error {
	return oneLine(h.backend.Erase(h.ctx, serverURL))
}

// List answers an empty object when the store cannot be used, for the same
// reason as Get: the legacy builder lists before every build.
func (h *protocolHelper) List() (map[string]string, error) {
	m, err := h.backend.List(h.ctx)
	if errors.Is(err, helper.ErrUnavailable) {
		h.warn(err)
		return map[string]string{}, nil
	}
	return m, oneLine(err)
}

func (h *protocolHelper) warn(err error) {
	fmt.Fprintf(h.stderr, "%s: %v\n", Name, oneLine(err))
}

// oneLine keeps an error on one line: clients show stdout and stderr as
// one line each.
func oneLine(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.ContainsAny(msg, "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(msg), " "))
}
