package registries

import (
	"testing"

	"github.com/anchored/anchored/pkg/helper"
)

func TestLookup(t *testing.T) {
	var entries []Entry
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
		entries = append(entries, Entry{Registry: k})
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
			k, err := helper.Normalize(tc.in)
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
	var entries []Entry
	for _, k := range []string{
		"*",
		"docker.io/*",
		"docker.io/library/*",
		"docker.io/myuser/myrepo",
	} {
		entries = append(entries, Entry{Registry: k})
	}
	for _, tc := range []struct{ in, want string }{
		{"docker.io/library/centos", "docker.io/library/*"},
		{"docker.io/myuser/myrepo", "docker.io/myuser/myrepo"},
		{"docker.io/myuser/myrepo2", "docker.io/*"},
		{"gcr.io/myproject/app", "*"},
		{"https://index.docker.io/v1/", "docker.io/*"},
	} {
		k, err := helper.Normalize(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := Lookup(entries, k)
		if !ok || r.Registry != tc.want {
			t.Errorf("Lookup(%q) = %v, want %q", tc.in, r, tc.want)
		}
	}
}
