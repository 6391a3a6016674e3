// Package awsfake runs loopback stand-ins for the AWS endpoints the ECR code
// talks to, speaking the real wire protocols so that the real AWS SDK can be
// pointed at them: ECR GetAuthorizationToken (AWS JSON 1.1), EC2 IMDSv2
// (token PUT, role list, role credentials) and STS AssumeRole (query
// protocol, XML). Each records what it was asked and counts calls; Env gives
// the SDK's own variables that aim a process (in-process with Setenv, or a
// child with Environ) at them. For tests only.
package awsfake

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identities the fakes hand out. Tests assert that the ECR call was signed
// with one of them to see which credential path the SDK took.
const (
	IMDSRoleName        = "anchored-test-instance-role"
	IMDSAccessKeyID     = "ASIAIMDSFAKEEXAMPLE1"
	IMDSSecretAccessKey = "imds-fake-secret-access-key"
	IMDSSessionToken    = "imds-fake-session-token"
	STSAccessKeyID      = "ASIASTSFAKEEXAMPLE01"
	STSSecretAccessKey  = "sts-fake-secret-access-key"
	STSSessionToken     = "sts-fake-session-token"
	// DefaultTokenLifetime is ECR's: tokens are valid for 12 hours.
	DefaultTokenLifetime = 12 * time.Hour
	// ECRTarget is the X-Amz-Target of GetAuthorizationToken.
	ECRTarget = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
)

// Scope is the SigV4 credential scope of a request:
// Credential=<AccessKeyID>/<Date>/<Region>/<Service>/aws4_request.
type Scope struct {
	AccessKeyID, Date, Region, Service string
}

// ECRCall is one GetAuthorizationToken request.
type ECRCall struct {
	Scope        Scope
	SessionToken string // X-Amz-Security-Token, empty for long-term keys
	RegistryIDs  []string
	// Password is the token password issued, empty if the call failed.
	Password  string
	ExpiresAt time.Time
}

// STSCall is one AssumeRole request.
type STSCall struct {
	Scope           Scope
	RoleArn         string
	ExternalID      string
	RoleSessionName string
}

// Fake is the set of servers. Its methods are safe for concurrent use.
type Fake struct {
	ECR, STS, IMDS *httptest.Server

	dir string // holds the (absent) shared config files of Env

	mu            sync.Mutex
	now           func() time.Time
	lifetime      time.Duration
	ecrFail       *apiError
	ecrCalls      []ECRCall
	stsCalls      []STSCall
	imdsToken     string
	imdsTokenPuts int
	imdsCredGets  int
}

type apiError struct {
	status        int
	code, message string
}

// Start runs the three servers on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{dir: t.TempDir(), now: time.Now, lifetime: DefaultTokenLifetime}
	f.ECR = httptest.NewServer(http.HandlerFunc(f.serveECR))
	f.STS = httptest.NewServer(http.HandlerFunc(f.serveSTS))
	f.IMDS = httptest.NewServer(http.HandlerFunc(f.serveIMDS))
	t.Cleanup(func() {
		f.ECR.Close()
		f.STS.Close()
		f.IMDS.Close()
	})
	return f
}

// SetNow sets the clock the fakes compute expiries with (default time.Now).
func (f *Fake) SetNow(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// SetTokenLifetime sets how long issued ECR tokens live.
func (f *Fake) SetTokenLifetime(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lifetime = d
}

// FailECR makes later GetAuthorizationToken calls fail with an AWS JSON
// error (for example 400, "AccessDeniedException"); status 0 heals it.
func (f *Fake) FailECR(status int, code, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == 0 {
		f.ecrFail = nil
		return
	}
	f.ecrFail = &apiError{status: status, code: code, message: message}
}

// ECRCalls returns the GetAuthorizationToken calls so far.
func (f *Fake) ECRCalls() []ECRCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ECRCall(nil), f.ecrCalls...)
}

// STSCalls returns the AssumeRole calls so far.
func (f *Fake) STSCalls() []STSCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]STSCall(nil), f.stsCalls...)
}

// IMDSTokenPuts counts IMDSv2 session token requests.
func (f *Fake) IMDSTokenPuts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.imdsTokenPuts
}

// IMDSCredentialGets counts role credential fetches.
func (f *Fake) IMDSCredentialGets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.imdsCredGets
}

