package scripts_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// makeTags is the TAGS default of the Makefile: the build tags of `make
// build` and of the tests.
func makeTags(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TAGS \?= *(\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("Makefile: no TAGS ?= line")
	}
	return string(m[1])
}

// Every command the docs and the Dockerfile give for building a feast
// binary uses the Makefile's tags, so what users run is what CI tests
// first (CI also tests the untagged build: see TestTestSplit).
func TestBuildCommandsUseMakeTags(t *testing.T) {
	tags := makeTags(t)
	if tags != "duckdb_arrow" {
		t.Fatalf("Makefile TAGS = %q; update the docs and this test with it", tags)
	}
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md", "../CONTRIBUTING.md", "../deploy/Dockerfile", "../deploy/examples/github-actions/feast.yml")
	build := regexp.MustCompile(`\bgo (build|install|run)\b[^\n` + "`" + `]*(\./cmd/|feastgo/feast/cmd/)`)
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "\\\n", " ") // Dockerfile and shell continuations
		for _, line := range strings.Split(text, "\n") {
			if !build.MatchString(line) {
				continue
			}
			found++
			if !strings.Contains(line, "-tags "+tags) && !strings.Contains(line, "-tags="+tags) {
				t.Errorf("%s: builds feast without -tags %s: %s", filepath.Base(f), tags, strings.TrimSpace(line))
			}
		}
	}
	if found < 3 {
		t.Errorf("found %d build commands in the docs and the Dockerfile; the pattern no longer matches them", found)
	}
}
