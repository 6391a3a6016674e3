package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoAWSLinked keeps the AWS SDK and ecr-login out of this binary. Go
// runs every linked package's init before main, on every "get" Docker
// makes; theirs cost more than a whole trivial helper (BENCHMARKS.md). The
// helper reaches AWS through "anchored ecr" instead (pkg/helper/ecr/ecrexec).
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
	if len(deps) < 10 || !slices.Contains(deps, "github.com/anchored/anchored/pkg/helper/ecr") {
		t.Fatalf("go list -deps gave %d packages without pkg/helper/ecr; the check would prove nothing", len(deps))
	}
	for _, p := range deps {
		for _, banned := range []string{"github.com/aws/", "github.com/awslabs/"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("docker-credential-anchore links %s; reach AWS through ecrexec instead", p)
			}
		}
	}
}
