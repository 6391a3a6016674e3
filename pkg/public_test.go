// Package pkg_test holds pkg/ to SPEC section 1's promise: a third party
// can import any package under pkg/, so none of them may depend on this
// module's internal/ packages (which Go forbids others to import).
package pkg_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestPublicPackagesImportNoInternal(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/anchored/anchored/pkg/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var bad []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/anchored/anchored/internal/") {
			bad = append(bad, p)
		}
	}
	if len(bad) != 0 {
		t.Errorf("packages under pkg/ depend on internal/ packages: %v", bad)
	}
	if !strings.Contains(string(out), "github.com/anchored/anchored/pkg/registries") {
		t.Errorf("go list named no pkg/ package:\n%s", out)
	}
}
