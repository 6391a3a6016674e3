package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// auditLine is one audit event as the audit file holds it.
type auditLine struct {
	Msg       string `json:"msg"`
	Action    string `json:"action"`
	Outcome   string `json:"outcome"`
	Code      int    `json:"code"`
	Target    string `json:"target"`
	Namespace string `json:"namespace"`
	Actor     struct {
		Transport string `json:"transport"`
		User      string `json:"user"`
		Account   string `json:"account"`
		Method    string `json:"method"`
		PeerUID   *int   `json:"peer_uid"`
		PeerPID   *int   `json:"peer_pid"`
		Client    string `json:"client"`
	} `json:"actor"`
}

// TestAuditEvents: each action of the table leaves exactly one event in
// the audit file, with its actor (API user and client address, or the
// socket peer's uid and pid), target and outcome; unaudited requests leave
// none; and no audit line holds a stored secret (leaks scans them).
func TestAuditEvents(t *testing.T) {
	dir := t.TempDir()
	auditFile := filepath.Join(dir, "audit.log")
	d := startOps(t, "audit:\n  reads: true\n  file: "+auditFile+"\nuser_authentication:\n  oauth:\n    enabled: true\n")
	sock := d.socketClient()
	const admin = "admin:foobar"
	type step struct {
		do                     func() (int, string)
		action, user, target   string
		transport, outcome, ns string
	}
	api := func(method, path, auth, body string, h ...string) func() (int, string) {
		return func() (int, string) { return d.call(t, method, path, auth, body, h...) }
	}
	helper := func(op, body string) func() (int, string) {
		return func() (int, string) {
			return doHTTP(t, sock, "POST", "http://anchored/v1/credential-helper/"+op, "", body)
		}
	}
	token := func(user, pass string) func() (int, string) {
		return func() (int, string) {
			res, err := http.PostForm("http://"+d.addr+"/v1/oauth/token", url.Values{"grant_type": {"password"},
				"client_id": {"anonymous"}, "username": {user}, "password": {pass}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode, ""
		}
	}
	const reg = "/v1/registries/reg.example:5000"
	steps := []step{
		// At start: OAuth on and no key configured, so one is generated.
		{nil, "key.generate", "", "signing_key", "internal", "success", ""},
		{token("admin", "foobar"), "token.issue", "admin", "", "tcp", "success", ""},
		{token("admin", "wrong-password"), "token.issue", "", "", "tcp", "failure", ""},
		{api("POST", "/v1/accounts", admin, `{"name":"team1"}`), "account.create", "admin", "team1", "tcp", "success", ""},
		{api("GET", "/v1/account", admin, ""), "", "", "", "", "", ""}, // not audited
		{api("POST", "/v1/accounts", admin, `{"name":"admin"}`), "account.create", "admin", "admin", "tcp", "failure", ""},
		{api("POST", "/v1/accounts/team1/users", admin, `{"username":"alice","password":"alice-first-pw"}`), "user.create", "admin", "alice", "tcp", "success", ""},
		{api("POST", "/v1/accounts/team1/users/alice/credentials", admin, `{"type":"password","value":"alice-second-pw"}`), "credential.set", "admin", "alice", "tcp", "success", ""},
		{api("POST", "/v1/user/credentials", "alice:alice-second-pw", `{"type":"password","value":"alice-third-pw"}`), "credential.set", "alice", "alice", "tcp", "success", ""},
		{api("POST", "/v1/registries?validate=false", admin, `{"registry":"reg.example:5000","registry_user":"ru","registry_pass":"registry-pass-1"}`), "registry.create", "admin", "reg.example:5000", "tcp", "success", "admin"},
		{api("GET", reg, admin, ""), "registry.get", "admin", "reg.example:5000", "tcp", "success", "admin"},
		{api("PUT", reg+"?validate=false", admin, `{"registry":"reg.example:5000","registry_user":"ru","registry_pass":"registry-pass-2"}`), "registry.update", "admin", "reg.example:5000", "tcp", "success", "admin"},
		{api("GET", "/v1/registries", "alice:alice-third-pw", "", "x-anchore-account", "admin"), "registry.list", "alice", "", "tcp", "failure", ""},
		{api("GET", "/v1/account", "admin:wrong-password", ""), "auth.login", "admin", "", "tcp", "failure", ""},
		{api("GET", "/v1/account", "alice-third-pw:x", ""), "auth.login", "", "", "tcp", "failure", ""},
		{helper("store", `{"ServerURL":"https://helper.example","Username":"hu","Secret":"helper-secret-1"}`), "helper.store", "", "https://helper.example", "unix", "success", ""},
		{helper("get", "https://helper.example"), "helper.get", "", "https://helper.example", "unix", "success", ""},
		{helper("list", ""), "helper.list", "", "", "unix", "success", ""},
		{helper("erase", "https://helper.example"), "helper.erase", "", "https://helper.example", "unix", "success", ""},
		{api("DELETE", reg, admin, ""), "registry.delete", "admin", "reg.example:5000", "tcp", "success", "admin"},
		{api("DELETE", "/v1/accounts/team1/users/alice", admin, ""), "user.delete", "admin", "alice", "tcp", "success", ""},
		{api("PUT", "/v1/accounts/team1/state", admin, `{"state":"disabled"}`), "account.state", "admin", "team1", "tcp", "success", ""},
		{api("DELETE", "/v1/accounts/team1", admin, ""), "account.delete", "admin", "team1", "tcp", "success", ""},
	}
	var wantEvents []step
	for i, s := range steps {
		if s.do == nil {
			wantEvents = append(wantEvents, s)
			continue
		}
		code, body := s.do()
		if code >= 500 {
			t.Fatalf("step %d (%s): %d %s", i, s.action, code, body)
		}
		if s.action != "" {
			wantEvents = append(wantEvents, s)
		}
	}

	f, err := os.Open(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []auditLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		leaks.Text("audit file", sc.Text())
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if l.Action == "account.purge" { // the background teardown, timing its own
			continue
		}
		got = append(got, l)
	}
	if len(got) != len(wantEvents) {
		t.Fatalf("%d audit events, want %d:\n%v", len(got), len(wantEvents), got)
	}
	for i, w := range wantEvents {
		g := got[i]
		if g.Msg != "audit" || g.Action != w.action || g.Outcome != w.outcome || g.Target != w.target ||
			g.Actor.Transport != w.transport || g.Actor.User != w.user || (w.ns != "" && g.Namespace != w.ns) {
			t.Errorf("event %d: %+v, want action %s user %q target %q via %s, %s", i, g, w.action, w.user, w.target, w.transport, w.outcome)
		}
		switch w.transport {
		case "unix":
			if g.Actor.PeerUID == nil || *g.Actor.PeerUID != os.Getuid() || g.Actor.PeerPID == nil || *g.Actor.PeerPID != os.Getpid() {
				t.Errorf("event %d (%s): peer uid/pid %v/%v, want %d/%d", i, w.action, g.Actor.PeerUID, g.Actor.PeerPID, os.Getuid(), os.Getpid())
			}
		case "tcp":
			if g.Actor.Client != "127.0.0.1" {
				t.Errorf("event %d (%s): client %q, want 127.0.0.1", i, w.action, g.Actor.Client)
			}
		}
	}
	// Secrets the leak check cannot see on the wire are named too.
	for _, s := range []string{"alice-first-pw", "alice-second-pw", "alice-third-pw", "registry-pass-1", "registry-pass-2", "helper-secret-1"} {
		leaks.Secret(s)
		b, _ := os.ReadFile(auditFile)
		if strings.Contains(string(b), s) {
			t.Errorf("the audit file holds the secret %q", s)
		}
	}
}
