package main

import (
	"net/http"
	"testing"

	"github.com/anchored/anchored/internal/leakcheck"
)

// leaks sees every HTTP exchange of this package's tests with the built
// anchored: clients on the default transport (http.Get, DefaultClient,
// oauth2 and go-oidc without a client of their own) through TestMain, the
// others by wrapping theirs. The package fails if a response body holds a
// password a request stored (issue 5, as pkg/tokenserver's suite).
var leaks = leakcheck.New()

func TestMain(m *testing.M) {
	http.DefaultTransport = leaks.Transport(http.DefaultTransport)
	leakcheck.Main(m, leaks, func() { _ = pg.Close() })
}
