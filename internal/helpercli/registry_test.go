package helpercli

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/anchored/anchored/internal/regtest"
	"github.com/anchored/anchored/pkg/apitype"
	"github.com/anchored/anchored/pkg/vault"
)

// registry add against a real registry: good credentials are stored, bad
// ones refused (exit 1, nothing stored), and a Bearer registry works too.
func TestRegistryAddValidates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *regtest.Registry
	}{
		{"basic", regtest.Start},
		{"bearer", regtest.StartBearer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := tc.start(t)
			f := newCLIFixture(t, true)
			f.transport = reg.Transport
			before := f.vaultBytes()
			r := f.run("", "registry", "add", reg.Host, reg.User, "wrong")
			wantErr := "Error: cannot validate registry credentials: cannot login to registry user=regtest registry=" + reg.URL + " - invalid username/password\n"
			if r.code != 1 || r.stdout != "" || r.stderr != wantErr {
				t.Errorf("bad password: %+v, want exit 1 and %q", r, wantErr)
			}
			if f.vaultBytes() != before {
				t.Errorf("vault changed by a refused add")
			}
			r = f.run(reg.Pass+"\n", "registry", "add", reg.Host, reg.User, "--password-stdin")
			want := "Registry: " + reg.Host + "\nName: " + reg.Host + "\nUser: regtest\nType: docker_v2\nVerify TLS: True\nCreated: 2026-11-23T12:00:00Z\nUpdated: 2026-11-23T12:00:00Z\n"
			if r.code != 0 || r.stdout != want || r.stderr != "" {
				t.Errorf("good password: %+v, want\n%s", r, want)
			}
			e := f.doc().Registries["admin"][reg.Host]
			if e == nil || e.Pass != reg.Pass || e.User != reg.User {
				t.Errorf("stored %+v", e)
			}
		})
	}
}

// --insecure skips TLS verification: the in-process run has no CA trust.
func TestRegistryAddInsecure(t *testing.T) {
	reg := regtest.Start(t)
	f := newCLIFixture(t, true)
	if r := f.run("", "registry", "add", reg.Host, reg.User, reg.Pass); r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("untrusted CA: %+v, want exit 1 naming the certificate", r)
	}
	r := f.run("", "registry", "add", reg.Host, reg.User, reg.Pass, "--insecure")
	if r.code != 0 || !strings.Contains(r.stdout, "Verify TLS: False\n") {
		t.Errorf("--insecure: %+v", r)
	}
}

// Rejected input: exact message and exit code, vault byte-for-byte
// unchanged. --skip-validate so that only the checks under test run.
func TestRegistryRejects(t *testing.T) {
	f := newCLIFixture(t, true)
	if r := f.run("", "registry", "add", "registry.example.com:5000", "u", "p", "--skip-validate"); r.code != 0 {
		t.Fatalf("add: %+v", r)
	}
	before := f.vaultBytes()
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		stderr string
		code   int
	}{
		{"trailing slash", "", []string{"registry", "add", "registry.example.com/", "u", "p", "--skip-validate"},
			"Error: input registry name cannot end with trailing '/' characters\n", 1},
		{"scheme", "", []string{"registry", "add", "https://registry.example.com", "u", "p", "--skip-validate"},
			"Error: input registry name must start with a hostname/ip, without URI schema (http://, https://)\n", 1},
		{"duplicate", "", []string{"registry", "add", "Registry.Example.com:5000", "u", "p", "--skip-validate"},
			"Error: registry already exists in DB\n", 1},
		{"unknown type", "", []string{"registry", "add", "other.example.com", "u", "p", "--registry-type", "gcr", "--skip-validate"},
			"Error: unknown registry type (want docker_v2 or awsecr): \"gcr\"\n", 2},
		{"missing password", "", []string{"registry", "add", "other.example.com", "u"},
			"Error: missing PASSWORD: give it as an argument or with --password-stdin\n", 2},
		{"empty password stdin", "", []string{"registry", "add", "other.example.com", "u", "--password-stdin"},
			"Error: empty password on stdin\n", 1},
		{"update missing", "", []string{"registry", "update", "other.example.com", "u", "p", "--skip-validate"},
			"Error: registry not found in DB\n", 1},
		{"get missing", "", []string{"registry", "get", "other.example.com"},
			"Error: registry not found in DB\n", 1},
		{"awsauto not enabled", "", []string{"registry", "add", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "awsauto", "awsauto", "--skip-validate"},
			"WARN: setting registry type to 'awsecr' based on form of input registry name, remove and re-add using '--registry-type docker_v2' to override\nError: 'awsauto' is not enabled in service configuration\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(tc.stdin, tc.args...)
			if r.stderr != tc.stderr || r.code != tc.code || r.stdout != "" {
				t.Errorf("got %+v, want stderr %q exit %d", r, tc.stderr, tc.code)
			}
			if f.vaultBytes() != before {
				t.Errorf("vault changed")
			}
		})
	}
}

