package tokenserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/leakcheck"
	"github.com/anchored/anchored/internal/regtest"
	"github.com/anchored/anchored/pkg/helper/ecr"
	"github.com/anchored/anchored/pkg/helper/ecr/awsecr"
	"github.com/anchored/anchored/pkg/vault"
)

// Every response of every test in this package passes through
// leaks.Handler, and TestMain fails the package if any holds a password a
// request stored (internal/leakcheck).
var leaks = leakcheck.New()

func TestMain(m *testing.M) { leakcheck.Main(m, leaks, func() { closePG() }) }

func TestRegistriesAPI(t *testing.T) {
	reg := regtest.Start(t)
	e := newEnv(t, Config{Registries: RegistryOptions{Transport: reg.Transport, Resolver: &ecr.Resolver{AWS: awsecr.Client{}}}})
	e.mkUser("acct2", "bob", "bob-password")
	h := reg.Host
	esc := url.PathEscape
	body := func(registry, user, pass string) string {
		b, _ := json.Marshal(map[string]any{"registry": registry, "registry_user": user, "registry_pass": pass, "registry_type": "docker_v2", "registry_verify": true})
		return string(b)
	}
	const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	for _, tc := range []struct {
		name           string
		method, path   string
		auth, body     string
		hdr            []string
		code           int
		msg            string   // Anchore error message, if code >= 400
		wantRegistries []string // registries in a list answer
	}{
		{name: "trailing slash", method: "POST", path: "/v1/registries", body: body(h+"/", reg.User, reg.Pass),
			code: 409, msg: "input registry name cannot end with trailing '/' characters"},
		{name: "scheme", method: "POST", path: "/v1/registries", body: body("https://"+h, reg.User, reg.Pass),
			code: 409, msg: "input registry name must start with a hostname/ip, without URI schema (http://, https://)"},
		{name: "add, validated against the registry", method: "POST", path: "/v1/registries", body: body(h, reg.User, reg.Pass),
			code: 200, wantRegistries: []string{h}},
		{name: "duplicate", method: "POST", path: "/v1/registries", body: body(h, reg.User, reg.Pass),
			code: 409, msg: "registry already exists in DB"},
		{name: "awsauto disabled", method: "POST", path: "/v1/registries",
			body: `{"registry":"` + ecrHost + `","registry_user":"awsauto","registry_pass":"awsauto","registry_type":"awsecr"}`,
			code: 406, msg: "'awsauto' is not enabled in service configuration"},
		{name: "awsauto disabled without validation", method: "POST", path: "/v1/registries?validate=false",
			body: `{"registry":"` + ecrHost + `","registry_user":"awsauto","registry_pass":"awsauto","registry_type":"awsecr"}`,
			code: 406, msg: "'awsauto' is not enabled in service configuration"},
		{name: "validation failed", method: "POST", path: "/v1/registries", body: body(h+"/team/app", reg.User, "wrong-registry-password"),
			code: 406},
		{name: "validation failed stored nothing", method: "GET", path: "/v1/registries/" + esc(h+"/team/app"),
			code: 404, msg: "registry not found in DB"},
		{name: "validate=False in any case skips the check", method: "POST", path: "/v1/registries?validate=False", body: body(h+"/skip", reg.User, "unchecked-password"),
			code: 200, wantRegistries: []string{h + "/skip"}},
		{name: "bad validate", method: "POST", path: "/v1/registries?validate=maybe", body: body(h+"/x", reg.User, reg.Pass), code: 400},
		{name: "list", method: "GET", path: "/v1/registries", code: 200, wantRegistries: []string{h, h + "/skip"}},
		{name: "get with %2F", method: "GET", path: "/v1/registries/" + esc(h+"/skip"), code: 200, wantRegistries: []string{h + "/skip"}},
		{name: "get without /v1", method: "GET", path: "/registries/" + esc(h), code: 200, wantRegistries: []string{h}},
		{name: "update, validated (TRUE)", method: "PUT", path: "/v1/registries/" + esc(h+"/skip") + "?validate=TRUE", body: body(h+"/skip", reg.User, reg.Pass),
			code: 200, wantRegistries: []string{h + "/skip"}},
		{name: "update with wrong password fails validation", method: "PUT", path: "/v1/registries/" + esc(h+"/skip"), body: body(h+"/skip", reg.User, "another-wrong-password"),
			code: 406},
		{name: "update path and body differ", method: "PUT", path: "/v1/registries/" + esc(h), body: body(h+"/skip", reg.User, reg.Pass),
			code: 409, msg: "registry name in path does not equal registry name in body"},
		{name: "update missing", method: "PUT", path: "/v1/registries/absent.example.com?validate=false", body: body("absent.example.com", "u", "absent-password"),
			code: 404, msg: "could not find existing registry to update"},
		{name: "get missing", method: "GET", path: "/v1/registries/absent.example.com", code: 404, msg: "registry not found in DB"},
		{name: "delete", method: "DELETE", path: "/v1/registries/" + esc(h+"/skip"), code: 200},
		{name: "delete again", method: "DELETE", path: "/v1/registries/" + esc(h+"/skip"), code: 200},
		{name: "deleted", method: "GET", path: "/v1/registries", code: 200, wantRegistries: []string{h}},

		// Per account: an admin acts as acct2; bob (acct2, not admin) sees
		// his account's entries and may not act as another.
		{name: "admin as acct2", method: "POST", path: "/v1/registries?validate=false", hdr: []string{"x-anchore-account", "acct2"},
			body: body("acct2.example.com", "u", "acct2-registry-password"), code: 200, wantRegistries: []string{"acct2.example.com"}},
		{name: "admin's own list unchanged", method: "GET", path: "/v1/registries", code: 200, wantRegistries: []string{h}},
		{name: "non-admin sees own account", method: "GET", path: "/v1/registries", auth: "bob:bob-password", code: 200, wantRegistries: []string{"acct2.example.com"}},
		{name: "non-admin names own account", method: "GET", path: "/v1/registries", auth: "bob:bob-password", hdr: []string{"x-anchore-account", "acct2"},
			code: 200, wantRegistries: []string{"acct2.example.com"}},
		{name: "non-admin as admin", method: "GET", path: "/v1/registries", auth: "bob:bob-password", hdr: []string{"x-anchore-account", "admin"}, code: 403},
		{name: "non-admin adds as admin", method: "POST", path: "/v1/registries?validate=false", auth: "bob:bob-password", hdr: []string{"x-anchore-account", "admin"},
			body: body("bob.example.com", "u", "bob-registry-password"), code: 403},
		{name: "no credentials", method: "GET", path: "/v1/registries", auth: "-", code: 401},
		// An admin naming an account that does not exist: 404, and nothing
		// is stored under it.
		{name: "admin lists a missing account", method: "GET", path: "/v1/registries", hdr: []string{"x-anchore-account", "nosuch"},
			code: 404, msg: "Account not found"},
		{name: "admin adds to a missing account", method: "POST", path: "/v1/registries?validate=false", hdr: []string{"x-anchore-account", "nosuch"},
			body: body("nosuch.example.com", "u", "nosuch-registry-password"), code: 404, msg: "Account not found"},
		{name: "admin gets from a missing account", method: "GET", path: "/v1/registries/nosuch.example.com", hdr: []string{"x-anchore-account", "nosuch"},
			code: 404, msg: "Account not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := tc.auth
			switch auth {
			case "":
				auth = "admin:foobar"
			case "-":
				auth = ""
			}
			r := e.do(tc.method, tc.path, auth, tc.body, tc.hdr...)
			if tc.msg != "" {
				wantAnchoreError(t, tc.name, r, tc.code, tc.msg)
				return
			}
			wantStatus(t, tc.name, r, tc.code)
			if tc.code != 200 {
				return
			}
			if tc.method == "DELETE" {
				if strings.TrimSpace(r.body) != "true" {
					t.Errorf("DELETE body = %q, want true", r.body)
				}
				return
			}
			var recs []map[string]any
			r.json(t, &recs)
			var got []string
			for _, rec := range recs {
				got = append(got, rec["registry"].(string))
				if _, ok := rec["registry_pass"]; ok {
					t.Errorf("record has registry_pass: %v", rec)
				}
				for _, k := range []string{"registry", "registry_name", "registry_type", "registry_user", "registry_verify", "userId", "created_at", "last_updated"} {
					if _, ok := rec[k]; !ok {
						t.Errorf("record lacks %q: %v", k, rec)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantRegistries) {
				t.Errorf("registries = %q, want %q", got, tc.wantRegistries)
			}
		})
	}
}

// A PUT changes only the fields it sends (Anchore's behaviour): for each
// single field, the entry afterwards is the entry before with that field
// (and last_updated) changed, and the rest of the vault's registries are
// untouched.
func TestRegistryPartialUpdate(t *testing.T) {
	const host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	for _, tc := range []struct {
		name, body string
		apply      func(r *vault.Registry)
	}{
		{"registry_name", `{"registry_name":"renamed"}`, func(r *vault.Registry) { r.Name = "renamed" }},
		{"registry_type", `{"registry_type":"awsecr"}`, func(r *vault.Registry) { r.Type = "awsecr" }},
		{"registry_user", `{"registry_user":"new-user"}`, func(r *vault.Registry) { r.User = "new-user" }},
		{"registry_pass", `{"registry_pass":"new-registry-password"}`, func(r *vault.Registry) { r.Pass = "new-registry-password" }},
		{"registry_verify", `{"registry_verify":true}`, func(r *vault.Registry) { r.Verify = true }},
		{"registry only", `{"registry":"` + host + `"}`, func(*vault.Registry) {}},
		{"empty body", `{}`, func(*vault.Registry) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Registries: RegistryOptions{Resolver: &ecr.Resolver{AWS: awsecr.Client{}}}})
			for _, b := range []string{
				`{"registry":"` + host + `","registry_name":"ecr","registry_type":"docker_v2","registry_user":"old-user","registry_pass":"old-registry-password","registry_verify":false}`,
				`{"registry":"other.example.com","registry_user":"o","registry_pass":"other-registry-password"}`,
			} {
				wantStatus(t, "add", e.do("POST", "/v1/registries?validate=false", "admin:foobar", b), 200)
			}
			before := registriesOf(t, e)
			e.now = e.now.Add(time.Hour)
			r := e.do("PUT", "/v1/registries/"+host+"?validate=false", "admin:foobar", tc.body)
			wantStatus(t, "update", r, 200)
			want := before
			tc.apply(want["admin"][host])
			want["admin"][host].LastUpdated = e.now.UTC()
			if got := registriesOf(t, e); !reflect.DeepEqual(got, want) {
				t.Errorf("after PUT %s:\n got %+v\nwant %+v", tc.body, got["admin"][host], want["admin"][host])
			}
		})
	}
}

// registriesOf is a deep copy of the vault's registry entries as stored.
func registriesOf(t *testing.T, e *testEnv) map[string]map[string]*vault.Registry {
	t.Helper()
	if _, err := e.vault.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e.vault.Document().Clone().Registries
}
