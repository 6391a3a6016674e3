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

// configure-docker --containers writes the user's drop-in, --system the
// system one; an existing drop-in keeps its other lines and helpers (this
// helper first), a second run changes nothing, and a credential-helpers
// value it cannot edit safely is refused with the file unchanged.
func TestConfigureContainers(t *testing.T) {
	f := newCLIFixture(t, false)
	sysDir := filepath.Join(f.home, "etc-containers", "registries.conf.d")
	f.envOverride = func(e *Env) { e.ContainersSystemDir = sysDir }
	userPath := filepath.Join(f.home, ".config", "containers", "registries.conf.d", "50-anchore.conf")
	dockerPath := filepath.Join(f.home, ".docker", "config.json")

	r := f.run("", "configure-docker", "--containers")
	if r.code != 0 || r.stdout != "Containers drop-in "+userPath+" now uses docker-credential-anchore\n" {
		t.Fatalf("configure-docker --containers: %+v", r)
	}
	b, err := os.ReadFile(userPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\ncredential-helpers = [\"anchore\", \"containers-auth.json\"]\n") {
		t.Errorf("new drop-in:\n%s", b)
	}
	if fi, _ := os.Stat(userPath); fi.Mode().Perm() != 0o644 {
		t.Errorf("new drop-in mode %v, want 0644", fi.Mode().Perm())
	}
	if r := f.run("", "configure-docker", "--containers"); r.code != 0 {
		t.Fatalf("second run: %+v", r)
	}
	if again, _ := os.ReadFile(userPath); string(again) != string(b) {
		t.Errorf("a second run changed the drop-in:\n%s", again)
	}
	if _, err := os.Stat(dockerPath); err == nil {
		t.Errorf("--containers wrote Docker's config")
	}
	if _, err := os.Stat(sysDir); err == nil {
		t.Errorf("--containers without --system wrote the system directory")
	}

	sysPath := filepath.Join(sysDir, "50-anchore.conf")
	if err := os.MkdirAll(sysDir, 0o755); err != nil {
		t.Fatal(err)
	}
	existing := "# site policy\nunqualified-search-registries = [\"registry.example.com\"]\ncredential-helpers = [ 'secretservice', \"anchore\" ] # keep\n\n[[registry]]\nlocation = \"registry.example.com\"\ncredential-helpers = \"not top-level\"\n"
	if err := os.WriteFile(sysPath, []byte(existing), 0o640); err != nil {
		t.Fatal(err)
	}
	if r := f.run("", "configure-docker", "--system"); r.code != 0 || !strings.Contains(r.stdout, sysPath) {
		t.Fatalf("configure-docker --system: %+v", r)
	}
	got, _ := os.ReadFile(sysPath)
	want := strings.Replace(existing, "credential-helpers = [ 'secretservice', \"anchore\" ] # keep", "credential-helpers = [\"anchore\", \"secretservice\"]", 1)
	if string(got) != want {
		t.Errorf("system drop-in:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(sysPath); fi.Mode().Perm() != 0o640 {
		t.Errorf("system drop-in mode %v, want its own 0640", fi.Mode().Perm())
	}

	for _, bad := range []string{
		"credential-helpers = [\n  \"secretservice\",\n]\n",
		"credential-helpers = [\"a\", 3]\n",
	} {
		if err := os.WriteFile(sysPath, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		r := f.run("", "configure-docker", "--containers", "--system")
		if r.code != 1 || !strings.Contains(r.stderr, "edit it by hand") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("unparsable credential-helpers %q: %+v", bad, r)
		}
		if b, _ := os.ReadFile(sysPath); string(b) != bad {
			t.Errorf("refused drop-in changed to %q", b)
		}
	}

	if r := f.run("", "configure-docker", "--containers", "--registry", "ghcr.io"); r.code != 2 || !strings.Contains(r.stderr, "--registry") {
		t.Errorf("--containers --registry: %+v, want a usage error", r)
	}
}