// Env returns the AWS SDK variables that point a process at the fakes. An
// empty value means "unset": every variable that could give the process
// another identity or endpoint (keys, profiles, web identity, container
// credentials, a global endpoint) is listed empty, the shared config files
// point at absent files, IMDSv1 fallback is off, and AWS_MAX_ATTEMPTS is 1 so
// that call counts are exact.
func (f *Fake) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_ECR":                   f.ECR.URL,
		"AWS_ENDPOINT_URL_STS":                   f.STS.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT":      f.IMDS.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "",
		"AWS_EC2_METADATA_DISABLED":              "",
		"AWS_EC2_METADATA_V1_DISABLED":           "true",
		"AWS_MAX_ATTEMPTS":                       "1",
		"AWS_RETRY_MODE":                         "",
		"AWS_CONFIG_FILE":                        filepath.Join(f.dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(f.dir, "credentials"),
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_ACCESS_KEY":                         "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SECRET_KEY":                         "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_ACCOUNT_ID":                         "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ROLE_ARN":                           "",
		"AWS_ROLE_SESSION_NAME":                  "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN":      "",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS":    "",
		"AWS_USE_FIPS_ENDPOINT":                  "",
		"AWS_USE_DUALSTACK_ENDPOINT":             "",
		"AWS_CA_BUNDLE":                          "",
	}
}

// Setenv applies Env to the current process for the rest of the test
// (t.Setenv restores the old values; empty ones are unset).
func (f *Fake) Setenv(t *testing.T) {
	t.Helper()
	for k, v := range f.Env() {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
}

// Environ returns base (os.Environ() form) with every AWS_ variable removed
// and the non-empty ones of Env added: the environment of a child process.
func (f *Fake) Environ(base []string) []string {
	var out []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	for k, v := range f.Env() {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

var scopeRE = regexp.MustCompile(`Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request`)

// parseScope reads the SigV4 credential scope. Signatures are not checked:
// the fakes do not know the secrets, and the scope is what tests assert.
func parseScope(r *http.Request) (Scope, bool) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return Scope{}, false
	}
	m := scopeRE.FindStringSubmatch(auth)
	if m == nil {
		return Scope{}, false
	}
	return Scope{AccessKeyID: m[1], Date: m[2], Region: m[3], Service: m[4]}, true
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (f *Fake) serveECR(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeJSONError(w, http.StatusNotFound, "UnknownOperationException", "not found")
		return
	}
	if got := r.Header.Get("X-Amz-Target"); got != ECRTarget {
		writeJSONError(w, http.StatusBadRequest, "UnknownOperationException", "unknown target "+got)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeJSONError(w, http.StatusBadRequest, "SerializationException", "want application/x-amz-json-1.1")
		return
	}
	scope, ok := parseScope(r)
	if !ok || scope.Service != "ecr" {
		writeJSONError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "missing or foreign SigV4 credential scope")
		return
	}
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
		writeJSONError(w, http.StatusBadRequest, "SerializationException", "bad JSON body")
		return
	}

	f.mu.Lock()
	call := ECRCall{Scope: scope, SessionToken: r.Header.Get("X-Amz-Security-Token"), RegistryIDs: in.RegistryIDs}
	fail := f.ecrFail
	if fail == nil {
		call.ExpiresAt = f.now().Add(f.lifetime).Truncate(time.Millisecond)
		call.Password = ecrPassword(fmt.Sprintf("fake-ecr-password-%d-%s", len(f.ecrCalls)+1, scope.Region), call.ExpiresAt)
	}
	f.ecrCalls = append(f.ecrCalls, call)
	f.mu.Unlock()

	if fail != nil {
		writeJSONError(w, fail.status, fail.code, fail.message)
		return
	}
	id := "000000000000"
	if len(in.RegistryIDs) > 0 {
		id = in.RegistryIDs[0]
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{
		"authorizationData": []map[string]any{{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + call.Password)),
			"expiresAt":          float64(call.ExpiresAt.UnixMilli()) / 1000,
			"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", id, scope.Region),
		}},
	})
}

