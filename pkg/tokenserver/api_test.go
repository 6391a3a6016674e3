package tokenserver

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/anchored/anchored/pkg/apitype"
)

// TestSeedTranscript replays the seed document's curl session.
func TestSeedTranscript(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true, HashedPasswords: true})

	r := e.do("GET", "/v1/accounts", "admin:foobar", "")
	wantStatus(t, "GET /v1/accounts", r, 200)
	var accounts []map[string]any
	r.json(t, &accounts)
	if len(accounts) != 1 {
		t.Fatalf("accounts = %v, want one", accounts)
	}
	a := accounts[0]
	ts := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	if a["name"] != "admin" || a["email"] != "admin@myanchore" || a["state"] != "enabled" || a["type"] != "admin" ||
		!ts.MatchString(a["created_at"].(string)) || !ts.MatchString(a["last_updated"].(string)) || len(a) != 6 {
		t.Errorf("admin account = %v, want Anchore's shape", a)
	}
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}

	r = e.form(url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {"admin"}, "password": {"foobar"}})
	wantStatus(t, "token", r, 200)
	var tr map[string]any
	r.json(t, &tr)
	if tr["token_type"] != "Bearer" || tr["expires_in"] != float64(3600) || tr["access_token"] == "" || len(tr) != 3 {
		t.Errorf("token answer = %v", tr)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Errorf("token headers Cache-Control %q Pragma %q", r.header.Get("Cache-Control"), r.header.Get("Pragma"))
	}

	r = e.do("GET", "/v1/account", "Bearer "+tr["access_token"].(string), "")
	wantStatus(t, "GET /v1/account with the token", r, 200)
	var acct apitype.Account
	r.json(t, &acct)
	if acct.Name != "admin" || acct.Type != "admin" {
		t.Errorf("account = %+v", acct)
	}
}

func TestPublicAndAuth(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true})
	tok := e.token("admin", "foobar")
	for _, tc := range []struct {
		path, auth string
		code       int
		body       string
	}{
		{"/v1", "", 200, "\"v1\"\n"},
		{"/health", "", 200, ""},
		{"/v1/health", "", 200, ""},
		{"/user", "admin:foobar", 200, ""},
		{"/v1/user", "Bearer " + tok, 200, ""},
		{"/v1/user", "bEaReR " + tok, 200, ""},
		{"/v1/user", "JWT " + tok, 200, ""},
	} {
		r := e.do("GET", tc.path, tc.auth, "")
		if r.code != tc.code || (tc.body != "" && r.body != tc.body) {
			t.Errorf("GET %s (%s): %d %q, want %d %q", tc.path, tc.auth, r.code, r.body, tc.code, tc.body)
		}
	}
	r := e.do("GET", "/version", "", "")
	if r.code != 200 || !strings.Contains(r.body, `"version"`) {
		t.Errorf("GET /version: %d %q", r.code, r.body)
	}
	for _, auth := range []string{"", "admin:wrong", "nobody:foobar", "Bearer junk", "Digest x"} {
		wantUnauthorized(t, "GET /v1/user "+auth, e.do("GET", "/v1/user", auth, ""))
	}
}

func TestOAuthOff(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.form(url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {"admin"}, "password": {"foobar"}})
	wantAnchoreError(t, "token with OAuth off", r, 403, "Oauth not enabled in configuration")
	// A token from a server with OAuth on means nothing here.
	other := newEnv(t, Config{OAuthEnabled: true})
	wantUnauthorized(t, "bearer with OAuth off", e.do("GET", "/v1/user", "Bearer "+other.token("admin", "foobar"), ""))
	wantStatus(t, "basic with OAuth off", e.do("GET", "/v1/user", "admin:foobar", ""), 200)
}

