package apitype

// User types, as Anchore names them.
const (
	UserTypeNative   = "native"
	UserTypeInternal = "internal"
	UserTypeExternal = "external"
)

// User is Anchore's User object. Source is null for native users.
type User struct {
	CreatedAt   Time    `json:"created_at"`
	LastUpdated Time    `json:"last_updated"`
	Source      *string `json:"source"`
	Type        string  `json:"type"`
	Username    string  `json:"username"`
}

// UserCreationRequest is the body of POST /accounts/{a}/users.
type UserCreationRequest struct {
	Password string `json:"password"`
	Username string `json:"username"`
}

// CredentialTypePassword is the only credential type.
const CredentialTypePassword = "password"

// Credential is Anchore's AccessCredential. In answers Value is masked: one
// "*" per stored character, as Anchore does.
type Credential struct {
	CreatedAt Time   `json:"created_at"`
	Type      string `json:"type"`
	Value     string `json:"value"`
}