// ecrPassword is shaped as ECR's: base64 of a JSON object with the
// encrypted payload and the token's expiry in Unix seconds, which readers
// such as the kubelet credential provider take the expiry from.
func ecrPassword(payload string, expires time.Time) string {
	b, _ := json.Marshal(map[string]any{
		"payload":    payload,
		"datakey":    "fake-data-key",
		"version":    "2",
		"type":       "DATA_KEY",
		"expiration": expires.Unix(),
	})
	return base64.StdEncoding.EncodeToString(b)
}

// serveIMDS is IMDSv2 only: every metadata GET needs the session token.
func (f *Fake) serveIMDS(w http.ResponseWriter, r *http.Request) {
	const credsPath = "/latest/meta-data/iam/security-credentials/"
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ttl, err := strconv.Atoi(r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		if err != nil || ttl < 1 || ttl > 21600 {
			http.Error(w, "bad or missing X-aws-ec2-metadata-token-ttl-seconds", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.imdsTokenPuts++
		f.imdsToken = fmt.Sprintf("imds-session-token-%d", f.imdsTokenPuts)
		tok := f.imdsToken
		f.mu.Unlock()
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", strconv.Itoa(ttl))
		fmt.Fprint(w, tok)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f.mu.Lock()
	valid := f.imdsToken != "" && r.Header.Get("X-Aws-Ec2-Metadata-Token") == f.imdsToken
	f.mu.Unlock()
	if !valid {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case credsPath:
		fmt.Fprintln(w, IMDSRoleName)
	case credsPath + IMDSRoleName:
		f.mu.Lock()
		f.imdsCredGets++
		now := f.now()
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		json.NewEncoder(w).Encode(map[string]string{
			"Code":            "Success",
			"LastUpdated":     now.UTC().Format(time.RFC3339),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     IMDSAccessKeyID,
			"SecretAccessKey": IMDSSecretAccessKey,
			"Token":           IMDSSessionToken,
			"Expiration":      now.Add(6 * time.Hour).UTC().Format(time.RFC3339),
		})
	default:
		http.NotFound(w, r)
	}
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  struct {
		Credentials     stsCredentials `xml:"Credentials"`
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
	} `xml:"AssumeRoleResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type stsErrorResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeSTSError(w http.ResponseWriter, status int, code, msg string) {
	var e stsErrorResponse
	e.Error.Type, e.Error.Code, e.Error.Message = "Sender", code, msg
	e.RequestID = "fake-request"
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	xml.NewEncoder(w).Encode(e)
}

func (f *Fake) serveSTS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeSTSError(w, http.StatusMethodNotAllowed, "InvalidAction", "POST only")
		return
	}
	scope, ok := parseScope(r)
	if !ok || scope.Service != "sts" {
		writeSTSError(w, http.StatusForbidden, "MissingAuthenticationToken", "missing or foreign SigV4 credential scope")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeSTSError(w, http.StatusBadRequest, "MalformedInput", "bad form")
		return
	}
	if r.PostForm.Get("Action") != "AssumeRole" || r.PostForm.Get("Version") != "2011-06-15" {
		writeSTSError(w, http.StatusBadRequest, "InvalidAction", "only AssumeRole 2011-06-15")
		return
	}
	call := STSCall{
		Scope:           scope,
		RoleArn:         r.PostForm.Get("RoleArn"),
		ExternalID:      r.PostForm.Get("ExternalId"),
		RoleSessionName: r.PostForm.Get("RoleSessionName"),
	}
	if call.RoleArn == "" || call.RoleSessionName == "" {
		writeSTSError(w, http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required")
		return
	}
	f.mu.Lock()
	f.stsCalls = append(f.stsCalls, call)
	now := f.now()
	f.mu.Unlock()

	var resp assumeRoleResponse
	resp.Result.Credentials = stsCredentials{
		AccessKeyID:     STSAccessKeyID,
		SecretAccessKey: STSSecretAccessKey,
		SessionToken:    STSSessionToken,
		Expiration:      now.Add(time.Hour).UTC().Format(time.RFC3339),
	}
	resp.Result.AssumedRoleUser.Arn = call.RoleArn + "/" + call.RoleSessionName
	resp.Result.AssumedRoleUser.AssumedRoleID = "AROAFAKE:" + call.RoleSessionName
	resp.RequestID = "fake-request"
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprint(w, xml.Header)
	xml.NewEncoder(w).Encode(resp)
}