func TestTokenEndpointErrors(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true})
	ok := url.Values{"grant_type": {"password"}, "client_id": {"anonymous"}, "username": {"admin"}, "password": {"foobar"}}
	with := func(k, v string) url.Values {
		u := url.Values{}
		for k2, v2 := range ok {
			u[k2] = v2
		}
		if v == "" {
			u.Del(k)
		} else {
			u.Set(k, v)
		}
		return u
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no grant", with("grant_type", ""), "unsupported_grant_type"},
		{"other grant", with("grant_type", "client_credentials"), "unsupported_grant_type"},
		{"no client", with("client_id", ""), "invalid_client"},
		{"other client", with("client_id", "webapp"), "invalid_client"},
		{"client secret", with("client_secret", "x"), "invalid_client"},
		{"no username", with("username", ""), "invalid_request"},
		{"no password", with("password", ""), "invalid_request"},
		{"wrong password", with("password", "nope"), "invalid_grant"},
		{"unknown user", with("username", "ghost"), "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.form(tc.form)
			var oe apitype.OAuthError
			r.json(t, &oe)
			if r.code != 400 || oe.Error != tc.want || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("got %d %q, want 400 %s with no-store", r.code, r.body, tc.want)
			}
		})
	}
	// Anchore's convenience: empty body, Basic credentials.
	r := e.do("POST", "/v1/oauth/token", "admin:foobar", "")
	wantStatus(t, "empty body with Basic", r, 200)
	r = e.do("POST", "/v1/oauth/token", "admin:nope", "")
	wantStatus(t, "empty body with wrong Basic", r, 400)
	// Basic anonymous: is client authentication; the form decides.
	r = e.do("POST", "/v1/oauth/token", "anonymous:", "grant_type=password&username=admin&password=foobar", "Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, "Basic anonymous: with the form", r, 200)
	r = e.do("POST", "/v1/oauth/token", "", `{"username":"admin"}`)
	wantStatus(t, "JSON body", r, 400)
}

