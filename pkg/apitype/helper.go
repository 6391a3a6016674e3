package apitype

// Paths of the credential-helper endpoints. They are served on anchored's
// Unix socket only, for the socket's helper account, and need no password:
// whoever may connect to the socket may ask for that account's registry
// credentials (SPEC section 6).
const (
	HelperGetPath   = "/v1/credential-helper/get"
	HelperStorePath = "/v1/credential-helper/store"
	HelperErasePath = "/v1/credential-helper/erase"
	HelperListPath  = "/v1/credential-helper/list"
)

// The endpoints carry the Docker protocol's own payloads, so that the
// helper passes stdin through and prints the answer as it comes:
//
//	get    request: the server URL as text   answer: HelperCredentials
//	store  request: HelperCredentials        answer: empty, 200
//	erase  request: the server URL as text   answer: empty, 200
//	list   request: empty                    answer: map of server URL to user
//
// Errors are Error bodies. 404 means no entry answers the server URL (the
// helper prints Docker's not-found text); any other error's message is the
// cause, which the helper prints as the protocol's error.

// HelperCredentials is the Docker credential-helper protocol's credentials
// object (docker-credential-helpers credentials.Credentials). The field
// names are the protocol's own, capitalised.
type HelperCredentials struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// HelperMaxBody caps a helper request body: a server URL or one credentials
// object. ECR tokens are about 2 KB, identity tokens similar; 64 KiB is
// plenty and keeps a misbehaving peer from making the daemon buffer much.
const HelperMaxBody = 64 << 10
