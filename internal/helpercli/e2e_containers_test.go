package helpercli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anchored/anchored/internal/regtest"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/vault"
)

// skopeo (containers/image) logs in, inspects and logs out through the
// helper with nothing but the drop-in "configure-docker --containers"
// wrote: no Docker config, no auth.json, the system registries.conf
// replaced by an empty one (CONTAINERS_REGISTRIES_CONF), HOME a temp dir.
func TestEndToEndSkopeoThroughContainersDropIn(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Fatal("skopeo not found: install Debian's skopeo package (.ci/run does)")
	}
	reg := regtest.Start(t)
	ref := reg.PushRandomImage(t, "containers/app")

	home := t.TempDir()
	pf, vaultPath := emptyVault(t, home, "skopeo passphrase")
	emptyConf := filepath.Join(home, "registries.conf")
	certDir := filepath.Join(home, "certs")
	runDir := filepath.Join(home, "run")
	for _, d := range []string{certDir, runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(emptyConf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certDir, "ca.crt"), reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	// Docker's default config directory (DOCKER_CONFIG is left unset:
	// skopeo logout refuses a DOCKER_CONFIG whose config.json is missing).
	dockerDir := filepath.Join(home, ".docker")
	env := []string{
		"PATH=" + testbin.Dir(t) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_RUNTIME_DIR=" + runDir,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"CONTAINERS_REGISTRIES_CONF=" + emptyConf,
		"ANCHORE_CONFIG=" + filepath.Join(home, "no-config.yaml"),
		"ANCHORED_SOCKET=" + filepath.Join(home, "no-daemon.sock"),
		"ANCHORE_VAULT=" + vaultPath,
		"ANCHORE_VAULT_PASSPHRASE_FILE=" + pf,
	}
	run := func(stdin, bin string, args ...string) cliResult {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Dir = home
		return runProcess(t, cmd, stdin)
	}
	entries := func() map[string]*vault.Registry {
		t.Helper()
		v, err := vault.Open(context.Background(), vaultPath, "skopeo passphrase")
		if err != nil {
			t.Fatal(err)
		}
		return v.Document().Registries["admin"]
	}

	r := run("", testbin.Path(t, Name), "configure-docker", "--containers")
	dropIn := filepath.Join(home, ".config", "containers", "registries.conf.d", "50-anchore.conf")
	if r.code != 0 || r.stdout != "Containers drop-in "+dropIn+" now uses "+Name+"\n" {
		t.Fatalf("configure-docker --containers: %+v", r)
	}

	tlsArgs := []string{"--cert-dir", certDir}
	r = run(reg.Pass+"\n", skopeo, append([]string{"login", "--username", reg.User, "--password-stdin"}, append(tlsArgs, reg.Host)...)...)
	if r.code != 0 {
		t.Fatalf("skopeo login: %+v", r)
	}
	if e := entries()[reg.Host]; e == nil || e.User != reg.User || e.Pass != reg.Pass {
		t.Fatalf("after skopeo login the vault holds %v, want %s's entry", entries(), reg.Host)
	}
	if r := run("", skopeo, "login", "--get-login", reg.Host); r.code != 0 || strings.TrimSpace(r.stdout) != reg.User {
		t.Errorf("skopeo login --get-login: %+v, want %s", r, reg.User)
	}

	image := "docker://" + ref.Context().RegistryStr() + "/" + ref.Context().RepositoryStr() + ":" + ref.Identifier()
	r = run("", skopeo, append([]string{"inspect", "--raw"}, append(tlsArgs, image)...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "schemaVersion") {
		t.Fatalf("skopeo inspect with the helper's credentials: %+v", r)
	}

	if r := run("", skopeo, "logout", reg.Host); r.code != 0 {
		t.Fatalf("skopeo logout: %+v", r)
	}
	if len(entries()) != 0 {
		t.Errorf("after skopeo logout the vault holds %v, want nothing", entries())
	}
	r = run("", skopeo, append([]string{"inspect", "--raw"}, append(tlsArgs, image)...)...)
	if r.code == 0 || !bytes.Contains([]byte(strings.ToLower(r.stderr)), []byte("unauthorized")) {
		t.Errorf("skopeo inspect after logout: %+v, want unauthorized", r)
	}

	// Only the drop-in carried the setup: Docker's config was never
	// written, and no credentials went to containers' own auth files
	// (logout, which asks every helper, may leave an empty one).
	if _, err := os.Stat(dockerDir); err == nil {
		t.Errorf("%s exists: configure-docker --containers touched Docker's config", dockerDir)
	}
	for _, p := range []string{filepath.Join(runDir, "containers", "auth.json"), filepath.Join(home, ".config", "containers", "auth.json")} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var auth struct{ Auths map[string]any }
		if err := json.Unmarshal(b, &auth); err != nil || len(auth.Auths) != 0 {
			t.Errorf("%s holds %s: the login went around the helper", p, b)
		}
	}
	if b, err := os.ReadFile(emptyConf); err != nil || len(b) != 0 {
		t.Errorf("registries.conf changed: %q, %v", b, err)
	}
}