func TestRegistryListGetUpdateDel(t *testing.T) {
	f := newCLIFixture(t, true)
	const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	for _, args := range [][]string{
		{"registry", "add", "registry.example.com:5000", "alice", "p1", "--skip-validate", "--registry-name", "internal"},
		{"registry", "add", "quay.io/vendor/*", "bob", "p2", "--skip-validate", "--insecure"},
	} {
		if r := f.run("", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	r := f.run("", "registry", "add", ecrHost, "AKIAEXAMPLE", "secret", "--skip-validate")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "WARN: setting registry type to 'awsecr'") || !strings.Contains(r.stdout, "Type: awsecr\n") {
		t.Errorf("ECR add: %+v", r)
	}
	r = f.run("", "registry", "list")
	want := "" +
		"Registry                                            Name                                                Type             User\n" +
		"123456789012.dkr.ecr.us-east-1.amazonaws.com        123456789012.dkr.ecr.us-east-1.amazonaws.com        awsecr           AKIAEXAMPLE\n" +
		"quay.io/vendor/*                                    quay.io/vendor/*                                    docker_v2        bob\n" +
		"registry.example.com:5000                           internal                                            docker_v2        alice\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("list:\n%s\nwant:\n%s", r.stdout, want)
	}
	// update keeps the stored type and name (ours).
	r = f.run("", "registry", "update", ecrHost, "AKIANEW", "secret2", "--skip-validate")
	if r.code != 0 || !strings.Contains(r.stdout, "Type: awsecr\n") || !strings.Contains(r.stdout, "User: AKIANEW\n") {
		t.Errorf("update: %+v", r)
	}
	r = f.run("", "registry", "get", "registry.example.com:5000", "--json")
	var recs []apitype.Registry
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || r.code != 0 || len(recs) != 1 {
		t.Fatalf("get --json: %+v (%v)", r, err)
	}
	wantRec := apitype.Registry{CreatedAt: "2026-11-23T12:00:00Z", LastUpdated: "2026-11-23T12:00:00Z", Registry: "registry.example.com:5000",
		RegistryName: "internal", RegistryType: "docker_v2", RegistryUser: "alice", RegistryVerify: true, UserID: "admin"}
	if recs[0] != wantRec {
		t.Errorf("get --json = %+v, want %+v", recs[0], wantRec)
	}
	if !strings.HasPrefix(r.stdout, "[\n    {\n        \"created_at\"") || strings.Contains(r.stdout, "p1") {
		t.Errorf("get --json layout or secret: %s", r.stdout)
	}
	r = f.run("", "--json", "registry", "list")
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || len(recs) != 3 || strings.Contains(r.stdout, "secret") {
		t.Errorf("list --json: %+v", r)
	}
	for i := 0; i < 2; i++ {
		if r := f.run("", "registry", "del", "quay.io/vendor/*"); r.code != 0 || r.stdout != "Success\n" {
			t.Errorf("del #%d: %+v", i+1, r)
		}
	}
	if _, ok := f.doc().Registries["admin"]["quay.io/vendor/*"]; ok {
		t.Errorf("entry still there after del")
	}
	// Entries of another account are apart.
	if r := f.run("", "registry", "list", "--account", "other"); r.code != 0 || r.stdout != "Registry        Name        Type        User\n" {
		t.Errorf("other account's list: %q", r.stdout)
	}
}

// Without PASSWORD or --password-stdin the password is asked on the
// terminal, never taken from stdin.
func TestRegistryAddPrompts(t *testing.T) {
	f := newCLIFixture(t, true)
	var labels []string
	f.prompt = func(label string) (string, error) {
		labels = append(labels, label)
		return "typed-secret", nil
	}
	r := f.run("not-the-password\n", "registry", "add", "registry.example.com", "u", "--skip-validate")
	if r.code != 0 {
		t.Fatalf("add: %+v", r)
	}
	if len(labels) != 1 || labels[0] != "Password: " {
		t.Errorf("prompts %q, want one \"Password: \"", labels)
	}
	if e := f.doc().Registries["admin"]["registry.example.com"]; e == nil || e.Pass != "typed-secret" {
		t.Errorf("stored %+v", e)
	}
}

// "registry update" changes only what it is given: without PASSWORD (or
// --password-stdin) the stored password stays; the TLS setting, type and
// name stay unless their flags are given.
func TestRegistryUpdatePartial(t *testing.T) {
	const host = "registry.example.com:5000"
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		apply func(r *vault.Registry)
	}{
		{"user only", []string{"new-user"}, "", func(r *vault.Registry) { r.User = "new-user" }},
		{"password argument", []string{"u", "new-pass"}, "", func(r *vault.Registry) { r.Pass = "new-pass" }},
		{"password stdin", []string{"u", "--password-stdin"}, "stdin-pass\n", func(r *vault.Registry) { r.Pass = "stdin-pass" }},
		{"insecure=false", []string{"u", "--insecure=false"}, "", func(r *vault.Registry) { r.Verify = true }},
		{"name", []string{"u", "--registry-name", "renamed"}, "", func(r *vault.Registry) { r.Name = "renamed" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCLIFixture(t, true)
			if r := f.run("", "registry", "add", host, "u", "old-pass", "--insecure", "--skip-validate"); r.code != 0 {
				t.Fatalf("add: %+v", r)
			}
			want := f.doc().Clone().Registries
			f.now = f.now.Add(time.Hour)
			args := append([]string{"registry", "update", host}, tc.args...)
			if r := f.run(tc.stdin, append(args, "--skip-validate")...); r.code != 0 {
				t.Fatalf("update: %+v", r)
			}
			tc.apply(want["admin"][host])
			want["admin"][host].LastUpdated = f.now
			if got := f.doc().Registries; !reflect.DeepEqual(got, want) {
				t.Errorf("after update %v:\n got %+v\nwant %+v", tc.args, got["admin"][host], want["admin"][host])
			}
		})
	}
}
