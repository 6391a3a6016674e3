package helpercli

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/anchored/anchored/internal/regtest"
	"github.com/anchored/anchored/internal/testbin"
	"github.com/anchored/anchored/pkg/vault"
)

// End to end, as Docker runs the helper: the built binary on PATH, a
// DOCKER_CONFIG saying "credsStore": "anchore", the docker CLI's own
// helper client for store/get/list/erase, and go-containerregistry's
// DefaultKeychain pulling from a real registry.
func TestEndToEndDockerClients(t *testing.T) {
	reg := regtest.Start(t)
	ref := reg.PushRandomImage(t, "e2e/app")

	home := t.TempDir()
	dockerDir := filepath.Join(home, "docker")
	if err := os.MkdirAll(dockerDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"credsStore": "anchore"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(home, "passphrase")
	if err := os.WriteFile(pf, []byte("e2e passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vaultPath := filepath.Join(home, "data", "vault")
	if _, err := vault.Create(context.Background(), vaultPath, "e2e passphrase", nil, vault.WithWorkFactor(vault.MinWorkFactor)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", testbin.Dir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", dockerDir)
	t.Setenv("ANCHORE_VAULT", vaultPath)
	t.Setenv("ANCHORE_VAULT_PASSPHRASE_FILE", pf)
	t.Setenv("ANCHORE_CONFIG", filepath.Join(home, "no-config.yaml"))
	t.Setenv("ANCHORED_SOCKET", filepath.Join(home, "no-daemon.sock"))
	t.Setenv("XDG_RUNTIME_DIR", home)
	t.Setenv("REGISTRY_AUTH_FILE", "")

	prog := client.NewShellProgramFunc("docker-credential-anchore")
	if err := client.Store(prog, &credentials.Credentials{ServerURL: "https://" + reg.Host + "/v2/", Username: reg.User, Secret: reg.Pass}); err != nil {
		t.Fatalf("store: %v", err)
	}
	got, err := client.Get(prog, reg.Host)
	if err != nil || got.Username != reg.User || got.Secret != reg.Pass {
		t.Fatalf("get: %+v, %v", got, err)
	}
	list, err := client.List(prog)
	if err != nil || len(list) != 1 || list["https://"+reg.Host+"/v2/"] != reg.User {
		t.Errorf("list: %v, %v", list, err)
	}

	pull := func() error {
		_, err := remote.Image(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(reg.Transport))
		return err
	}
	if err := pull(); err != nil {
		t.Fatalf("pull with the helper's credentials: %v", err)
	}

	if err := client.Erase(prog, reg.Host); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if err := client.Erase(prog, reg.Host); err != nil {
		t.Errorf("erase of a missing entry: %v", err)
	}
	if _, err := client.Get(prog, reg.Host); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("get after erase: %v, want not found", err)
	}
	var terr *transport.Error
	if err := pull(); !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Errorf("pull after erase: %v, want 401 unauthorized", err)
	}
}
