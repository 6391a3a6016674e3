package helpercli

import (
	"os"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/anchored/anchored/internal/testbin"
)

// "docker login" and "docker logout" on a managed ECR entry, as Docker
// runs them (the credential-helpers client library and the built binary),
// in direct mode and through anchored: refused with one line naming the
// command that does it, and the entry's AWS keys are unchanged. "registry
// del" still removes it.
func TestManagedECREntryProtected(t *testing.T) {
	for _, viaDaemon := range []bool{false, true} {
		name := "direct"
		if viaDaemon {
			name = "via anchored"
		}
		t.Run(name, func(t *testing.T) {
			w := newSurfaceWorld(t, false)
			if viaDaemon {
				w.daemon()
			}
			for k, v := range w.f.env {
				t.Setenv(k, v)
			}
			t.Setenv("PATH", testbin.Dir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
			prog := client.NewShellProgramFunc("docker-credential-anchore")
			before := w.f.vaultBytes()
			storeMsg := `"` + managedECR + `" is a managed Amazon ECR entry; change it with 'registry update'`
			eraseMsg := `"` + managedECR + `" is a managed Amazon ECR entry; remove it with 'registry del'`
			for _, url := range []string{managedECR, "https://" + managedECR, "https://" + managedECR + "/v2/"} {
				err := client.Store(prog, &credentials.Credentials{ServerURL: url, Username: "AWS", Secret: "a-12-hour-ecr-token"})
				// The library's wrapping of the helper's one line.
				if err == nil || err.Error() != "error storing credentials - err: exit status 1, out: `"+storeMsg+"`" {
					t.Errorf("store over %s: %v, want %q", url, err, storeMsg)
				}
				if err := client.Erase(prog, url); err == nil || err.Error() != "error erasing credentials - err: exit status 1, out: `"+eraseMsg+"`" {
					t.Errorf("erase of %s: %v, want %q", url, err, eraseMsg)
				}
			}
			if w.f.vaultBytes() != before {
				t.Fatal("a refused store or erase changed the vault")
			}
			if e := w.f.doc().Registries["admin"][managedECR]; e == nil || e.User != "AKIAMANAGED" || e.Pass != "managed-aws-secret" || e.Type != "awsecr" {
				t.Errorf("managed entry now %+v", e)
			}
			// Other entries are the protocol's to change as before.
			if err := client.Erase(prog, dupHost); err != nil {
				t.Errorf("erase of a docker_v2 entry: %v", err)
			}
			if r := w.f.run("", "registry", "del", managedECR); r.code != 0 {
				t.Errorf("registry del: %+v", r)
			}
			if e := w.f.doc().Registries["admin"][managedECR]; e != nil {
				t.Errorf("registry del left %+v", e)
			}
		})
	}
}
