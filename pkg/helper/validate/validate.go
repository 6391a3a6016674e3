// Package validate checks registry credentials against the registry before
// they are stored, as Anchore does on "registry add". It is apart from
// pkg/helper because it needs net/http and crypto/tls, which the binary
// Docker starts for every pull must not link (BENCHMARKS.md).
package validate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/anchored/anchored/pkg/helper"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/registries"
)

// ErrFailed: the registry refused the credentials, or could not be
// asked. "registry add" adds nothing when it is returned.
var ErrFailed = errors.New("cannot validate registry credentials")

// SkipHint is how to add an entry without validating it, for a registry
// that cannot be reached from here.
const SkipHint = "to add it without this check: registry add --skip-validate, or validate=false in the API"

// Validator checks credentials against a registry before they are stored,
// as Anchore does on "registry add": GET https://host/v2/, then the
// WWW-Authenticate challenge (Basic: the same URL with Basic auth; Bearer:
// the realm with service and scope, with Basic auth). For awsecr entries it
// fetches an ECR token instead.
type Validator struct {
	// Transport carries the requests; nil means http.DefaultTransport.
	// Injected so tests trust their own CA.
	Transport http.RoundTripper
	// Resolver fetches ECR tokens for awsecr entries; nil refuses them.
	Resolver *ecr.Resolver
	// Account owns the entry (the ECR token cache key names it).
	Account string
	// Timeout bounds the whole check; 0 means 30 seconds.
	Timeout time.Duration
}

// Check validates e. e.Verify false skips TLS verification (--insecure).
func (v Validator) Check(ctx context.Context, e registries.Entry) error {
	timeout := v.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key := registries.EntryKey(e.Registry)
	host, _, _ := strings.Cut(key, "/")
	if e.Type == registries.TypeAWSECR {
		if v.Resolver == nil {
			return fmt.Errorf("%w: no ECR resolver", ErrFailed)
		}
		// Check always asks AWS: a token cached under the same key id must not
		// vouch for a new, possibly wrong, secret.
		if _, err := v.Resolver.Check(ctx, v.Account, host, ecr.Credentials{User: e.User, Pass: e.Pass}); err != nil {
			if errors.Is(err, ecr.ErrIAMAutoDisabled) {
				return err
			}
			return fmt.Errorf("%w: cannot refresh credentials for supplied registry, with supplied credentials: %w", ErrFailed, err)
		}
		return nil
	}
	if strings.ContainsAny(host, "*") {
		return fmt.Errorf("%w: %q has a wildcard in its host; use --skip-validate", ErrFailed, e.Registry)
	}
	client := &http.Client{Transport: v.transport(!e.Verify)}
	return ping(ctx, client, host, e.User, e.Pass)
}

func (v Validator) transport(insecure bool) http.RoundTripper {
	rt := v.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if !insecure {
		return rt
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return rt
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.InsecureSkipVerify = true // the user asked: --insecure
	return t
}

// registryBase is the URL validation talks to: Docker Hub's API host for
// docker.io (Anchore maps it too, anchore-engine #52), else https://host.
func registryBase(host string) string {
	if host == helper.DockerHub {
		host = "registry-1.docker.io"
	}
	return "https://" + host
}

func ping(ctx context.Context, c *http.Client, host, user, pass string) error {
	base := registryBase(host)
	u := base + "/v2/"
	resp, err := get(ctx, c, u, "", "")
	if err != nil {
		// A registry this machine cannot reach (yet) is the common case
		// on a first "registry add": say how to store the entry anyway.
		return fmt.Errorf("%w: cannot ping %s: %w (%s)", ErrFailed, u, err, SkipHint)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		// The registry asks for no credentials: nothing to check.
		return nil
	case http.StatusUnauthorized:
	default:
		return fmt.Errorf("%w: %s answered %s", ErrFailed, u, resp.Status)
	}
	scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	invalid := fmt.Errorf("%w: cannot login to registry user=%s registry=%s - invalid username/password", ErrFailed, user, base)
	switch scheme {
	case "basic":
		resp, err := get(ctx, c, u, user, pass)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFailed, err)
		}
		if resp.StatusCode != http.StatusOK {
			return invalid
		}
		return nil
	case "bearer":
		realm, err := url.Parse(params["realm"])
		if err != nil || params["realm"] == "" || (realm.Scheme != "https" && realm.Scheme != "http") {
			return fmt.Errorf("%w: registry %s sent a Bearer challenge without a usable realm", ErrFailed, base)
		}
		q := realm.Query()
		for _, k := range []string{"service", "scope"} {
			if params[k] != "" {
				q.Set(k, params[k])
			}
		}
		realm.RawQuery = q.Encode()
		resp, err := get(ctx, c, realm.String(), user, pass)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFailed, err)
		}
		if resp.StatusCode != http.StatusOK {
			return invalid
		}
		return nil
	}
	return fmt.Errorf("%w: registry %s sent an unsupported challenge %q", ErrFailed, base, scheme)
}

// get does one GET, with Basic auth when user is set, and drains the body
// (bounded) so the connection can be reused.
func get(ctx context.Context, c *http.Client, u, user, pass string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp, nil
}

// parseChallenge parses one WWW-Authenticate challenge: the scheme
// (lowercased) and its parameters, values unquoted. Quoted values may hold
// commas (a scope lists actions: "repository:x:pull,push").
func parseChallenge(h string) (scheme string, params map[string]string) {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	params = map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(name))
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			val, rest = b.String(), after[min(i+1, len(after)):]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			val = strings.TrimSpace(val)
		}
		params[name] = val
		rest = strings.TrimPrefix(strings.TrimSpace(rest), ",")
	}
	return strings.ToLower(scheme), params
}
