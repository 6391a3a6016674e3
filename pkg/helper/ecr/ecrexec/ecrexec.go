// Package ecrexec reaches AWS for docker-credential-anchore by running
// "anchored ecr", a hidden one-shot subcommand of the anchored binary (which
// links the AWS SDK anyway and ships in the same package), so that the
// helper links neither the SDK nor ecr-login and does not pay their package
// inits on every "get" (docs/ecr.md).
//
// The protocol is one JSON request on the child's stdin and one JSON reply
// on its stdout: secrets (the stored secret access key, the token) are only
// ever there, never in arguments or the environment. Errors in the reply
// carry a kind, so that errors.Is keeps working across the process boundary
// (ecr.ErrIAMAutoDisabled, ecr.ErrNotECR, ecr.ErrBadCredentials,
// ecr.ErrToken). Both ends of the protocol live here (Client and Serve), so
// they cannot drift apart; the AWS side that Serve is given is
// awsecr.Client.
package ecrexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/anchored/anchored/pkg/helper/ecr"
)

// Program and Subcommand are what Client runs.
const (
	Program    = "anchored"
	Subcommand = "ecr"
)

// ErrNoHelper: the anchored binary cannot be found. Its text is the whole
// message users see.
var ErrNoHelper = errors.New("cannot reach the ECR helper: anchored not found beside docker-credential-anchore or on PATH")

// ErrProtocol: the child did not answer as the protocol says (an anchored
// of another version, or one that failed before answering).
var ErrProtocol = errors.New("ECR helper (anchored ecr) failed")

// protocolVersion is checked by Serve; both binaries ship together, so a
// mismatch means a half-upgraded installation.
const protocolVersion = 1

// maxMessage bounds a request or reply: both are a few hundred bytes.
const maxMessage = 1 << 20

// Operations.
const (
	opParse = "parse"
	opFetch = "fetch"
)

type request struct {
	Version int    `json:"version"`
	Op      string `json:"op"`
	Host    string `json:"host"`
	User    string `json:"user,omitempty"`
	Pass    string `json:"pass,omitempty"`
}

type reply struct {
	Registry *ecr.Registry `json:"registry,omitempty"` // parse: the ECR host, nil when it is not one
	Token    *wireToken    `json:"token,omitempty"`    // fetch
	Error    *wireError    `json:"error,omitempty"`
}

type wireToken struct {
	Username      string    `json:"username"`
	Password      string    `json:"password"`
	ProxyEndpoint string    `json:"proxy_endpoint,omitempty"`
	ExpiresAt     time.Time `json:"expires_at"`
}

type wireError struct {
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message"`
}

// kinds maps the sentinels that cross the boundary to their wire names.
var kinds = []struct {
	name string
	err  error
}{
	{"iam_auto_disabled", ecr.ErrIAMAutoDisabled},
	{"not_ecr", ecr.ErrNotECR},
	{"bad_credentials", ecr.ErrBadCredentials},
	{"token", ecr.ErrToken},
}

func kindOf(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return ""
}

// remoteError is an error of the child, with its text unchanged and its
// sentinel (if any) reachable with errors.Is.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

func fromWire(w *wireError) error {
	e := &remoteError{msg: w.Message}
	for _, k := range kinds {
		if k.name == w.Kind {
			e.kind = k.err
		}
	}
	if e.msg == "" {
		e.msg = "ECR helper failed without a message"
	}
	return e
}

// Client implements ecr.AWS by running "anchored ecr" once per call.
type Client struct {
	// Path is the anchored binary; "" means Find.
	Path string
}

var _ ecr.AWS = Client{}

// Locate returns the anchored binary beside the running executable
// (symbolic links resolved, so a helper linked into ~/bin still finds the
// package's anchored), else the first on PATH, as an absolute path.
func Locate() (string, bool) {
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		p := filepath.Join(filepath.Dir(self), Program)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, true
		}
	}
	if p, err := exec.LookPath(Program); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, true
		}
	}
	return "", false
}

// Find is Locate for the ECR helper: ErrNoHelper when there is none.
func Find() (string, error) {
	if p, ok := Locate(); ok {
		return p, nil
	}
	return "", ErrNoHelper
}

// plausible is a necessary condition of ecr-login's pattern (every ECR host
// it accepts starts with a 12-digit account id and ".dkr"), checked without
// ecr-login so that no process is started for a host that cannot be ECR
// ("registry add" guessing the type of registry.example.com). It never
// turns down a host ecr-login would accept.
func plausible(host string) bool {
	h := ecr.HostName(host)
	if len(h) < 16 || h[12:16] != ".dkr" {
		return false
	}
	for i := range 12 {
		if h[i] < '0' || h[i] > '9' {
			return false
		}
	}
	return true
}

