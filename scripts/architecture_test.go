package scripts_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArchitectureNamesEveryPackage keeps docs/architecture.md complete:
// every package of the module (a folder with a non-test .go file, outside
// proto/, testdata, and nested modules such as deploy/) is named there in
// backticks by its path, like `offline/iceberg`, or covered by a
// backticked wildcard, like `bench/*`. The root package is `feast`.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	var wildcards []string
	for _, m := range regexp.MustCompile("`([A-Za-z0-9_./*-]+)`").FindAllStringSubmatch(string(doc), -1) {
		if prefix, ok := strings.CutSuffix(m[1], "/*"); ok {
			wildcards = append(wildcards, prefix+"/")
		}
		named[m[1]] = true
	}
	var missing []string
	n := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "proto" && rel == "proto" || name == "node_modules") {
				return filepath.SkipDir
			}
			if rel != "." {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".go") || strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if pkg == "." {
			pkg = "feast"
		}
		if named["found:"+pkg] {
			return nil
		}
		named["found:"+pkg] = true
		n++
		if named[pkg] {
			return nil
		}
		for _, w := range wildcards {
			if strings.HasPrefix(pkg, w) {
				return nil
			}
		}
		missing = append(missing, pkg)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("found only %d packages: is the test run from scripts/?", n)
	}
	if len(missing) > 0 {
		t.Errorf("docs/architecture.md does not name these packages (add each to the package table, and to the graph if other packages import it): %s", strings.Join(missing, ", "))
	}
}
