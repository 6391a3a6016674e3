// Package credprovider is anchore-credential-provider: the kubelet's image
// credential provider exec plugin (credentialprovider.kubelet.k8s.io/v1)
// over the same entries and the same backend as docker-credential-anchore
// "get": anchored's socket when it answers, else the vault in process.
//
// The kubelet writes a CredentialProviderRequest naming the image on
// stdin and reads a CredentialProviderResponse on stdout. The answer holds
// the credentials of the entry that answers the image by the lookup rule
// (SPEC section 3), under an auth key the kubelet matches to the images
// that entry covers, cached for as long as they stay good (docs/kubelet.md).
package credprovider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"

	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/internal/version"
	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/registries"
)

// Name is the binary's name, as a CredentialProviderConfig names it.
const Name = "anchore-credential-provider"

// DefaultStaticCacheDuration is how long the kubelet keeps a stored
// (static) password: a password changed in the vault reaches new pulls
// within it. --static-cache-duration changes it.
const DefaultStaticCacheDuration = 10 * time.Minute

// Errors of a request the provider cannot answer.
var (
	// ErrBadRequest: stdin is not a v1 CredentialProviderRequest.
	ErrBadRequest = errors.New("not a credentialprovider.kubelet.k8s.io/v1 CredentialProviderRequest")
	// ErrBadImage: the request's image is not an image reference.
	ErrBadImage = errors.New("not an image reference")
)

// Exit codes: the kubelet treats any failure as "no credentials from this
// plugin" and logs stderr.
const (
	ExitOK     = 0
	ExitFailed = 1 // the request could not be answered (bad request, ECR failure)
	ExitUsage  = 2 // bad command line
)

