package ecr_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/awsfake"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
)

const (
	testHost    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	testKeyID   = "AKIASTATICEXAMPLE001"
	testSecret  = "static/secret+access+key+EXAMPLE0000001"
	testRoleARN = "arn:aws:iam::111122223333:role/ecr-pull"
)

// clock is an injectable, settable time source shared by the resolver and
// the fake (which computes expiries from it).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokenStaticKeys(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Setenv(t)
	// The user's own AWS setup (a profile with other keys and region, named
	// by AWS_PROFILE, and keys in the environment) must not change which
	// keys and region are used.
	profile := "[profile someone-elses-profile]\nregion = us-west-2\naws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = profile-secret\n"
	if err := os.WriteFile(fake.Env()["AWS_CONFIG_FILE"], []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_PROFILE", "someone-elses-profile")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
	r := &ecr.Resolver{AWS: awsecr.Client{}}

	tok, err := r.Token(t.Context(), "admin", "https://"+testHost+"/v2/", ecr.Credentials{User: testKeyID, Pass: testSecret})
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	calls := fake.ECRCalls()
	if len(calls) != 1 {
		t.Fatalf("ECR calls = %d, want 1", len(calls))
	}
	c := calls[0]
	wantScope := awsfake.Scope{AccessKeyID: testKeyID, Date: c.Scope.Date, Region: "eu-west-1", Service: "ecr"}
	if c.Scope != wantScope {
		t.Errorf("SigV4 scope = %+v, want %+v", c.Scope, wantScope)
	}
	if c.SessionToken != "" {
		t.Errorf("session token = %q, want none for long-term keys", c.SessionToken)
	}
	if !slices.Equal(c.RegistryIDs, []string{"123456789012"}) {
		t.Errorf("registryIds = %q, want [123456789012]", c.RegistryIDs)
	}
	if tok.Username != "AWS" || tok.Password != c.Password {
		t.Errorf("token = %q/%q, want AWS/%q", tok.Username, tok.Password, c.Password)
	}
	if !tok.ExpiresAt.Equal(c.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", tok.ExpiresAt, c.ExpiresAt)
	}
	if want := "https://" + testHost; tok.ProxyEndpoint != want {
		t.Errorf("ProxyEndpoint = %q, want %q", tok.ProxyEndpoint, want)
	}
	if fake.IMDSTokenPuts() != 0 {
		t.Errorf("IMDS was asked for static keys")
	}
}

func TestTokenAWSAuto(t *testing.T) {
	for _, creds := range []ecr.Credentials{{User: "awsauto", Pass: "awsauto"}, {User: "awsauto", Pass: ""}, {User: "", Pass: "awsauto"}} {
		t.Run(creds.User+"/"+creds.Pass, func(t *testing.T) {
			fake := awsfake.Start(t)
			fake.Setenv(t)
			r := &ecr.Resolver{AWS: awsecr.Client{}, AllowIAMAuto: true}
			tok, err := r.Token(t.Context(), "admin", testHost, creds)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if fake.IMDSTokenPuts() < 1 || fake.IMDSCredentialGets() < 1 {
				t.Errorf("IMDS token PUTs = %d, credential GETs = %d; want the IMDSv2 flow", fake.IMDSTokenPuts(), fake.IMDSCredentialGets())
			}
			calls := fake.ECRCalls()
			if len(calls) != 1 {
				t.Fatalf("ECR calls = %d, want 1", len(calls))
			}
			if got := calls[0].Scope; got.AccessKeyID != awsfake.IMDSAccessKeyID || got.Region != "eu-west-1" {
				t.Errorf("ECR scope = %+v, want the instance role's key in eu-west-1", got)
			}
			if calls[0].SessionToken != awsfake.IMDSSessionToken {
				t.Errorf("session token = %q, want the instance role's", calls[0].SessionToken)
			}
			if tok.Password != calls[0].Password {
				t.Errorf("password = %q, want %q", tok.Password, calls[0].Password)
			}
		})
	}
}

