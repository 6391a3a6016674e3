package packagingtest

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackageVersionRule: scripts/pkg-version.sh (the Makefile's
// PKG_VERSION) maps "git describe" outputs to package versions that dpkg
// sorts in the order the builds were made: every untagged build below
// every release, a pre-release below its release, commits after a tag
// between it and the next, and a dirty tree just below its clean build.
func TestPackageVersionRule(t *testing.T) {
	dpkg := needTool(t, "dpkg", "dpkg")
	script := filepath.Join(repoRoot(t), "scripts", "pkg-version.sh")
	// Ascending: each row must sort strictly below the next.
	table := []struct{ describe, want string }{
		{"3ae9024-dirty", "0.0.0~git3ae9024~dirty"},
		{"3ae9024", "0.0.0~git3ae9024"},
		{"v0.9.0", "0.9.0"},
		// A dirty tree at a tag sorts below the tag's pre-releases too:
		// below its clean build is the rule; dpkg and rpm disagree on any
		// suffix that would sort between the two.
		{"v1.0.0-dirty", "1.0.0~dirty"},
		{"v1.0.0-rc1-dirty", "1.0.0~rc1~dirty"},
		{"v1.0.0-rc1", "1.0.0~rc1"},
		{"v1.0.0-rc1-3-gdef5678", "1.0.0~rc1+3.gdef5678"},
		{"v1.0.0", "1.0.0"},
		{"v1.0.0-4-gabc1234-dirty", "1.0.0+4.gabc1234~dirty"},
		{"v1.0.0-4-gabc1234", "1.0.0+4.gabc1234"},
		{"v1.0.0-12-g0123abc", "1.0.0+12.g0123abc"},
		{"v1.0.1", "1.0.1"},
		{"v1.10.0", "1.10.0"},
	}
	got := make([]string, len(table))
	for i, c := range table {
		out, err := exec.Command(script, c.describe).CombinedOutput()
		if err != nil {
			t.Fatalf("pkg-version.sh %s: %v\n%s", c.describe, err, out)
		}
		got[i] = strings.TrimSpace(string(out))
		if got[i] != c.want {
			t.Errorf("pkg-version.sh %s = %q, want %q", c.describe, got[i], c.want)
		}
		// RPM refuses "-" in a version; both need a leading digit.
		if strings.Contains(got[i], "-") || !regexp.MustCompile(`^[0-9]`).MatchString(got[i]) {
			t.Errorf("pkg-version.sh %s = %q: not a valid Debian and RPM version", c.describe, got[i])
		}
	}
	clean := map[string]string{}
	for i, c := range table {
		clean[c.describe] = got[i]
	}
	for i, c := range table {
		if base, ok := strings.CutSuffix(c.describe, "-dirty"); ok {
			if err := exec.Command(dpkg, "--compare-versions", got[i], "lt", clean[base]).Run(); err != nil {
				t.Errorf("dpkg: the dirty %s (%s) is not below its clean build %s", got[i], c.describe, clean[base])
			}
		}
	}
	for i := 1; i < len(got); i++ {
		if err := exec.Command(dpkg, "--compare-versions", got[i-1], "lt", got[i]).Run(); err != nil {
			t.Errorf("dpkg: %s (%s) is not below %s (%s)", got[i-1], table[i-1].describe, got[i], table[i].describe)
		}
	}
}

// TestMakefileUsesPackageVersionRule: make package hands nfpm the script's
// version for the build's own describe output.
func TestMakefileUsesPackageVersionRule(t *testing.T) {
	needTool(t, "make", "make")
	out, err := exec.Command("make", "-C", repoRoot(t), "--no-print-directory", "-n", "package", "VERSION=3ae9024-dirty").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n package: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PKG_VERSION='0.0.0~git3ae9024~dirty'") {
		t.Errorf("make -n package VERSION=3ae9024-dirty does not pass PKG_VERSION='0.0.0~git3ae9024~dirty':\n%s", out)
	}
}
