package helpercli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input: each answer exactly, and the vault byte-for-byte unchanged.
func TestProtocolBadInput(t *testing.T) {
	f := newCLIFixture(t, true)
	if r := f.run(`{"ServerURL":"registry.example.com","Username":"u","Secret":"p"}`, "store"); r.code != 0 {
		t.Fatalf("store: %+v", r)
	}
	before := f.vaultBytes()
	long := strings.Repeat("a", 1<<20)
	for _, tc := range []struct {
		name, action, stdin string
		stdout              string
		stderr              string
		code                int
	}{
		{"get empty stdin", "get", "", "no credentials server URL\n", "", 1},
		{"erase empty stdin", "erase", "  \n", "no credentials server URL\n", "", 1},
		{"store empty stdin", "store", "", "EOF\n", "", 1},
		{"store invalid JSON", "store", "{nope", "invalid character 'n' looking for beginning of object key string\n", "", 1},
		{"store without username", "store", `{"ServerURL":"x.example.com"}`, "no credentials username\n", "", 1},
		{"get 1 MiB line", "get", long, "bufio.Scanner: token too long\n", "", 1},
		{"store 1 MiB line", "store", `{"ServerURL":"` + long + `"}`, "bufio.Scanner: token too long\n", "", 1},
		{"get unsupported scheme", "get", "ftp://registry.example.com", "unsupported scheme in server URL: \"ftp\" (want http or https)\n", "", 1},
		{"store unsupported scheme", "store", `{"ServerURL":"ssh://registry.example.com","Username":"u","Secret":"p"}`, "unsupported scheme in server URL: \"ssh\" (want http or https)\n", "", 1},
		{"erase unsupported scheme", "erase", "ftp://registry.example.com", "unsupported scheme in server URL: \"ftp\" (want http or https)\n", "", 1},
		{"get unknown", "get", "other.example.com", "credentials not found in native keychain\n", "", 1},
		{"erase unknown", "erase", "other.example.com", "", "", 0},
		{"unknown action", "frob", "", "", "Error: unknown command \"frob\"\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(tc.stdin, tc.action)
			if r.stdout != tc.stdout || r.stderr != tc.stderr || r.code != tc.code {
				t.Errorf("got stdout %q stderr %q exit %d; want %q %q %d", r.stdout, r.stderr, r.code, tc.stdout, tc.stderr, tc.code)
			}
			if f.vaultBytes() != before {
				t.Errorf("vault changed")
			}
		})
	}
}

// A vault or config that cannot be used answers "get" with the not-found
// text (exit 1) and the cause on one stderr line; "list" answers {}.
func TestProtocolUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *cliFixture)
		cause func(f *cliFixture) string // what the stderr line must contain
	}{
		{"locked",
			func(f *cliFixture) { delete(f.env, "ANCHORE_VAULT_PASSPHRASE_FILE") },
			func(*cliFixture) string {
				return "vault is locked: no passphrase (start anchored, or set ANCHORE_VAULT_PASSPHRASE_FILE)"
			}},
		{"missing",
			func(f *cliFixture) { os.Remove(f.vaultPath) },
			func(f *cliFixture) string { return f.vaultPath + ": vault missing" }},
		{"wrong passphrase",
			func(f *cliFixture) {
				delete(f.env, "ANCHORE_VAULT_PASSPHRASE_FILE")
				f.env["ANCHORE_VAULT_PASSPHRASE"] = "nope"
			},
			func(*cliFixture) string { return "wrong passphrase" }},
		{"broken config",
			func(f *cliFixture) {
				p := filepath.Join(f.home, "config.yaml")
				if err := os.WriteFile(p, []byte("bogus_key: 1\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				f.env["ANCHORE_CONFIG"] = p
			},
			func(*cliFixture) string { return `unknown key "bogus_key"` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCLIFixture(t, true)
			tc.setup(f)
			before := f.vaultBytes()
			want := tc.cause(f)
			r := f.run("registry.example.com", "get")
			if r.stdout != "credentials not found in native keychain\n" || r.code != 1 {
				t.Errorf("get: stdout %q exit %d", r.stdout, r.code)
			}
			if !strings.HasPrefix(r.stderr, Name+": ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("get: stderr %q, want one line containing %q", r.stderr, want)
			}
			r = f.run("unused", "list")
			if r.stdout != "{}\n" || r.code != 0 || !strings.Contains(r.stderr, want) {
				t.Errorf("list: %+v", r)
			}
			if f.vaultBytes() != before {
				t.Errorf("vault changed")
			}
		})
	}
}

func TestProtocolRoundTrip(t *testing.T) {
	f := newCLIFixture(t, true)
	for _, c := range []string{
		`{"ServerURL":"https://index.docker.io/v1/","Username":"hub","Secret":"hubpass"}`,
		`{"ServerURL":"registry.example.com:5000","Username":"<token>","Secret":"idtoken"}`,
	} {
		if r := f.run(c, "store"); r.code != 0 || r.stdout != "" {
			t.Fatalf("store: %+v", r)
		}
	}
	r := f.run("registry.example.com:5000/ns/app", "get")
	var got struct{ ServerURL, Username, Secret string }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("get: %+v (%v)", r, err)
	}
	if got.Username != "<token>" || got.Secret != "idtoken" || got.ServerURL != "registry.example.com:5000/ns/app" {
		t.Errorf("get = %+v", got)
	}
	r = f.run("unused", "list")
	var list map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != 0 {
		t.Fatalf("list: %+v", r)
	}
	if len(list) != 2 || list["https://index.docker.io/v1/"] != "hub" || list["registry.example.com:5000"] != "<token>" {
		t.Errorf("list = %v", list)
	}
	if strings.Contains(r.stdout, "hubpass") || strings.Contains(r.stdout, "idtoken") {
		t.Errorf("list shows a secret: %s", r.stdout)
	}
	if r := f.run("", "version"); !strings.HasPrefix(r.stdout, Name+" (github.com/anchored/anchored) ") || r.code != 0 {
		t.Errorf("version: %q", r.stdout)
	}
}

// store creates the vault when none exists and a passphrase is available.
func TestProtocolStoreCreatesVault(t *testing.T) {
	f := newCLIFixture(t, false)
	if r := f.run(`{"ServerURL":"registry.example.com","Username":"u","Secret":"p"}`, "store"); r.code != 0 {
		t.Fatalf("store: %+v", r)
	}
	if r := f.doc().Registries["admin"]["registry.example.com"]; r == nil || r.Pass != "p" || r.Type != "docker_v2" {
		t.Errorf("stored entry %+v", r)
	}
}