// TestPermissions is the permission table of Anchore's native authorizer.
func TestPermissions(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkUser("team1", "alice", "alicepw1")
	e.mkUser("team1", "alice2", "alicepw2")
	e.mkUser("team2", "bob", "bobpass1")
	for _, tc := range []struct {
		name, method, path, auth, body string
		hdr                            []string
		code                           int
		msg                            string
	}{
		{"non-admin lists accounts", "GET", "/v1/accounts", "alice:alicepw1", "", nil, 403, "Not authorized. Requires permissions: domain=system action=listAccounts target=*"},
		{"non-admin creates account", "POST", "/v1/accounts", "alice:alicepw1", `{"name":"team3"}`, nil, 403, ""},
		{"non-admin reads own account", "GET", "/v1/accounts/team1", "alice:alicepw1", "", nil, 200, ""},
		{"non-admin reads other account", "GET", "/v1/accounts/team2", "alice:alicepw1", "", nil, 403, "Not authorized. Requires permissions: domain=team2 action=getAccount target=*"},
		{"non-admin as other account", "GET", "/v1/account", "alice:alicepw1", "", []string{"x-anchore-account", "team2"}, 403, ""},
		{"non-admin as own account", "GET", "/v1/account", "alice:alicepw1", "", []string{"x-anchore-account", "team1"}, 200, ""},
		{"admin as other account", "GET", "/v1/account", "admin:foobar", "", []string{"x-anchore-account", "team2"}, 200, ""},
		{"non-admin lists own users", "GET", "/v1/accounts/team1/users", "alice:alicepw1", "", nil, 200, ""},
		{"non-admin adds user in other account", "POST", "/v1/accounts/team2/users", "alice:alicepw1", `{"username":"mallory","password":"secret1"}`, nil, 403, ""},
		{"user deletes itself", "DELETE", "/v1/accounts/team1/users/alice", "alice:alicepw1", "", nil, 400, "Cannot delete credential used for authentication of the request"},
		{"admin deletes admin user", "DELETE", "/v1/accounts/admin/users/admin", "bob:bobpass1", "", nil, 403, ""},
		{"user of other account is not found", "GET", "/v1/accounts/team2/users/alice", "admin:foobar", "", nil, 404, "User not found"},
		{"delete enabled account", "DELETE", "/v1/accounts/team2", "admin:foobar", "", nil, 400, "Invalid account state change requested. Cannot go from state enabled to state deleting"},
		{"delete admin account", "DELETE", "/v1/accounts/admin", "admin:foobar", "", nil, 400, "Account cannot be deleted"},
		{"disable admin account", "PUT", "/v1/accounts/admin/state", "admin:foobar", `{"state":"disabled"}`, nil, 400, "Cannot disable the admin account"},
		{"unknown account", "GET", "/v1/accounts/nosuch", "admin:foobar", "", nil, 404, "Account not found"},
		{"reserved name", "POST", "/v1/accounts", "admin:foobar", `{"name":"system"}`, nil, 400, "Invalid account request: Cannot use name system"},
		{"name too short", "POST", "/v1/accounts", "admin:foobar", `{"name":"ab"}`, nil, 400, ""},
		{"name with bad end", "POST", "/v1/accounts", "admin:foobar", `{"name":"team-"}`, nil, 400, ""},
		{"duplicate account", "POST", "/v1/accounts", "admin:foobar", `{"name":"team1"}`, nil, 400, "Account already exists"},
		{"admin account type", "POST", "/v1/accounts", "admin:foobar", `{"name":"team9","type":"admin"}`, nil, 400, ""},
		{"password too short", "POST", "/v1/accounts/team1/users", "admin:foobar", `{"username":"carol","password":"12345"}`, nil, 400, ""},
		// Anchore's pattern ".{6,128}$" is searched, not matched: longer passes.
		{"password over 128 characters", "POST", "/v1/accounts/team1/users", "admin:foobar", `{"username":"carol","password":"` + strings.Repeat("x", 129) + `"}`, nil, 200, ""},
		{"email without an at sign", "POST", "/v1/accounts", "admin:foobar", `{"name":"team7","email":"not-an-email"}`, nil, 400, `Validation failed: "not-an-email" is not a 'email'`},
		{"duplicate user across accounts", "POST", "/v1/accounts/team2/users", "admin:foobar", `{"username":"alice","password":"secret1"}`, nil, 400, "User already exists"},
		{"user name with at sign", "POST", "/v1/accounts/team1/users", "alice:alicepw1", `{"username":"carol@example.com","password":"123456"}`, nil, 200, ""},
		{"wrong credential type", "POST", "/v1/user/credentials", "alice:alicepw1", `{"type":"token","value":"x"}`, nil, 400, "Invalid credential type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.auth, tc.body, tc.hdr...)
			if tc.code >= 400 {
				wantAnchoreError(t, tc.name, r, tc.code, tc.msg)
			} else {
				wantStatus(t, tc.name, r, tc.code)
			}
		})
	}

	// A disabled account: every route, /user included, is 403.
	wantStatus(t, "disable team2", e.do("PUT", "/v1/accounts/team2/state", "admin:foobar", `{"state":"disabled"}`), 200)
	wantAnchoreError(t, "disabled account", e.do("GET", "/v1/user", "bob:bobpass1", ""), 403, "Not authorized. Account team2 not enabled.")
	// Now it can be deleted, with its users.
	r := e.do("DELETE", "/v1/accounts/team2", "admin:foobar", "")
	if r.code != 200 || !strings.Contains(r.body, `"state": "deleting"`) {
		t.Errorf("delete disabled account: %d %q", r.code, r.body)
	}
	// Deleting: the account is shown so, and its users are refused.
	wantAnchoreError(t, "user of deleting account", e.do("GET", "/v1/user", "bob:bobpass1", ""), 403, "Not authorized. Account team2 not enabled.")
	if err := e.srv.tearDown(context.Background(), "team2"); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, "user of deleted account", e.do("GET", "/v1/user", "bob:bobpass1", ""))

	// A member deletes another user of its account: 204, no body.
	r = e.do("DELETE", "/v1/accounts/team1/users/alice2", "alice:alicepw1", "")
	if r.code != 204 || r.body != "" {
		t.Errorf("delete user: %d %q, want 204 and no body", r.code, r.body)
	}
	// Password change through /user/credentials: old fails, new works.
	r = e.do("POST", "/v1/user/credentials", "alice:alicepw1", `{"type":"password","value":"newpass1"}`)
	if r.code != 200 || !strings.Contains(r.body, `"type": "password"`) || strings.Contains(r.body, "newpass1") {
		t.Errorf("set own password: %d %q", r.code, r.body)
	}
	wantUnauthorized(t, "old password", e.do("GET", "/v1/user", "alice:alicepw1", ""))
	wantStatus(t, "new password", e.do("GET", "/v1/user", "alice:newpass1", ""), 200)
	// Removing a user's credential: it can no longer log in, even with an
	// empty password.
	e.mkUser("team1", "dave", "davepass")
	wantStatus(t, "delete credential", e.do("DELETE", "/v1/accounts/team1/users/dave/credentials?credential_type=password", "admin:foobar", ""), 204)
	wantUnauthorized(t, "user without credential", e.do("GET", "/v1/user", "dave:", ""))
	r = e.do("GET", "/v1/accounts/team1/users/dave/credentials", "admin:foobar", "")
	if r.code != 200 || strings.TrimSpace(r.body) != "[]" {
		t.Errorf("credentials of a user without one: %d %q, want []", r.code, r.body)
	}
}

