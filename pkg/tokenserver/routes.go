package tokenserver

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/anchored/anchored/pkg/audit"
)

// route is one endpoint. Path is without the /v1 prefix; every route is
// served both at /v1/PATH and at PATH, as Anchore rewrites unprefixed paths.
// AuditAction names the route's audit event; AuditKind says whether it is
// a change (always audited) or a credential read (audited when reads are
// on).
type route struct {
	Method      string
	Path        string
	Access      Access
	Handle      func(w http.ResponseWriter, r *http.Request) error
	AuditAction string
	AuditKind   audit.Kind
}

const (
	change = audit.Change
	read   = audit.Read
)

// routes is every endpoint of the API. To add a group, write its handlers
// in their own file and add their lines here.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/", Public, s.ping, "", audit.None},
		{"GET", "/health", Public, s.health, "", audit.None},
		{"GET", "/readyz", Public, s.readyz, "", audit.None},
		{"GET", "/version", Public, s.version, "", audit.None},
		{"GET", "/status", Public, s.status, "", audit.None},
		{"GET", "/system", Authenticated, s.systemStatus, "", audit.None},
		{"GET", "/system/services", Authenticated, s.systemServices, "", audit.None},

		{"POST", "/oauth/token", Public, s.token, "token.issue", change}, // an authentication, audited as logins are
		{"GET", "/oauth/jwks", Public, s.jwks, "", audit.None},
		{"GET", "/.well-known/openid-configuration", Public, s.openIDConfiguration, "", audit.None},
		{"GET", "/keys", Authenticated, s.listKeys, "", audit.None},                 // ours
		{"POST", "/keys/rotate", Authenticated, s.rotateKeys, "key.rotate", change}, // ours

		{"GET", "/account", Authenticated, s.getOwnAccount, "", audit.None},
		{"GET", "/accounts", Authenticated, s.listAccounts, "", audit.None},
		{"POST", "/accounts", Authenticated, s.createAccount, "account.create", change},
		{"GET", "/accounts/{accountname}", Authenticated, s.getAccount, "", audit.None},
		{"DELETE", "/accounts/{accountname}", Authenticated, s.deleteAccount, "account.delete", change},
		{"PUT", "/accounts/{accountname}/state", Authenticated, s.updateAccountState, "account.state", change},

		{"GET", "/accounts/{accountname}/users", Authenticated, s.listUsers, "", audit.None},
		{"POST", "/accounts/{accountname}/users", Authenticated, s.createUser, "user.create", change},
		{"GET", "/accounts/{accountname}/users/{username}", Authenticated, s.getUser, "", audit.None},
		{"DELETE", "/accounts/{accountname}/users/{username}", Authenticated, s.deleteUser, "user.delete", change},
		{"GET", "/accounts/{accountname}/users/{username}/credentials", Authenticated, s.listUserCredentials, "", audit.None},
		{"POST", "/accounts/{accountname}/users/{username}/credentials", Authenticated, s.addUserCredential, "credential.set", change},
		{"DELETE", "/accounts/{accountname}/users/{username}/credentials", Authenticated, s.deleteUserCredential, "credential.delete", change},

		{"GET", "/user", Authenticated, s.getSelf, "", audit.None},
		{"GET", "/user/credentials", Authenticated, s.listOwnCredentials, "", audit.None},
		{"POST", "/user/credentials", Authenticated, s.addOwnCredential, "credential.set", change},

		// registries.go and helperapi.go
		{"GET", "/registries", Authenticated, s.listRegistries, "registry.list", read},
		{"POST", "/registries", Authenticated, s.createRegistry, "registry.create", change},
		{"GET", "/registries/{registry}", Authenticated, s.getRegistry, "registry.get", read},
		{"PUT", "/registries/{registry}", Authenticated, s.updateRegistry, "registry.update", change},
		{"DELETE", "/registries/{registry}", Authenticated, s.deleteRegistry, "registry.delete", change},
		{"POST", "/credential-helper/get", SocketOnly, s.helperGet, "helper.get", read},
		{"POST", "/credential-helper/store", SocketOnly, s.helperStore, "helper.store", change},
		{"POST", "/credential-helper/erase", SocketOnly, s.helperErase, "helper.erase", change},
		{"POST", "/credential-helper/list", SocketOnly, s.helperList, "helper.list", read},
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