// Main runs the provider with args (args[0] is the program name) and
// returns the exit code. Errors are one line on stderr.
func Main(ctx context.Context, args []string, env helperproto.Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	fs := flag.NewFlagSet(Name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	static := fs.Duration("static-cache-duration", DefaultStaticCacheDuration, "how long the kubelet may cache a stored password (ECR tokens: their remaining life less 30m)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: %s [--static-cache-duration D]\n\nThe kubelet's image credential provider (credentialprovider.kubelet.k8s.io/v1): a\nCredentialProviderRequest on stdin, a CredentialProviderResponse on stdout, answered from\ndocker-credential-anchore's entries (anchored's socket, else the vault). See docs/kubelet.md.\n\n", Name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if *showVersion {
		fmt.Fprintf(env.Stdout, "%s %s\n", Name, version.Version)
		return ExitOK
	}
	if fs.NArg() != 0 || *static < 0 {
		fmt.Fprintf(env.Stderr, "Error: usage: %s [--static-cache-duration D] (a request on stdin)\n", Name)
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, helperproto.ActionTimeout)
	defer cancel()
	p := Provider{Backend: helperproto.Backend(ctx, &env), Now: env.Now, StaticCacheDuration: *static, Warn: func(err error) {
		fmt.Fprintf(env.Stderr, "%s: %s\n", Name, oneLine(err))
	}}
	resp, err := p.Answer(ctx, env.Stdin)
	if err != nil {
		fmt.Fprintf(env.Stderr, "Error: %s\n", oneLine(err))
		return ExitFailed
	}
	if err := json.NewEncoder(env.Stdout).Encode(resp); err != nil {
		fmt.Fprintf(env.Stderr, "Error: write response: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// Provider answers CredentialProviderRequests from a helper Backend.
type Provider struct {
	Backend helper.Backend
	Now     func() time.Time
	// StaticCacheDuration is the cacheDuration of stored passwords.
	StaticCacheDuration time.Duration
	// Warn reports why an answer is "no credentials" when the store could
	// not be used (a locked vault), as "get" does on stderr.
	Warn func(error)
}

// Answer reads one request from r and returns the response. An image no
// entry answers, or a store that cannot be used, gets the kubelet's "no
// credentials" (no auth, not cached): anonymous pulls keep working, and
// an entry added later is used at once.
func (p *Provider) Answer(ctx context.Context, r io.Reader) (*v1.CredentialProviderResponse, error) {
	var req v1.CredentialProviderRequest
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if req.APIVersion != v1.SchemeGroupVersion.String() || req.Kind != "CredentialProviderRequest" {
		return nil, fmt.Errorf("%w: apiVersion %q kind %q", ErrBadRequest, req.APIVersion, req.Kind)
	}
	ref, err := ImageKey(req.Image)
	if err != nil {
		return nil, err
	}
	k, err := helper.Normalize(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrBadImage, req.Image, err)
	}
	// Which entry answers (for the auth key): the lookup rule over the
	// entries' keys. List, never a secret, is what the backend offers.
	list, err := p.Backend.List(ctx)
	if err != nil {
		return p.none(err)
	}
	entries := make([]registries.Entry, 0, len(list))
	for serverURL := range list {
		if ek, err := helper.Normalize(serverURL); err == nil {
			entries = append(entries, registries.Entry{Registry: ek.Key})
		}
	}
	entry, ok := registries.Lookup(entries, k)
	if !ok {
		return p.none(nil)
	}
	c, err := p.Backend.Get(ctx, ref)
	if err != nil {
		return p.none(err)
	}
	key, kind := AuthKey(entry.Registry, k)
	d := p.cacheDuration(c)
	return &v1.CredentialProviderResponse{
		TypeMeta:      response(),
		CacheKeyType:  kind,
		CacheDuration: &metav1.Duration{Duration: d},
		Auth:          map[string]v1.AuthConfig{key: {Username: c.Username, Password: c.Secret}},
	}, nil
}

// none is the "no credentials" answer for a miss (err nil or not found)
// or an unusable store (reported through Warn); any other error (an ECR
// entry whose token cannot be had) fails the request.
func (p *Provider) none(err error) (*v1.CredentialProviderResponse, error) {
	switch {
	case err == nil, errors.Is(err, helper.ErrNotFound):
	case errors.Is(err, helper.ErrUnavailable):
		if p.Warn != nil {
			p.Warn(err)
		}
	default:
		return nil, err
	}
	return &v1.CredentialProviderResponse{
		TypeMeta:      response(),
		CacheKeyType:  v1.RegistryPluginCacheKeyType,
		CacheDuration: &metav1.Duration{},
	}, nil
}

func response() metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1.SchemeGroupVersion.String(), Kind: "CredentialProviderResponse"}
}

// cacheDuration: an ECR token's remaining life less the renewal margin
// (ecr.RenewBefore: the window in which the helper itself would fetch a
// new one), never negative; any other entry StaticCacheDuration.
func (p *Provider) cacheDuration(c helper.Credentials) time.Duration {
	exp, ok := ECRTokenExpiry(c.Username, c.Secret)
	if !ok {
		return p.StaticCacheDuration
	}
	return max(exp.Sub(p.Now())-ecr.RenewBefore, 0)
}

// ECRTokenExpiry reads the expiry an ECR authorization token carries: its
// password is base64 of a JSON object whose "expiration" is Unix seconds
// (what GetAuthorizationToken issues, and what "aws ecr
// get-login-password" prints). It works the same for a token served by
// anchored, by the vault's cache, or stored with "docker login".
func ECRTokenExpiry(user, password string) (time.Time, bool) {
	if user != "AWS" {
		return time.Time{}, false
	}
	raw, err := base64.StdEncoding.DecodeString(password)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(password); err != nil {
			return time.Time{}, false
		}
	}
	var tok struct {
		Payload    string `json:"payload"`
		Expiration int64  `json:"expiration"`
	}
	if json.Unmarshal(raw, &tok) != nil || tok.Payload == "" || tok.Expiration <= 0 {
		return time.Time{}, false
	}
	return time.Unix(tok.Expiration, 0), true
}

// ImageKey turns the kubelet's image ("registry:5000/team/app:1.0",
// "nginx", "x@sha256:...") into the helper's host/repository form, as
// Docker names it: no tag or digest, Docker Hub's short names spelled out.
func ImageKey(image string) (string, error) {
	s := strings.TrimSpace(image)
	if s == "" || strings.Contains(s, "://") || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%w: %q", ErrBadImage, image)
	}
	s, _, _ = strings.Cut(s, "@")
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		s = s[:i]
	}
	first, rest, ok := strings.Cut(s, "/")
	switch {
	case !ok:
		s = helper.DockerHub + "/library/" + s
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		s = helper.DockerHub + "/" + s
	case rest == "":
		return "", fmt.Errorf("%w: %q names no repository", ErrBadImage, image)
	}
	if strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return "", fmt.Errorf("%w: %q", ErrBadImage, image)
	}
	return s, nil
}

// AuthKey is the kubelet auth key and cache key type for an answer from
// entry (a vault key) to the image key k. The kubelet matches a key to an
// image by host (per-label globs, same port) and path prefix, so:
//
//   - a host entry ("reg:5000", "docker.io"): that host, Registry;
//   - a wildcard over a path ("reg/team/*"): the path before the "*",
//     which the kubelet matches as a prefix exactly as the lookup rule
//     does, Image (a Registry-wide cache would hand this answer to images
//     of the host outside the path, which another entry may answer);
//   - a wildcard over hosts ("*", "123...amazonaws.com*"): the kubelet has
//     no such glob, so the image's own host, Registry;
//   - an entry for one repository ("reg/team/app"): that key, Image.
func AuthKey(entry string, k helper.Key) (string, v1.PluginCacheKeyType) {
	if prefix, ok := strings.CutSuffix(entry, "*"); ok {
		if strings.Contains(prefix, "/") {
			return prefix, v1.ImagePluginCacheKeyType
		}
		return k.Host, v1.RegistryPluginCacheKeyType
	}
	if entry == k.Host {
		return k.Host, v1.RegistryPluginCacheKeyType
	}
	return entry, v1.ImagePluginCacheKeyType
}

// oneLine keeps an error on one line for the kubelet's log.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
