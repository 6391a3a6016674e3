package tokenserver

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"
)

// route is one endpoint. Path is without the /v1 prefix; every route is
// served both at /v1/PATH and at PATH, as Anchore rewrites unprefixed paths.
type route struct {
	Method string
	Path   string
	Access Access
	Handle func(w http.ResponseWriter, r *http.Request) error
}

// routes is every endpoint of the API. To add a group, write its handlers
// in their own file and add their lines here.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/", Public, s.ping},
		{"GET", "/health", Public, s.health},
		{"GET", "/version", Public, s.version},

		{"POST", "/oauth/token", Public, s.token},
		{"GET", "/oauth/jwks", Public, s.jwks},
		{"GET", "/.well-known/openid-configuration", Public, s.openIDConfiguration},

		{"GET", "/account", Authenticated, s.getOwnAccount},
		{"GET", "/accounts", Authenticated, s.listAccounts},
		{"POST", "/accounts", Authenticated, s.createAccount},
		{"GET", "/accounts/{accountname}", Authenticated, s.getAccount},
		{"DELETE", "/accounts/{accountname}", Authenticated, s.deleteAccount},
		{"PUT", "/accounts/{accountname}/state", Authenticated, s.updateAccountState},

		{"GET", "/accounts/{accountname}/users", Authenticated, s.listUsers},
		{"POST", "/accounts/{accountname}/users", Authenticated, s.createUser},
		{"GET", "/accounts/{accountname}/users/{username}", Authenticated, s.getUser},
		{"DELETE", "/accounts/{accountname}/users/{username}", Authenticated, s.deleteUser},
		{"GET", "/accounts/{accountname}/users/{username}/credentials", Authenticated, s.listUserCredentials},
		{"POST", "/accounts/{accountname}/users/{username}/credentials", Authenticated, s.addUserCredential},
		{"DELETE", "/accounts/{accountname}/users/{username}/credentials", Authenticated, s.deleteUserCredential},

		{"GET", "/user", Authenticated, s.getSelf},
		{"GET", "/user/credentials", Authenticated, s.listOwnCredentials},
		{"POST", "/user/credentials", Authenticated, s.addOwnCredential},

		// registries.go and helperapi.go
		{"GET", "/registries", Authenticated, s.listRegistries},
		{"POST", "/registries", Authenticated, s.createRegistry},
		{"GET", "/registries/{registry}", Authenticated, s.getRegistry},
		{"PUT", "/registries/{registry}", Authenticated, s.updateRegistry},
		{"DELETE", "/registries/{registry}", Authenticated, s.deleteRegistry},
		{"POST", "/credential-helper/get", SocketOnly, s.helperGet},
		{"POST", "/credential-helper/store", SocketOnly, s.helperStore},
		{"POST", "/credential-helper/erase", SocketOnly, s.helperErase},
		{"POST", "/credential-helper/list", SocketOnly, s.helperList},
	}
}

// pathVar returns a path variable, unescaped (the router keeps paths
// encoded so that %2F stays inside one variable).
func pathVar(r *http.Request, name string) (string, error) {
	v, err := url.PathUnescape(mux.Vars(r)[name])
	if err != nil {
		return "", errorf(http.StatusBadRequest, "Invalid %s in path", name)
	}
	return v, nil
}
