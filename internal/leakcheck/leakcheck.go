// Package leakcheck is a test fixture: it collects the passwords that HTTP
// requests store (a registry's registry_pass, a user's password or
// credential value, a helper store's Secret, a form's password) and every
// response body, and fails the test binary at the end if any body holds one
// of those passwords (issue 5: "no response body of any test in the suite
// ever contains a stored password").
//
// It sees traffic from either side: Handler wraps a server in process,
// Transport wraps a client of a built binary. The helper's get is the one
// endpoint whose job is to hand a stored secret out (to the socket's peer),
// so its answers are not recorded.
package leakcheck

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
)

// MinSecretLen keeps short values (that could appear by chance in a
// timestamp or a name) out of the assertion; every test secret is longer.
const MinSecretLen = 6

// secretFields are the request members that carry a password to store.
var secretFields = []string{"registry_pass", "password", "value", "Secret"}

// Log collects secrets and bodies. Its zero value is not usable; use New.
type Log struct {
	mu      sync.Mutex
	secrets map[string]bool
	bodies  []string // "METHOD PATH: body"
}

// New returns an empty Log.
func New() *Log { return &Log{secrets: map[string]bool{}} }

// record notes the request's secrets and, unless the endpoint hands
// secrets out by design, the response body.
func (l *Log) record(method, path string, reqBody, respBody []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	note := func(s string) {
		// awsauto is a keyword ("use the host's identity"), not a secret.
		if len(s) >= MinSecretLen && s != "awsauto" {
			l.secrets[s] = true
		}
	}
	var fields map[string]any
	if json.Unmarshal(reqBody, &fields) == nil {
		for _, k := range secretFields {
			if s, ok := fields[k].(string); ok {
				note(s)
			}
		}
	} else if form, err := url.ParseQuery(string(reqBody)); err == nil {
		note(form.Get("password"))
	}
	if strings.HasSuffix(path, "/credential-helper/get") {
		return
	}
	l.bodies = append(l.bodies, fmt.Sprintf("%s %s: %s", method, path, respBody))
}

// Handler wraps a server handler.
func (l *Log) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		l.record(r.Method, r.URL.Path, reqBody, rec.Body.Bytes())
	})
}

// Transport wraps a client's transport (nil: http.DefaultTransport's
// value at the call).
func (l *Log) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripper{log: l, next: rt}
}

type roundTripper struct {
	log  *Log
	next http.RoundTripper
}

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	var reqBody []byte
	if r.Body != nil && r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(b)
			b.Close()
		}
	}
	res, err := t.next.RoundTrip(r)
	if err != nil {
		return res, err
	}
	body, rerr := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		// What arrived is what the test sees: hand it on with the error.
		res.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
	}
	t.log.record(r.Method, r.URL.Path, reqBody, body)
	return res, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Text records a text that must not hold a stored password, such as a log
// or audit line; source says where it came from.
func (l *Log) Text(source, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bodies = append(l.bodies, source+": "+text)
}

// Secret notes a password stored by a way the Log does not see (a client
// of its own, a file).
func (l *Log) Secret(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(s) >= MinSecretLen {
		l.secrets[s] = true
	}
}

// Leaks returns the recorded bodies that hold a stored password: as a
// JSON string (a whole value), or anywhere in a body that is not JSON (a
// password that is a prefix of an account id is no leak).
func (l *Log) Leaks() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	quoted := make(map[string]string, len(l.secrets))
	for s := range l.secrets {
		q, _ := json.Marshal(s)
		quoted[s] = string(q)
	}
	var leaks []string
	for _, b := range l.bodies {
		for s, q := range quoted {
			if strings.Contains(b, q) || (!strings.Contains(b, "{") && strings.Contains(b, s)) {
				leaks = append(leaks, b)
				break
			}
		}
	}
	return leaks
}

// Recorded reports how many bodies and secrets were collected.
func (l *Log) Recorded() (bodies, secrets int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.bodies), len(l.secrets)
}

// Main runs the tests and exits, failing when they passed but a body
// leaked a password, or when no body was recorded with a test run that was
// not filtered to a subset (-run): then the assertion checked nothing.
// cleanup runs after the tests (a test database cluster to stop).
func Main(m *testing.M, l *Log, cleanup ...func()) {
	code := m.Run()
	for _, f := range cleanup {
		f()
	}
	bodies, _ := l.Recorded()
	for _, b := range l.Leaks() {
		fmt.Fprintf(os.Stderr, "FAIL: a response body contains a stored password: %.300s\n", b)
		code = 1
	}
	if code == 0 && bodies == 0 && !filtered() {
		fmt.Fprintln(os.Stderr, "FAIL: no response bodies were recorded; the password assertion checked nothing")
		code = 1
	}
	os.Exit(code)
}

// filtered reports whether -run or -bench limits this run (a benchmark or
// one test may make no request at all).
func filtered() bool {
	for _, name := range []string{"test.run", "test.bench"} {
		if f := flagValue(name); f != "" {
			return true
		}
	}
	return false
}

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}