func TestIAMAutoDisabled(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Setenv(t)
	for _, creds := range []ecr.Credentials{
		{User: "awsauto", Pass: "awsauto"},
		{User: testKeyID, Pass: "awsauto"},
		{User: "_iam_role", Pass: testRoleARN},
	} {
		t.Run(creds.User, func(t *testing.T) {
			r := &ecr.Resolver{AWS: awsecr.Client{}}
			_, err := r.Token(t.Context(), "admin", testHost, creds)
			if !errors.Is(err, ecr.ErrIAMAutoDisabled) {
				t.Fatalf("err = %v, want ErrIAMAutoDisabled", err)
			}
			if got, want := err.Error(), "'awsauto' is not enabled in service configuration"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
	}
	if n := len(fake.ECRCalls()) + len(fake.STSCalls()) + fake.IMDSTokenPuts(); n != 0 {
		t.Errorf("AWS was called %d times for refused entries", n)
	}
}

func TestIAMRole(t *testing.T) {
	tests := []struct {
		pass, wantExternalID string
	}{
		{testRoleARN + ";ext-id-42", "ext-id-42"},
		{testRoleARN, ""},
	}
	for _, tt := range tests {
		t.Run(tt.pass, func(t *testing.T) {
			fake := awsfake.Start(t)
			fake.Setenv(t)
			r := &ecr.Resolver{AWS: awsecr.Client{}, AllowIAMAuto: true}
			tok, err := r.Token(t.Context(), "admin", testHost, ecr.Credentials{User: "_iam_role", Pass: tt.pass})
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			sts := fake.STSCalls()
			if len(sts) != 1 {
				t.Fatalf("STS calls = %d, want 1", len(sts))
			}
			if sts[0].RoleArn != testRoleARN || sts[0].ExternalID != tt.wantExternalID || sts[0].RoleSessionName != ecr.RoleSessionName {
				t.Errorf("AssumeRole = %+v, want role %q external id %q session %q", sts[0], testRoleARN, tt.wantExternalID, ecr.RoleSessionName)
			}
			if sts[0].Scope.AccessKeyID != awsfake.IMDSAccessKeyID {
				t.Errorf("AssumeRole signed by %q, want the host identity %q", sts[0].Scope.AccessKeyID, awsfake.IMDSAccessKeyID)
			}
			ecrCalls := fake.ECRCalls()
			if len(ecrCalls) != 1 {
				t.Fatalf("ECR calls = %d, want 1", len(ecrCalls))
			}
			if got := ecrCalls[0]; got.Scope.AccessKeyID != awsfake.STSAccessKeyID || got.SessionToken != awsfake.STSSessionToken {
				t.Errorf("ECR signed by %q (session %q), want the role's temporary key %q", got.Scope.AccessKeyID, got.SessionToken, awsfake.STSAccessKeyID)
			}
			if tok.Password != ecrCalls[0].Password {
				t.Errorf("password = %q, want %q", tok.Password, ecrCalls[0].Password)
			}
		})
	}
}

func TestBadCredentials(t *testing.T) {
	tests := []struct {
		name  string
		host  string
		creds ecr.Credentials
		want  error
	}{
		{"not ecr", "registry.example.com", ecr.Credentials{User: testKeyID, Pass: testSecret}, ecr.ErrNotECR},
		{"ecr public", "public.ecr.aws", ecr.Credentials{User: testKeyID, Pass: testSecret}, ecr.ErrNotECR},
		{"no secret", testHost, ecr.Credentials{User: testKeyID}, ecr.ErrBadCredentials},
		{"role without arn", testHost, ecr.Credentials{User: "_iam_role", Pass: ";ext"}, ecr.ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &ecr.Resolver{AWS: awsecr.Client{}, AllowIAMAuto: true}
			_, err := r.Token(t.Context(), "admin", tt.host, tt.creds)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRenewal(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Setenv(t)
	clk := newClock()
	fake.SetNow(clk.Now)
	r := &ecr.Resolver{AWS: awsecr.Client{}, Now: clk.Now}
	creds := ecr.Credentials{User: testKeyID, Pass: testSecret}
	get := func() ecr.Token {
		t.Helper()
		tok, err := r.Token(t.Context(), "admin", testHost, creds)
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		return tok
	}

	first := get()
	clk.Add(11 * time.Hour) // 1 h left: served from the cache
	if got := get(); got.Password != first.Password || len(fake.ECRCalls()) != 1 {
		t.Fatalf("with 1h left: password %q, calls %d; want the cached %q and 1 call", got.Password, len(fake.ECRCalls()), first.Password)
	}
	clk.Add(31 * time.Minute) // 29 min left: renewed
	second := get()
	if second.Password == first.Password || len(fake.ECRCalls()) != 2 {
		t.Fatalf("with 29m left: password %q, calls %d; want a new token and 2 calls", second.Password, len(fake.ECRCalls()))
	}
	if left := second.ExpiresAt.Sub(clk.Now()); left != 12*time.Hour {
		t.Errorf("renewed token has %v left, want 12h", left)
	}

	// Renewal fails while the cached token is still valid: it is served.
	fake.FailECR(http.StatusInternalServerError, "ServerException", "ECR is having a bad day")
	clk.Add(11*time.Hour + 45*time.Minute) // 15 min left
	if got := get(); got.Password != second.Password {
		t.Errorf("with 15m left and ECR down: password %q, want the cached %q", got.Password, second.Password)
	}
	// Once expired it is never served, whatever ECR says.
	clk.Add(16 * time.Minute)
	if tok, err := r.Token(t.Context(), "admin", testHost, creds); !errors.Is(err, ecr.ErrToken) || tok.Password != "" {
		t.Errorf("expired and ECR down: token %q, err %v; want no token and ErrToken", tok.Password, err)
	}

	// A token that ECR hands out already expired (a skewed clock) is
	// refused rather than served.
	fake.FailECR(0, "", "")
	fake.SetTokenLifetime(-time.Minute)
	if _, err := r.Token(t.Context(), "admin", testHost, creds); !errors.Is(err, ecr.ErrToken) {
		t.Errorf("already expired token: err %v, want ErrToken", err)
	}
}

func TestECRError(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Setenv(t)
	fake.FailECR(http.StatusBadRequest, "AccessDeniedException",
		"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken")
	r := &ecr.Resolver{AWS: awsecr.Client{}}
	_, err := r.Token(t.Context(), "admin", testHost, ecr.Credentials{User: testKeyID, Pass: testSecret})
	if !errors.Is(err, ecr.ErrToken) {
		t.Fatalf("err = %v, want ErrToken", err)
	}
	msg := err.Error()
	for _, want := range []string{testHost, "AccessDeniedException", "ecr:GetAuthorizationToken"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, testSecret) {
		t.Errorf("error %q contains the secret access key", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line", msg)
	}
}

func TestConcurrentInProcess(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Setenv(t)
	r := &ecr.Resolver{AWS: awsecr.Client{}}
	const n = 20
	var wg sync.WaitGroup
	passwords := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			tok, err := r.Token(t.Context(), "admin", testHost, ecr.Credentials{User: testKeyID, Pass: testSecret})
			passwords[i], errs[i] = tok.Password, err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if got := len(fake.ECRCalls()); got != 1 {
		t.Errorf("ECR calls = %d, want 1", got)
	}
	for i, p := range passwords {
		if p != passwords[0] {
			t.Errorf("caller %d got %q, caller 0 got %q", i, p, passwords[0])
		}
	}
}

// TestCacheKeys: different accounts, hosts and credentials never share a
// token, and a key holds no secret.
func TestCacheKeys(t *testing.T) {
	keys := map[string]string{}
	add := func(name, account, host string, c ecr.Credentials) {
		t.Helper()
		k, err := ecr.CacheKey(account, host, c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(k, testSecret) || strings.Contains(k, testKeyID) || strings.Contains(k, "ext-secretish") {
			t.Errorf("%s: key %q holds a credential", name, k)
		}
		if prev, ok := keys[k]; ok {
			t.Errorf("%s and %s share the key %q", name, prev, k)
		}
		keys[k] = name
	}
	add("static", "admin", testHost, ecr.Credentials{User: testKeyID, Pass: testSecret})
	add("other account", "team", testHost, ecr.Credentials{User: testKeyID, Pass: testSecret})
	add("other region", "admin", "123456789012.dkr.ecr.us-east-1.amazonaws.com", ecr.Credentials{User: testKeyID, Pass: testSecret})
	add("other key", "admin", testHost, ecr.Credentials{User: "AKIAOTHER", Pass: testSecret})
	add("awsauto", "admin", testHost, ecr.Credentials{User: "awsauto", Pass: "awsauto"})
	add("role", "admin", testHost, ecr.Credentials{User: "_iam_role", Pass: testRoleARN})
	add("role with external id", "admin", testHost, ecr.Credentials{User: "_iam_role", Pass: testRoleARN + ";ext-secretish"})

	// The key names the host as Parse does, whatever form it was given in,
	// so that it needs no ecr-login and matches the keys of tokens sealed
	// before the split.
	creds := ecr.Credentials{User: testKeyID, Pass: testSecret}
	want, _ := ecr.CacheKey("admin", testHost, creds)
	for _, form := range []string{"https://" + testHost + "/v2/", strings.ToUpper(testHost) + ":443", " " + testHost + "/team/app\n"} {
		if got, err := ecr.CacheKey("admin", form, creds); err != nil || got != want {
			t.Errorf("CacheKey(%q) = %q, %v; want %q", form, got, err, want)
		}
	}
	reg, _ := awsecr.Parse(testHost)
	if ecr.HostName(testHost) != reg.Host {
		t.Errorf("HostName = %q, Parse's Host = %q; want equal", ecr.HostName(testHost), reg.Host)
	}
}

// TestFIPS: a -fips host makes the SDK use the FIPS endpoint. The request
// is redirected to the fake, recording the host the SDK chose.
func TestFIPS(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Setenv(t)
	os.Unsetenv("AWS_ENDPOINT_URL_ECR") // restored by Setenv's cleanup
	target, _ := url.Parse(fake.ECR.URL)
	var mu sync.Mutex
	var hosts []string
	client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		hosts = append(hosts, req.URL.Host)
		mu.Unlock()
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = target.Scheme, target.Host
		return http.DefaultTransport.RoundTrip(req)
	})}
	r := &ecr.Resolver{AWS: awsecr.Client{HTTPClient: client}}
	if _, err := r.Token(t.Context(), "admin", "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", ecr.Credentials{User: testKeyID, Pass: testSecret}); err != nil {
		t.Fatalf("Token: %v", err)
	}
	if want := []string{"api.ecr-fips.us-east-1.amazonaws.com"}; !slices.Equal(hosts, want) {
		t.Errorf("requests went to %q, want %q", hosts, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLockDirRefusesOpenDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := ecr.NewLockDir(dir).Lock(context.Background(), "k")
	if !errors.Is(err, ecr.ErrLockDir) {
		t.Errorf("err = %v, want ErrLockDir", err)
	}
}

// TestCheckBypassesCache: validation must reach AWS even when a token is
// cached for the same key id, and the fresh token replaces the cached one.
func TestCheckBypassesCache(t *testing.T) {
	fake := awsfake.Start(t)
	fake.Setenv(t)
	r := &ecr.Resolver{AWS: awsecr.Client{}}
	creds := ecr.Credentials{User: testKeyID, Pass: testSecret}
	if _, err := r.Token(t.Context(), "admin", testHost, creds); err != nil {
		t.Fatal(err)
	}
	fake.FailECR(http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
	if _, err := r.Check(t.Context(), "admin", testHost, ecr.Credentials{User: testKeyID, Pass: "wrong"}); !errors.Is(err, ecr.ErrToken) {
		t.Errorf("Check with a wrong secret: err %v, want ErrToken", err)
	}
	fake.FailECR(0, "", "")
	checked, err := r.Check(t.Context(), "admin", testHost, creds)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Token(t.Context(), "admin", testHost, creds)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fake.ECRCalls()); n != 3 || got.Password != checked.Password {
		t.Errorf("calls %d, Token after Check %q; want 3 calls and the checked token %q", n, got.Password, checked.Password)
	}
}
