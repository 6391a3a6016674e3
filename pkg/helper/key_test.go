package helper

import (
	"errors"
	"testing"

	"github.com/anchored/anchored/pkg/vault"
)

// The server-URL forms real clients send (SPEC section 3, reference
// section 2.7) and their keys.
func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, key string
		scheme  bool
	}{
		{"registry.example.com", "registry.example.com", false},
		{"registry.example.com:5000", "registry.example.com:5000", false},
		{"[::1]:5000", "[::1]:5000", false},
		{"https://index.docker.io/v1/", "docker.io", true},
		{"https://index.docker.io/v1", "docker.io", true},
		{"docker.io", "docker.io", false},
		{"index.docker.io", "docker.io", false},
		{"registry-1.docker.io", "docker.io", false},
		{"https://index.docker.io/v1/access-token", "docker.io/v1/access-token", true},
		{"https://index.docker.io/v1/refresh-token", "docker.io/v1/refresh-token", true},
		{"https://registry.example.com:5000/v2/", "registry.example.com:5000", true},
		{"http://registry.example.com:5000", "registry.example.com:5000", true},
		{"https://registry.example.com:443", "registry.example.com", true},
		{"registry.example.com:443", "registry.example.com", false},
		{"Registry.Example.COM", "registry.example.com", false},
		{"HTTPS://Registry.Example.COM/V2/", "registry.example.com/V2", true},
		{"registry.example.com:5000/ns/app", "registry.example.com:5000/ns/app", false},
		{"index.docker.io/library/busybox", "docker.io/library/busybox", false},
		{"  registry.example.com \n", "registry.example.com", false},
		{"https://registry.example.com/v2/?x=1", "registry.example.com", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			k, err := Normalize(tc.in)
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tc.in, err)
			}
			if k.Key != tc.key || k.Scheme != tc.scheme {
				t.Errorf("Normalize(%q) = %q (scheme %v), want %q (scheme %v)", tc.in, k.Key, k.Scheme, tc.key, tc.scheme)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
		msg  string
	}{
		{"ftp://registry.example.com", ErrUnsupportedScheme, `unsupported scheme in server URL: "ftp" (want http or https)`},
		{"oci://registry.example.com", ErrUnsupportedScheme, `unsupported scheme in server URL: "oci" (want http or https)`},
		{"https://", ErrNoServerURL, `no registry host in server URL: "https://"`},
		{"   ", ErrNoServerURL, `no registry host in server URL: "   "`},
		{"/v2/", ErrNoServerURL, `no registry host in server URL: "/v2/"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Normalize(tc.in)
			if !errors.Is(err, tc.want) || err.Error() != tc.msg {
				t.Errorf("Normalize(%q) error = %v, want %q", tc.in, err, tc.msg)
			}
		})
	}
}

// What each client form finds among a realistic set of entries: Docker
// Hub's password entry, its OAuth token entries, a host entry with a port,
// an IPv6 registry, a wildcard and a longer repository entry.
func TestLookup(t *testing.T) {
	entries := map[string]*vault.Registry{}
	for _, k := range []string{
		"docker.io",
		"docker.io/v1/access-token",
		"docker.io/v1/refresh-token",
		"registry.example.com:5000",
		"[::1]:5000",
		"quay.io/vendor/*",
		"quay.io/vendor/special/app",
		"gcr.io/*",
		"registry.example.com",
	} {
		entries[k] = &vault.Registry{Registry: k}
	}
	for _, tc := range []struct {
		in   string
		want string // "" = not found
	}{
		{"https://index.docker.io/v1/", "docker.io"},
		{"docker.io", "docker.io"},
		{"index.docker.io", "docker.io"},
		{"registry-1.docker.io", "docker.io"},
		{"https://index.docker.io/v1/access-token", "docker.io/v1/access-token"},
		{"https://index.docker.io/v1/refresh-token", "docker.io/v1/refresh-token"},
		// A scheme and a path match only themselves: never the Hub password.
		{"https://index.docker.io/v1/other-token", ""},
		// crane: host/repo first, falling back to the host's entry.
		{"index.docker.io/library/busybox", "docker.io"},
		{"registry.example.com:5000/ns/app", "registry.example.com:5000"},
		{"https://registry.example.com:5000/v2/", "registry.example.com:5000"},
		{"http://registry.example.com:5000", "registry.example.com:5000"},
		{"[::1]:5000", "[::1]:5000"},
		{"REGISTRY.example.com:5000", "registry.example.com:5000"},
		{"registry.example.com:443", "registry.example.com"},
		{"registry.example.com:5000 \n", "registry.example.com:5000"},
		{"registry.example.com:5001", ""},
		// Wildcards: a prefix of key+"/", longest entry first.
		{"quay.io/vendor/app", "quay.io/vendor/*"},
		{"quay.io/vendor/special/app", "quay.io/vendor/special/app"},
		{"quay.io/vendor", "quay.io/vendor/*"},
		{"quay.io/vendorx/app", ""},
		{"quay.io", ""},
		{"gcr.io", "gcr.io/*"},
		{"gcr.io/project/app", "gcr.io/*"},
		{"https://gcr.io/v2/", "gcr.io/*"},
		{"example.com", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			k, err := Normalize(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := Lookup(entries, k)
			got := ""
			if ok {
				got = r.Registry
			}
			if got != tc.want {
				t.Errorf("Lookup(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Anchore's own rule examples (anchore-engine auth tests): longest first,
// and a bare "*" matches everything no other entry takes.
func TestLookupLongestFirst(t *testing.T) {
	entries := map[string]*vault.Registry{
		"*":                       {Registry: "*"},
		"docker.io/*":             {Registry: "docker.io/*"},
		"docker.io/library/*":     {Registry: "docker.io/library/*"},
		"docker.io/myuser/myrepo": {Registry: "docker.io/myuser/myrepo"},
	}
	for _, tc := range []struct{ in, want string }{
		{"docker.io/library/centos", "docker.io/library/*"},
		{"docker.io/myuser/myrepo", "docker.io/myuser/myrepo"},
		{"docker.io/myuser/myrepo2", "docker.io/*"},
		{"gcr.io/myproject/app", "*"},
		{"https://index.docker.io/v1/", "docker.io/*"},
	} {
		k, err := Normalize(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := Lookup(entries, k)
		if !ok || r.Registry != tc.want {
			t.Errorf("Lookup(%q) = %v, want %q", tc.in, r, tc.want)
		}
	}
}
