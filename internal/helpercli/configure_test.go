package helpercli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	dockerconfig "github.com/docker/cli/cli/config"
)

// configure-docker writes what the docker CLI's own loader reads back, and
// keeps every other key.
func TestConfigureDocker(t *testing.T) {
	f := newCLIFixture(t, false)
	dir := filepath.Join(f.home, "docker")
	f.env["DOCKER_CONFIG"] = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	orig := `{
	"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}},
	"credHelpers": {"gcr.io": "gcloud"},
	"proxies": {"default": {"httpProxy": "http://proxy:3128"}},
	"someFutureKey": [1, 2, 3]
}`
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.run("", "configure-docker")
	if r.code != 0 || r.stdout != "Docker configuration "+path+" now uses docker-credential-anchore\n" {
		t.Fatalf("configure-docker: %+v", r)
	}
	r = f.run("", "configure-docker", "--registry", "Registry.Example.com:5000", "--registry", "index.docker.io")
	if r.code != 0 {
		t.Fatalf("configure-docker --registry: %+v", r)
	}
	cfg, err := dockerconfig.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CredentialsStore != "anchore" {
		t.Errorf("credsStore = %q", cfg.CredentialsStore)
	}
	wantHelpers := map[string]string{
		"gcr.io":                      "gcloud",
		"registry.example.com:5000":   "anchore",
		"https://index.docker.io/v1/": "anchore",
		"docker.io":                   "anchore",
	}
	if !reflect.DeepEqual(cfg.CredentialHelpers, wantHelpers) {
		t.Errorf("credHelpers = %v, want %v", cfg.CredentialHelpers, wantHelpers)
	}
	if cfg.Proxies["default"].HTTPProxy != "http://proxy:3128" || cfg.AuthConfigs["ghcr.io"].Username != "user" {
		t.Errorf("other keys lost: proxies %v auths %v", cfg.Proxies, cfg.AuthConfigs)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"someFutureKey": [1, 2, 3]`) && !strings.Contains(string(b), `"someFutureKey": [`) {
		t.Errorf("unknown key lost:\n%s", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode changed: %v %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

// A config that is not JSON is refused and left as it was.
func TestConfigureDockerBadConfig(t *testing.T) {
	f := newCLIFixture(t, false)
	dir := filepath.Join(f.home, "docker")
	f.env["DOCKER_CONFIG"] = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := f.run("", "configure-docker")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: "+path+": not a JSON object: ") {
		t.Errorf("got %+v", r)
	}
	if b, _ := os.ReadFile(path); string(b) != "{not json" {
		t.Errorf("config changed: %q", b)
	}
	// No config yet: one is created, 0600.
	f.env["DOCKER_CONFIG"] = filepath.Join(f.home, "fresh")
	if r := f.run("", "configure-docker"); r.code != 0 {
		t.Fatalf("fresh: %+v", r)
	}
	cfg, err := dockerconfig.Load(filepath.Join(f.home, "fresh"))
	if err != nil || cfg.CredentialsStore != "anchore" {
		t.Errorf("fresh config: %v %v", cfg, err)
	}
}
