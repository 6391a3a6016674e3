package ecrexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/pkg/helper/ecr"
)

// The test binary stands in for anchored: run with childEnv set and the
// argument "ecr", it serves one request with fakeAWS (or misbehaves, with
// childEnv=broken) and records its arguments and environment in the file
// named by recordEnv.
const (
	childEnv  = "ECREXEC_TEST_CHILD"
	recordEnv = "ECREXEC_TEST_RECORD"

	okHost     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	failHost   = "210987654321.dkr.ecr.us-east-2.amazonaws.com"
	notECRHost = "123456789012.dkr.example.com"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var expiry = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "serve":
		if len(os.Args) != 2 || os.Args[1] != Subcommand {
			fmt.Fprintf(os.Stderr, "unexpected arguments %q\n", os.Args[1:])
			os.Exit(2)
		}
		rec := strings.Join(os.Args, "\x00") + "\x00" + strings.Join(os.Environ(), "\x00")
		if err := os.WriteFile(os.Getenv(recordEnv), []byte(rec), 0o600); err != nil {
			os.Exit(3)
		}
		if err := Serve(context.Background(), fakeAWS{}, os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	case "broken":
		fmt.Fprintln(os.Stderr, "anchored: some noise\nanchored: unknown command \"ecr\"")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// fakeAWS answers by host: okHost gives a token (and refuses awsauto with
// ErrIAMAutoDisabled, as a stricter server might), failHost an ErrToken,
// anything else ErrNotECR; empty credentials are ErrBadCredentials.
type fakeAWS struct{}

func (fakeAWS) Parse(_ context.Context, host string) (ecr.Registry, bool, error) {
	if ecr.HostName(host) != okHost {
		return ecr.Registry{}, false, nil
	}
	return ecr.Registry{Host: okHost, ID: "123456789012", Region: "eu-west-1"}, true, nil
}

func (fakeAWS) Fetch(_ context.Context, host string, c ecr.Credentials) (ecr.Token, error) {
	switch {
	case c.User == "" || c.Pass == "":
		return ecr.Token{}, fmt.Errorf("%w: an access key id and a secret access key are needed", ecr.ErrBadCredentials)
	case c.User == ecr.AWSAuto:
		return ecr.Token{}, ecr.ErrIAMAutoDisabled
	case ecr.HostName(host) == failHost:
		return ecr.Token{}, fmt.Errorf("%w for %s: AccessDeniedException: not authorized", ecr.ErrToken, failHost)
	case ecr.HostName(host) != okHost:
		return ecr.Token{}, fmt.Errorf("%w: %q", ecr.ErrNotECR, host)
	}
	if c.Pass != testSecret {
		return ecr.Token{}, fmt.Errorf("%w for %s: the secret did not arrive intact", ecr.ErrToken, okHost)
	}
	return ecr.Token{Username: "AWS", Password: "token-for-" + c.User, ProxyEndpoint: "https://" + okHost, ExpiresAt: expiry}, nil
}

// child returns a Client running this test binary as anchored, and the
// path of its record file.
func child(t *testing.T, mode string) (Client, string) {
	t.Helper()
	rec := t.TempDir() + "/record"
	t.Setenv(childEnv, mode)
	t.Setenv(recordEnv, rec)
	// Under -race a child sleeps a second at exit unless told not to.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Client{Path: self}, rec
}

func TestFetchRoundTrip(t *testing.T) {
	c, rec := child(t, "serve")
	tok, err := c.Fetch(t.Context(), "https://"+okHost+"/v2/", ecr.Credentials{User: "AKIAEXAMPLE", Pass: testSecret})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := ecr.Token{Username: "AWS", Password: "token-for-AKIAEXAMPLE", ProxyEndpoint: "https://" + okHost, ExpiresAt: expiry}
	if !tok.ExpiresAt.Equal(want.ExpiresAt) || tok.Username != want.Username || tok.Password != want.Password || tok.ProxyEndpoint != want.ProxyEndpoint {
		t.Errorf("token = %+v, want %+v", tok, want)
	}
	// The secret travels on stdin only: never in the child's arguments or
	// environment.
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(string(b), "\x00")
	if len(fields) < 2 || fields[1] != Subcommand {
		t.Errorf("child arguments start %q, want [PATH ecr]", fields[:min(2, len(fields))])
	}
	if bytes.Contains(b, []byte(testSecret)) {
		t.Error("the secret access key is in the child's arguments or environment")
	}
}

func TestParse(t *testing.T) {
	c, _ := child(t, "serve")
	reg, ok, err := c.Parse(t.Context(), strings.ToUpper(okHost)+":443")
	if err != nil || !ok || reg.Region != "eu-west-1" || reg.Host != okHost {
		t.Errorf("Parse(ECR host) = %+v, %v, %v", reg, ok, err)
	}
	if _, ok, err := c.Parse(t.Context(), failHost); ok || err != nil {
		t.Errorf("Parse(host the child refuses) = %v, %v; want false, nil", ok, err)
	}
}

// Errors cross the boundary with their text unchanged and their sentinel
// reachable with errors.Is.
func TestErrorKinds(t *testing.T) {
	c, _ := child(t, "serve")
	tests := []struct {
		name  string
		host  string
		creds ecr.Credentials
		want  error
		text  string
	}{
		{"iam auto disabled", okHost, ecr.Credentials{User: "awsauto", Pass: "awsauto"}, ecr.ErrIAMAutoDisabled, "'awsauto' is not enabled in service configuration"},
		{"bad credentials", okHost, ecr.Credentials{User: "AKIAEXAMPLE"}, ecr.ErrBadCredentials, "unusable awsecr credentials: an access key id and a secret access key are needed"},
		{"token", failHost, ecr.Credentials{User: "AKIAEXAMPLE", Pass: testSecret}, ecr.ErrToken, "cannot get an Amazon ECR token for " + failHost + ": AccessDeniedException: not authorized"},
		{"not ecr", notECRHost, ecr.Credentials{User: "AKIAEXAMPLE", Pass: testSecret}, ecr.ErrNotECR, `not an Amazon ECR registry host: "` + notECRHost + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Fetch(t.Context(), tt.host, tt.creds)
			if !errors.Is(err, tt.want) || err.Error() != tt.text {
				t.Errorf("err = %v, want %q wrapping %v", err, tt.text, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

// A host that cannot be ECR starts no process: "registry add" of an
// ordinary registry must not need anchored.
func TestNoProcessForOtherHosts(t *testing.T) {
	c := Client{Path: "/nonexistent/anchored"}
	for _, h := range []string{"registry.example.com", "public.ecr.aws", "12345678901.dkr.ecr.us-east-1.amazonaws.com", "[::1]:5000", ""} {
		if _, ok, err := c.Parse(t.Context(), h); ok || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want false, nil without a process", h, ok, err)
		}
		if _, err := c.Fetch(t.Context(), h, ecr.Credentials{User: "u", Pass: "p"}); !errors.Is(err, ecr.ErrNotECR) {
			t.Errorf("Fetch(%q) = %v; want ErrNotECR without a process", h, err)
		}
	}
}

func TestPlausible(t *testing.T) {
	for h, want := range map[string]bool{
		okHost: true,
		"https://" + strings.ToUpper(okHost) + "/v2/":           true,
		"123456789012.dkr-ecr.us-west-2.on.aws":                 true,
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com": true,
		"1234567890123.dkr.ecr.us-east-1.amazonaws.com":         false,
		"12345678901a.dkr.ecr.us-east-1.amazonaws.com":          false,
		"registry.example.com":                                  false,
		"123456789012.dkr":                                      true,
		"123456789012.dk":                                       false,
	} {
		if got := plausible(h); got != want {
			t.Errorf("plausible(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Client{}.Fetch(t.Context(), okHost, ecr.Credentials{User: "u", Pass: "p"})
	if !errors.Is(err, ErrNoHelper) || err.Error() != "cannot reach the ECR helper: anchored not found beside docker-credential-anchore or on PATH" {
		t.Errorf("err = %v, want ErrNoHelper's one line", err)
	}
}

// A child that answers no reply (an anchored without "ecr") is a protocol
// error naming the child's last stderr line.
func TestBrokenChild(t *testing.T) {
	c, _ := child(t, "broken")
	_, err := c.Fetch(t.Context(), okHost, ecr.Credentials{User: "u", Pass: testSecret})
	if !errors.Is(err, ErrProtocol) || !strings.HasSuffix(err.Error(), `anchored: unknown command "ecr"`) {
		t.Errorf("err = %v, want ErrProtocol with the child's last line", err)
	}
}

// Serve answers every request it cannot use with an error reply, and never
// echoes the request (which holds a secret).
func TestServeRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{"version":1,"op":"fetch","pass":"` + testSecret + `"`, "request is not valid JSON"},
		{"version", `{"version":99,"op":"fetch"}`, "protocol version 99, this anchored speaks 1 (are both binaries from the same release?)"},
		{"op", `{"version":1,"op":"delete"}`, `unknown operation "delete"`},
		{"too long", `{"version":1,"op":"fetch","pass":"` + strings.Repeat("x", maxMessage) + `"}`, "request too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Serve(t.Context(), fakeAWS{}, strings.NewReader(tt.in), &out); err != nil {
				t.Fatal(err)
			}
			var rep reply
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("reply %q: %v", out.String(), err)
			}
			if rep.Error == nil || rep.Error.Message != tt.want || rep.Token != nil {
				t.Errorf("reply = %s, want the error %q", out.String(), tt.want)
			}
			if strings.Contains(out.String(), testSecret) {
				t.Errorf("reply echoes the secret: %s", out.String())
			}
		})
	}
}
