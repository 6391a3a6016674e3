// Package apitype holds the wire types that anchored's API and its clients
// (docker-credential-anchore) both use, so the two cannot drift. Field names
// and shapes are Anchore Engine's v1 API; changing them breaks anchore-cli
// compatibility.
package apitype

import "time"

// TimeFormat is how the API writes timestamps: RFC 3339, UTC, to the second,
// with "Z" (SPEC section 8).
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime formats t as the API does.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Registry is one registry credential record as the API answers it. It never
// carries the password. Fields are in the order anchore-cli's
// json.dumps(sort_keys=True) prints them, so encoding/json output matches.
type Registry struct {
	CreatedAt      string `json:"created_at"`
	LastUpdated    string `json:"last_updated"`
	Registry       string `json:"registry"`
	RegistryName   string `json:"registry_name"`
	RegistryType   string `json:"registry_type"`
	RegistryUser   string `json:"registry_user"`
	RegistryVerify bool   `json:"registry_verify"`
	UserID         string `json:"userId"`
}

// RegistryRequest is the body of POST /v1/registries and PUT
// /v1/registries/{registry} (Anchore's RegistryConfigurationRequest). A
// field left out (nil) is not sent: a PUT changes only the fields sent.
type RegistryRequest struct {
	Registry       string  `json:"registry,omitempty"`
	RegistryName   *string `json:"registry_name,omitempty"`
	RegistryType   *string `json:"registry_type,omitempty"`
	RegistryUser   *string `json:"registry_user,omitempty"`
	RegistryPass   *string `json:"registry_pass,omitempty"`
	RegistryVerify *bool   `json:"registry_verify,omitempty"`
}