// TestBadInput: malformed and oversized input get Anchore's error shape,
// never a 500, and leave the vault as it was.
func TestBadInput(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true, MaxBodyBytes: 1024})
	before, err := os.ReadFile(e.vault.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
	}{
		{"POST", "/v1/accounts", `{"name":`, 400},
		{"POST", "/v1/accounts", `["team1"]`, 400},
		{"POST", "/v1/accounts", `{"name":"team1"} {}`, 400},
		{"POST", "/v1/accounts", `{"name":"` + strings.Repeat("a", 2000) + `"}`, 413},
		{"PUT", "/v1/accounts/admin/state", `{"state":"sleeping"}`, 400},
		{"POST", "/v1/accounts/admin/users", `{"username":1}`, 400},
		{"GET", "/v1/accounts?state=bogus", "", 400},
		{"GET", "/v1/nosuch", "", 404},
		{"PATCH", "/v1/accounts", "", 405},
		{"DELETE", "/v1/user", "", 405},
		{"GET", "/v1/accounts/a%2Fb", "", 404},
		{"DELETE", "/v1/accounts/admin/users/admin/credentials?credential_type=secret", "", 400},
		{"GET", "/v1/oauth/jwks", "", 404},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantAnchoreError(t, tc.method+" "+tc.path, e.do(tc.method, tc.path, "admin:foobar", tc.body), tc.code, "")
		})
	}
	r := e.do("POST", "/v1/oauth/token", "", "grant_type=password&"+strings.Repeat("x", 2000), "Content-Type", "application/x-www-form-urlencoded")
	if r.code != 413 {
		t.Errorf("oversized token form: %d %q, want 413", r.code, r.body)
	}
	after, _ := os.ReadFile(e.vault.Path())
	if string(before) != string(after) {
		t.Error("bad input changed the vault")
	}
}

func TestHashedPasswords(t *testing.T) {
	e := newEnv(t, Config{OAuthEnabled: true, HashedPasswords: true})
	e.mkUser("team1", "alice", "alicepw1")
	u, err := e.srv.store.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Password != "" || !strings.HasPrefix(u.PasswordHash, "$scrypt$ln=4,r=8,p=1$") {
		t.Errorf("stored user has Password %q, PasswordHash %q; want only a scrypt hash", u.Password, u.PasswordHash)
	}
	n := e.hasher.Verifies()
	wantStatus(t, "login", e.do("GET", "/v1/user", "alice:alicepw1", ""), 200)
	wantUnauthorized(t, "unknown user", e.do("GET", "/v1/user", "ghost:alicepw1", ""))
	if got := e.hasher.Verifies() - n; got != 2 {
		t.Errorf("hashes for one login and one unknown user = %d, want 2 (unknown users cost the same)", got)
	}
	r := e.do("GET", "/v1/user/credentials", "alice:alicepw1", "")
	if strings.Contains(r.body, "scrypt") || !strings.Contains(r.body, credentialMask) {
		t.Errorf("credentials = %q, want the mask only", r.body)
	}
}
