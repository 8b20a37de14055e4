package feast

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feastgo/feast/definitions"
)

// TestCheckSourcePaths checks that a file source whose local file, glob or
// folder does not exist is reported with the file, line, source and field,
// while existing paths and remote URLs pass.
func TestCheckSourcePaths(t *testing.T) {
	dir := t.TempDir()
	defs := `entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - {name: ok_file, type: file, path: data/a.parquet, timestamp_field: ts}
  - {name: ok_folder, type: file, path: data/parts/, timestamp_field: ts}
  - {name: ok_glob, type: file, path: data/parts/*.parquet, timestamp_field: ts}
  - {name: ok_deep_glob, type: file, path: data/parts/**/*.parquet, timestamp_field: ts}
  - {name: remote, type: file, path: s3://bucket/stats.parquet, timestamp_field: ts}
  - name: typo
    type: file
    path: data/driver_stat.parquet
    timestamp_field: ts
  - {name: empty_glob, type: file, path: data/parts/*.csv, timestamp_field: ts}
  - {name: no_folder, type: file, path: data/missing/*.parquet, timestamp_field: ts}
`
	mustWrite := func(rel, data string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite("features.yaml", defs)
	mustWrite("data/a.parquet", "")
	mustWrite("data/parts/p0.parquet", "")
	repo, err := definitions.Load(dir, definitions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = CheckSourcePaths(dir, repo)
	ps, ok := err.(definitions.Problems)
	if !ok || len(ps) != 3 {
		t.Fatalf("got %v, want 3 problems", err)
	}
	want := []string{
		`features.yaml:11: data source "typo": data_sources[5].path: data/driver_stat.parquet does not exist (looked for ` + filepath.Join(dir, "data/driver_stat.parquet") + `); fix the path`,
		`features.yaml:13: data source "empty_glob": data_sources[6].path: the glob data/parts/*.csv matches no file`,
		`features.yaml:14: data source "no_folder": data_sources[7].path: the folder ` + filepath.Join(dir, "data/missing") + ` of the glob data/missing/*.parquet does not exist`,
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i].String(), w) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i, ps[i], w)
		}
	}
	if !strings.Contains(err.Error(), "--skip-source-validation") {
		t.Errorf("no hint: %v", err)
	}

	mustWrite("data/driver_stat.parquet", "")
	mustWrite("data/parts/p0.csv", "")
	os.MkdirAll(filepath.Join(dir, "data/missing"), 0o755)
	mustWrite("data/missing/x.parquet", "")
	if err := CheckSourcePaths(dir, repo); err != nil {
		t.Fatalf("after creating the data: %v", err)
	}
}
