package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocumentedVersionsExist checks that every version of this module the
// docs and deployment examples install (go install .../cmd/feast@vX.Y.Z,
// FEAST_VERSION: vX.Y.Z) is a tag of the repository: a documented command
// must work when copied.
func TestDocumentedVersionsExist(t *testing.T) {
	out, err := exec.Command("git", "tag", "--list").Output()
	if err != nil {
		t.Skipf("git tag: %v", err)
	}
	tags := strings.Fields(string(out))
	var files []string
	for _, pattern := range []string{"../*.md", "../docs/*.md", "../deploy/examples/*/*", "../examples/*/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	version := regexp.MustCompile(`(?:feastgo/feast/[\w/]*@|FEAST_VERSION[:=] *)(v\d+\.\d+\.\d+[\w.+-]*)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, m := range version.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(tags, m[1]) {
				t.Errorf("%s: installs version %s, which is not a tag of this repository (use @latest or a commit)", f, m[1])
			}
		}
	}
}
