package helper

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors of key normalisation.
var (
	// ErrNoServerURL: the server URL is empty or has no host.
	ErrNoServerURL = errors.New("no registry host in server URL")
	// ErrUnsupportedScheme: a scheme other than http or https.
	ErrUnsupportedScheme = errors.New("unsupported scheme in server URL")
	// ErrInvalidName: a registry name or server URL with control
	// characters, spaces, invalid UTF-8 or user information (CheckText).
	ErrInvalidName = errors.New("invalid registry name or server URL")
)

// CheckText refuses what never names a registry and would be kept in a
// key, shown by "list" or answered by the API: control characters (any C0,
// DEL), spaces, invalid UTF-8, and user information ("user:pass@host").
// User information is refused rather than stripped (docs/helper.md): a
// URL carrying a password is a mistake to report, and stripping it would
// store credentials the user did not mean to give. The messages never
// repeat the input, which may hold that password.
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("%w: contains a control character", ErrInvalidName)
		case unicode.IsSpace(r):
			return fmt.Errorf("%w: contains a space", ErrInvalidName)
		}
	}
	rest := s
	if _, after, ok := strings.Cut(rest, "://"); ok {
		rest = after
	}
	host, _, _ := strings.Cut(rest, "/")
	if strings.Contains(host, "@") {
		return fmt.Errorf("%w: contains user information (user@ or user:password@); give the user and password as credentials", ErrInvalidName)
	}
	return nil
}

// DockerHub is the key of Docker Hub, as Anchore keys it.
const DockerHub = "docker.io"

// dockerHubAliases are the host names clients use for Docker Hub.
var dockerHubAliases = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// Key is a server URL in normal form (SPEC section 3).
type Key struct {
	// Key is the normalised text: host[:port][/path].
	Key string
	// Host is the normalised host[:port] part.
	Host string
	// Path is what follows Host ("" or starting with "/").
	Path string
	// Scheme reports whether the client sent an http:// or https:// prefix.
	// A key with a scheme and a path (Docker Hub's .../access-token) matches
	// only itself.
	Scheme bool
}

// Normalize turns a server URL as a client sends it into its key: trim;
// drop http(s)://; lowercase the host; drop ":443"; drop trailing "/" and a
// lone "/v1" or "/v2" path; map Docker Hub's aliases to "docker.io". Any
// other path stays, so ".../v1/access-token" and ".../v1/refresh-token"
// keep their own entries.
func Normalize(serverURL string) (Key, error) {
	s := strings.TrimSpace(serverURL)
	if err := CheckText(s); err != nil {
		return Key{}, err
	}
	var k Key
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := strings.ToLower(s[:i])
		if scheme != "http" && scheme != "https" {
			return Key{}, fmt.Errorf("%w: %q (want http or https)", ErrUnsupportedScheme, scheme)
		}
		k.Scheme = true
		s = s[i+len("://"):]
		// A URL may carry a query or fragment; neither names a registry.
		if j := strings.IndexAny(s, "?#"); j >= 0 {
			s = s[:j]
		}
	}
	host, path := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		host, path = s[:i], s[i:]
	}
	host = NormalizeHost(host)
	if host == "" {
		return Key{}, fmt.Errorf("%w: %q", ErrNoServerURL, serverURL)
	}
	path = strings.TrimRight(path, "/")
	if path == "/v1" || path == "/v2" {
		path = ""
	}
	k.Host, k.Path, k.Key = host, path, host+path
	return k, nil
}

// NormalizeHost lowercases a host[:port], drops ":443" and maps Docker
// Hub's aliases.
func NormalizeHost(host string) string {
	host = strings.ToLower(host)
	host = strings.TrimSuffix(host, ":443")
	if dockerHubAliases[host] {
		return DockerHub
	}
	return host
}

// HasRepoPath reports whether the key was sent in crane's host/repo form:
// no scheme, with a path. Only such keys fall back to their host's entry.
func (k Key) HasRepoPath() bool { return !k.Scheme && k.Path != "" }
