// Command anchore-credential-provider is the kubelet's image credential
// provider plugin (credentialprovider.kubelet.k8s.io/v1) over
// docker-credential-anchore's entries: internal/credprovider, through
// anchored's socket or the vault, as docker-credential-anchore "get".
//
// It is a binary of its own, not a name anchored answers to: it links the
// kubelet's API types (k8s.io/apimachinery), which neither the helper
// Docker starts on every pull nor the daemon should carry. Like the helper,
// it reaches AWS only through "anchored ecr", on an ECR token cache miss.
package main

import (
	"context"
	"os"

	"github.com/anchored/anchored/internal/credprovider"
	"github.com/anchored/anchored/internal/helperproto"
	"github.com/anchored/anchored/internal/nodump"
)

func main() {
	// It decrypts the vault in direct mode, as the helper does: no core
	// file, no ptrace by the same uid. A failure only loses that protection.
	_ = nodump.Disable()
	os.Exit(credprovider.Main(context.Background(), os.Args, helperproto.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
	}))
}
