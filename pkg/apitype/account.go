// Package apitype holds the JSON shapes of anchored's HTTP API, shared by
// the server (pkg/tokenserver) and its clients so the two cannot drift.
// Field names and shapes are Anchore Engine's v1 API as it really answers;
// fields are declared in alphabetical order because Anchore's responses
// come out with sorted keys.
package apitype

import (
	"strings"
	"time"
)

// TimeLayout is Anchore's timestamp format: RFC 3339, UTC, whole seconds, "Z".
const TimeLayout = "2006-01-02T15:04:05Z"

// Time marshals as TimeLayout.
type Time struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// Account states and types, as Anchore names them.
const (
	AccountEnabled  = "enabled"
	AccountDisabled = "disabled"
	AccountDeleting = "deleting"

	AccountTypeUser    = "user"
	AccountTypeAdmin   = "admin"
	AccountTypeService = "service"
)

// Account is Anchore's Account object.
type Account struct {
	CreatedAt   Time   `json:"created_at"`
	Email       string `json:"email"`
	LastUpdated Time   `json:"last_updated"`
	Name        string `json:"name"`
	State       string `json:"state"`
	Type        string `json:"type"`
}

// AccountCreationRequest is the body of POST /accounts.
type AccountCreationRequest struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
}

// AccountStatus is the body of PUT /accounts/{a}/state and its answer, and
// the answer of DELETE /accounts/{a}.
type AccountStatus struct {
	State string `json:"state"`
}
