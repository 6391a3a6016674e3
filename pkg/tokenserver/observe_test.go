package tokenserver

import "testing"

// TestSafeTarget: user information never reaches an audit target.
func TestSafeTarget(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw-secret@reg.example/v2": "https://reg.example/v2",
		"user:pw-secret@reg.example:5000":       "reg.example:5000",
		"https://reg.example":                   "https://reg.example",
		"https://user:pw#secret@reg.example/v2": "https://reg.example/v2",
		"user:pw?secret@reg.example":            "reg.example",
		"https://user:pw/secret@reg.example":    "https://reg.example",
		// A password that reads like a port and a path: indistinguishable
		// from one, so anything before an '@' is dropped.
		"https://user:12/34@reg.example": "https://reg.example",
		"user:5000/team@reg.example":     "reg.example",
		"https://[::1]:5000/team@x":      "https://x",
		"team1":                          "team1",
	} {
		if got := safeTarget(in); got != want {
			t.Errorf("safeTarget(%q) = %q, want %q", in, got, want)
		}
	}
}
