package tokenserver

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"
)

type tooMany struct{}

func (tooMany) Error() string             { return "too many attempts" }
func (tooMany) RetryAfter() time.Duration { return 1500 * time.Millisecond }

// TestPasswordCheckHook: every password check, Basic and token endpoint,
// goes through WrapPasswordCheck with the client's address; Basic
// "anonymous:" at the token endpoint is client authentication and is never
// checked; a RetryAfter error is 429 with Retry-After.
func TestPasswordCheckHook(t *testing.T) {
	var mu sync.Mutex
	var seen []PasswordAttempt
	block := false
	e := newEnv(t, Config{OAuthEnabled: true, WrapPasswordCheck: func(next PasswordCheck) PasswordCheck {
		return func(ctx context.Context, a PasswordAttempt) (User, error) {
			mu.Lock()
			seen = append(seen, PasswordAttempt{Username: a.Username, Client: a.Client})
			b := block
			mu.Unlock()
			if b {
				return User{}, tooMany{}
			}
			return next(ctx, a)
		}
	}})
	wantStatus(t, "basic", e.do("GET", "/v1/user", "admin:foobar", ""), 200)
	r := e.do("POST", "/v1/oauth/token", "anonymous:", "grant_type=password&username=admin&password=foobar", "Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, "token with Basic anonymous:", r, 200)
	mu.Lock()
	got := append([]PasswordAttempt(nil), seen...)
	block = true
	mu.Unlock()
	want := []PasswordAttempt{{Username: "admin", Client: "127.0.0.1"}, {Username: "admin", Client: "127.0.0.1"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("checks = %+v, want %+v (anonymous: is not a login)", got, want)
	}
	for _, r := range []resp{
		e.do("GET", "/v1/user", "admin:foobar", ""),
		e.form(url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {"admin"}, "password": {"foobar"}}),
	} {
		wantAnchoreError(t, "throttled", r, 429, "")
		if r.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After = %q, want 2 (1.5 s rounded up)", r.header.Get("Retry-After"))
		}
	}
}
