package leakcheck

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLeaksFound: a body that repeats a stored password is a leak, on the
// server side and the client side alike; a masked one, a short value, and
// the helper's get (whose job is to hand the secret out) are not.
func TestLeaksFound(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(r.URL.Path, "masked") {
			io.WriteString(w, `{"registry_pass": "********"}`)
			return
		}
		w.Write(b) // answers the request's JSON, password included
	})
	for _, side := range []string{"handler", "transport"} {
		t.Run(side, func(t *testing.T) {
			l := New()
			var client *http.Client
			if side == "handler" {
				ts := httptest.NewServer(l.Handler(echo))
				defer ts.Close()
				client = ts.Client()
				client.Transport = rewrite{ts.URL, client.Transport}
			} else {
				ts := httptest.NewServer(echo)
				defer ts.Close()
				client = &http.Client{Transport: l.Transport(rewrite{ts.URL, ts.Client().Transport})}
			}
			post := func(path, body string) string {
				res, err := client.Post("http://x"+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return string(b)
			}
			if got := post("/v1/masked", `{"registry_pass": "hunter2-long"}`); got != `{"registry_pass": "********"}` {
				t.Fatalf("the wrapper changed the answer: %q", got)
			}
			post("/v1/credential-helper/get", `{"Secret": "helper-secret"}`)
			post("/v1/short", `{"password": "abc"}`)
			if leaks := l.Leaks(); len(leaks) != 0 {
				t.Fatalf("leaks before any: %q", leaks)
			}
			post("/v1/registries", `{"registry_pass": "hunter2-long"}`)
			leaks := l.Leaks()
			if len(leaks) != 1 || !strings.HasPrefix(leaks[0], "POST /v1/registries: ") {
				t.Errorf("leaks = %q, want the registries answer", leaks)
			}
			if bodies, secrets := l.Recorded(); bodies != 3 || secrets != 2 {
				t.Errorf("recorded %d bodies and %d secrets, want 3 (not the helper get) and 2", bodies, secrets)
			}
		})
	}
}

// rewrite sends every request to the test server.
type rewrite struct {
	base string
	next http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	u := strings.TrimPrefix(r.base, "http://")
	req.URL.Host, req.Host = u, u
	return r.next.RoundTrip(req)
}
