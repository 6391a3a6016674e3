package ecr

import (
	"net/url"
	"testing"
)

// TestHostNameMatchesNetURL: hostname answers what net/url's Hostname does
// for the same host and port, which HostName used before net/url was kept
// out of the helper binary.
func TestHostNameMatchesNetURL(t *testing.T) {
	for _, hostport := range []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
		"reg.example:5000",
		"reg.example:",
		"reg.example:50x0",
		"user:pass@reg.example:5000",
		"a@b@reg.example",
		"[::1]",
		"[::1]:5000",
		"[::1]x",
		"[::1",
		"::1",
		"reg example",
		"reg\texample",
		"",
		":5000",
		"[fe80::1%25eth0]:5000",
		"reg%41.example",
		"reg%zz.example",
		"localhost",
		"1.2.3.4:80",
		"[fe80::1%eth0]",
		"[fe80::1%25eth%0]",
		"a:b:c",
		"REG.example",
		"reg.example\x7f",
	} {
		var want string
		if u, err := url.Parse("https://" + hostport); err == nil {
			want = u.Hostname()
		}
		if got := hostname(hostport); got != want {
			t.Errorf("hostname(%q) = %q, net/url says %q", hostport, got, want)
		}
	}
}
