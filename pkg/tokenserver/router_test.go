package tokenserver

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestStaticRoutesMatchRouter: every exact path that ServeHTTP answers
// without the router is one the router would give to the same route, so
// the shortcut never changes which handler runs (a pattern registered
// earlier that also matched the path would win in the router).
func TestStaticRoutesMatchRouter(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true})
	if len(e.srv.static) < 10 {
		t.Fatalf("only %d static routes; the shortcut is not in place", len(e.srv.static))
	}
	for key := range e.srv.static {
		method, path, _ := strings.Cut(key, " ")
		var m mux.RouteMatch
		if !e.srv.router.Match(httptest.NewRequest(method, path, nil), &m) || m.Route == nil {
			t.Errorf("%s: the router matches no route", key)
			continue
		}
		if tpl, _ := m.Route.GetPathTemplate(); tpl != path {
			t.Errorf("%s: the router picks %q", key, tpl)
		}
	}
	if r := e.do("GET", "/v1/account", "admin:foobar", ""); r.code != 200 || !strings.Contains(r.body, `"name": "admin"`) {
		t.Errorf("GET /v1/account through the shortcut = %d %s", r.code, r.body)
	}
	for _, key := range []string{"POST /v1/credential-helper/get", "GET /v1/account", "POST /v1/oauth/token", "GET /health"} {
		if _, ok := e.srv.static[key]; !ok {
			t.Errorf("%s is not answered by exact path", key)
		}
	}
}
