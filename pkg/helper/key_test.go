package helper

import (
	"errors"
	"strings"
	"testing"
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
		{"reg.example.com\r\nX: y", ErrInvalidName, "invalid registry name or server URL: contains a control character"},
		{"reg.example.com\x00", ErrInvalidName, "invalid registry name or server URL: contains a control character"},
		{"reg.example.com\x1b[31m", ErrInvalidName, "invalid registry name or server URL: contains a control character"},
		{"reg.example.com/a b", ErrInvalidName, "invalid registry name or server URL: contains a space"},
		{"reg.example.com/\u00a0x", ErrInvalidName, "invalid registry name or server URL: contains a space"},
		{"reg.example.com/\xff", ErrInvalidName, "invalid registry name or server URL: not valid UTF-8"},
		{"https://user:s3cret@reg.example.com/", ErrInvalidName, userinfoMsg},
		{"user@reg.example.com", ErrInvalidName, userinfoMsg},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Normalize(tc.in)
			if !errors.Is(err, tc.want) || err.Error() != tc.msg {
				t.Errorf("Normalize(%q) error = %v, want %q", tc.in, err, tc.msg)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error repeats the password: %v", err)
			}
		})
	}
}

// What each client form finds among a realistic set of entries: Docker
// Hub's password entry, its OAuth token entries, a host entry with a port,
// an IPv6 registry, a wildcard and a longer repository entry.

const userinfoMsg = "invalid registry name or server URL: contains user information (user@ or user:password@); give the user and password as credentials"

// An "@" after the host (an image digest, a path) is not user information.
func TestCheckTextAtInPath(t *testing.T) {
	for _, s := range []string{"reg.example.com/team/app@sha256", "https://reg.example.com/v2/a@b", "*"} {
		if err := CheckText(s); err != nil {
			t.Errorf("CheckText(%q) = %v, want nil", s, err)
		}
	}
}