// Parse implements ecr.AWS.
func (c Client) Parse(ctx context.Context, host string) (ecr.Registry, bool, error) {
	if !plausible(host) {
		return ecr.Registry{}, false, nil
	}
	rep, err := c.call(ctx, request{Op: opParse, Host: host})
	if err != nil {
		return ecr.Registry{}, false, err
	}
	if rep.Registry == nil {
		return ecr.Registry{}, false, nil
	}
	return *rep.Registry, true, nil
}

// Fetch implements ecr.AWS.
func (c Client) Fetch(ctx context.Context, host string, creds ecr.Credentials) (ecr.Token, error) {
	if !plausible(host) {
		return ecr.Token{}, fmt.Errorf("%w: %q", ecr.ErrNotECR, host)
	}
	rep, err := c.call(ctx, request{Op: opFetch, Host: host, User: creds.User, Pass: creds.Pass})
	if err != nil {
		return ecr.Token{}, err
	}
	if rep.Token == nil {
		return ecr.Token{}, fmt.Errorf("%w: a reply without a token", ErrProtocol)
	}
	t := rep.Token
	return ecr.Token{Username: t.Username, Password: t.Password, ProxyEndpoint: t.ProxyEndpoint, ExpiresAt: t.ExpiresAt}, nil
}

// call runs the child with req on its stdin and decodes its reply. The
// child inherits the environment (AWS_* settings and endpoints) and nothing
// secret is added to it.
func (c Client) call(ctx context.Context, req request) (reply, error) {
	path := c.Path
	if path == "" {
		var err error
		if path, err = Find(); err != nil {
			return reply{}, err
		}
	}
	req.Version = protocolVersion
	in, err := json.Marshal(req)
	if err != nil {
		return reply{}, err
	}
	var out, stderr limitedBuffer
	out.max, stderr.max = maxMessage, 4096
	cmd := exec.CommandContext(ctx, path, Subcommand)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return reply{}, fmt.Errorf("%w: %w", ErrProtocol, ctx.Err())
	}
	var rep reply
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		// No reply: say why in one line (an old anchored's usage error,
		// a crash), which is the child's stderr, never a secret of ours.
		why := lastLine(stderr.String())
		if why == "" && runErr != nil {
			why = runErr.Error()
		}
		return reply{}, fmt.Errorf("%w: %s", ErrProtocol, why)
	}
	if rep.Error != nil {
		return reply{}, fromWire(rep.Error)
	}
	return rep, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// limitedBuffer keeps the first max bytes written and drops the rest, so a
// runaway child cannot exhaust memory.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Serve is the child's side: it reads one request from r, answers it with
// aws (awsecr.Client in anchored), and writes one reply to w. A request it
// cannot read is answered too, with an error, so the client always gets a
// reply; the returned error is only a failure to write it.
func Serve(ctx context.Context, aws ecr.AWS, r io.Reader, w io.Writer) error {
	rep := serve(ctx, aws, r)
	return json.NewEncoder(w).Encode(rep)
}

func serve(ctx context.Context, aws ecr.AWS, r io.Reader) reply {
	fail := func(err error) reply {
		return reply{Error: &wireError{Kind: kindOf(err), Message: err.Error()}}
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxMessage+1))
	if err != nil {
		return fail(fmt.Errorf("read request: %w", err))
	}
	if len(raw) > maxMessage {
		return fail(errors.New("request too long"))
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		// The decoder's message may quote the input; the input may hold a
		// secret. Say only that it was not understood.
		return fail(errors.New("request is not valid JSON"))
	}
	if req.Version != protocolVersion {
		return fail(fmt.Errorf("protocol version %d, this anchored speaks %d (are both binaries from the same release?)", req.Version, protocolVersion))
	}
	switch req.Op {
	case opParse:
		reg, ok, err := aws.Parse(ctx, req.Host)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return reply{}
		}
		return reply{Registry: &reg}
	case opFetch:
		t, err := aws.Fetch(ctx, req.Host, ecr.Credentials{User: req.User, Pass: req.Pass})
		if err != nil {
			return fail(err)
		}
		return reply{Token: &wireToken{Username: t.Username, Password: t.Password, ProxyEndpoint: t.ProxyEndpoint, ExpiresAt: t.ExpiresAt}}
	}
	return fail(fmt.Errorf("unknown operation %q", req.Op))
}
