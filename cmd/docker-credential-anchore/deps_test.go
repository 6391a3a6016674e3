package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoAWSLinked keeps the AWS SDK, ecr-login, urfave/cli and the net
// packages out of this binary. Go runs every linked package's init before
// main, on every "get" Docker makes, and a bigger binary costs more page
// faults at every start; the SDK's and ecr-login's inits alone cost more
// than a whole trivial helper, and net/http (with crypto/tls and x509) or
// even net (with net/netip) a measurable share of one (BENCHMARKS.md). The
// helper reaches AWS through "anchored ecr" (pkg/helper/ecr/ecrexec), runs
// its management commands (the urfave/cli tree, registry validation over
// HTTPS) in anchored, and speaks to the daemon's socket with x/sys/unix.
func TestNoAWSLinked(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list this binary's dependencies: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !slices.Contains(deps, "github.com/anchored/anchored/pkg/helper/ecr") || !slices.Contains(deps, "github.com/anchored/anchored/internal/helperproto") {
		t.Fatalf("go list -deps gave %d packages without pkg/helper/ecr or internal/helperproto; the check would prove nothing", len(deps))
	}
	for _, p := range deps {
		for _, banned := range []string{"github.com/aws/", "github.com/awslabs/", "github.com/urfave/cli", "net", "crypto/tls", "crypto/x509"} {
			if p == banned || strings.HasPrefix(p, strings.TrimSuffix(banned, "/")+"/") {
				t.Errorf("docker-credential-anchore links %s; the protocol path must not need it (see main.go)", p)
			}
		}
	}
}
