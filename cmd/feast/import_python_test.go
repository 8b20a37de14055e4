package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pythonFixture is a folder of Feast Python definitions in the style of
// `feast init`'s local template (two files sharing names).
var pythonFixture = filepath.Join("..", "..", "definitions", "testdata", "python", "driver_repo")

// TestImportPythonFilesThenApply imports Python definition files into a
// repository, then plans and applies it through the Go API: the second
// plan has no changes, and the CLI agrees.
func TestImportPythonFilesThenApply(t *testing.T) {
	shared := t.TempDir()
	dir := filepath.Join(shared, "repo")
	writeFile(t, filepath.Join(dir, "feature_store.yaml"), importConfig(shared, "file"))
	writeFile(t, filepath.Join(dir, "data", "driver_stats.parquet"), "") // the source path must exist for plan
	out, errOut, err := run(t, "-c", dir, "import", pythonFixture)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "Imported 9 object(s) from 2 Python file(s) into "+dir) {
		t.Errorf("import output:\n%s", out)
	}
	for _, want := range []string{"entities.yaml", "data_sources.yaml", "feature_views.yaml", "feature_services.yaml", "on_demand_feature_views.yaml"} {
		if !strings.Contains(out, "  "+want+"\n") {
			t.Errorf("output does not list %s:\n%s", want, out)
		}
	}
	// The Python UDF and what depends on it are listed, never dropped silently.
	for _, want := range []string{`on demand feature view "conv_rate_plus" [NOT WRITTEN]`, "CEL `expression:`",
		`feature service "driver_activity_v1" [NOT WRITTEN]`, "driver_sources.py:8"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr misses %q:\n%s", want, errOut)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "feature_views.yaml"))
	if !strings.HasPrefix(string(data), "# Written by `feast import` from Python definitions (") || !strings.Contains(string(data), "ttl: 1d") {
		t.Errorf("feature_views.yaml:\n%s", data)
	}

	ctx := context.Background()
	s := openStore(t, dir)
	p, err := s.Plan(ctx)
	if err != nil {
		t.Fatalf("plan of the imported repository: %v", err)
	}
	if err := s.Apply(ctx, p); err != nil {
		t.Fatalf("apply: %v", err)
	}
	p2, err := openStore(t, dir).Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasChanges() {
		t.Errorf("second plan has changes:\n%s", planChanges(p2))
	}
	if plan := mustRun(t, "-c", dir, "plan"); !strings.Contains(plan, "No changes to registry\n") {
		t.Errorf("feast plan after apply:\n%s", plan)
	}

	// As for a registry import, existing files are not overwritten.
	if _, _, err := run(t, "-c", dir, "import", pythonFixture); err == nil || !strings.Contains(err.Error(), "refusing to overwrite 5 existing file(s)") {
		t.Errorf("second import: %v", err)
	}
	mustRun(t, "-c", dir, "import", "--force", filepath.Join(pythonFixture, "driver_sources.py"), filepath.Join(pythonFixture, "driver_features.py"))
}

func TestImportPythonLayoutAndErrors(t *testing.T) {
	other := t.TempDir()
	out := mustRun(t, "import", "--layout", "object", "--project", "demo", "--out", other, pythonFixture)
	for _, f := range []string{"entities/driver.yaml", "data_sources/vals_to_add.yaml", "feature_views/driver_hourly_stats_fresh.yaml", "feature_services/driver_activity_v3.yaml"} {
		if _, err := os.Stat(filepath.Join(other, filepath.FromSlash(f))); err != nil || !strings.Contains(out, "  "+f+"\n") {
			t.Errorf("layout object did not write %s:\n%s", f, out)
		}
	}
	if _, _, err := run(t, "import", "--registry", "r.db", "--out", t.TempDir(), pythonFixture); err == nil || !strings.Contains(err.Error(), "do not go with Python files") {
		t.Errorf("--registry with files: %v", err)
	}
	empty := t.TempDir()
	writeFile(t, filepath.Join(empty, "helper.py"), "import os\n")
	if _, _, err := run(t, "import", "--out", t.TempDir(), empty); err == nil || !strings.Contains(err.Error(), "holds no Python files that import feast") {
		t.Errorf("folder without Feast files: %v", err)
	}
	dyn := filepath.Join(t.TempDir(), "dyn.py")
	writeFile(t, dyn, "from feast import Entity\nfor n in ['a']:\n    Entity(name=n)\nx = make()\n")
	_, errOut, err := run(t, "import", "--out", t.TempDir(), dyn)
	if err == nil || !strings.Contains(err.Error(), "no Feast definitions could be read") ||
		!strings.Contains(errOut, "dyn.py:2") || !strings.Contains(errOut, "dyn.py:4") {
		t.Errorf("nothing readable: %v\n%s", err, errOut)
	}
	help := mustRun(t, "import", "--help")
	for _, want := range []string{"feast import [flags] [FILE.py | DIR ...]", "without running", "neither Python nor Feast", "@on_demand_feature_view"} {
		if !strings.Contains(help, want) {
			t.Errorf("help misses %q", want)
		}
	}
}
