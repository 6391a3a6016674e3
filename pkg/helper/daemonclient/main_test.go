package daemonclient

import (
	"net/http"
	"testing"

	"github.com/anchored/anchored/internal/leakcheck"
)

// leaks sees every HTTP exchange of this package's tests with the built
// anchored made on the default transport (the writers of the durability
// test included). The package fails if a response body holds a
// password a request stored (issue 5, as pkg/tokenserver's suite).
var leaks = leakcheck.New()

func TestMain(m *testing.M) {
	http.DefaultTransport = leaks.Transport(http.DefaultTransport)
	leakcheck.Main(m, leaks)
}
