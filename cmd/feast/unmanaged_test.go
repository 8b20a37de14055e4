package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
)

const smallDefs = `entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - {name: src, type: file, path: data/a.parquet, timestamp_field: ts}
feature_views:
  - name: stats
    entities: [driver]
    ttl: 1d
    source: src
    schema:
      - {name: trips, dtype: Int64}
`

// smallRepo writes a repository of project demo (file registry, SQLite
// online store) with the given files.
func smallRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["feature_store.yaml"] = "project: demo\nprovider: local\nregistry: data/registry.db\n" +
		"online_store:\n  type: sqlite\n  path: data/online.db\noffline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	// plan and apply check that the source's file exists.
	os.WriteFile(filepath.Join(dir, "data", "a.parquet"), nil, 0o644)
	return dir
}

// writeForeignObjects writes an entity and a feature view without the
// managed-by tag into the repository's registry, as Python Feast would.
func writeForeignObjects(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	src := &core.DataSource{Name: "py_src", Project: "demo", Type: core.DataSource_BATCH_FILE, TimestampField: "ts",
		Options: &core.DataSource_FileOptions_{FileOptions: &core.DataSource_FileOptions{Uri: "data/py.parquet"}}}
	err = fs.Registry().Store().Update(ctx, "demo", func(r *core.Registry) error {
		registry.Put(r, registry.Object{Kind: registry.KindDataSource, Name: "py_src", Msg: src})
		registry.Put(r, registry.Object{Kind: registry.KindEntity, Name: "py_driver", Msg: &core.Entity{Spec: &core.EntitySpecV2{
			Name: "py_driver", Project: "demo", JoinKey: "driver_id", ValueType: types.ValueType_INT64}}})
		registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: "py_stats", Msg: &core.FeatureView{Spec: &core.FeatureViewSpec{
			Name: "py_stats", Project: "demo", Entities: []string{"py_driver"}, BatchSource: src, Online: true,
			Features: []*core.FeatureSpecV2{{Name: "rate", ValueType: types.ValueType_DOUBLE}}}}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPlanAndApplyKeepUnmanagedObjects(t *testing.T) {
	dir := smallRepo(t, map[string]string{"features.yaml": smallDefs})
	writeForeignObjects(t, dir)
	regPath := filepath.Join(dir, "data", "registry.db")
	before, _ := os.ReadFile(regPath)

	const refuse = " (not created by feast-go: apply refuses unless --allow-delete-unmanaged)\n"
	want := "Deleted data source py_src" + refuse +
		"Created data source src\n" +
		"Created entity driver\n" +
		"Deleted entity py_driver" + refuse +
		"Deleted feature view py_stats" + refuse +
		"Created feature view stats\n" +
		"Created sqlite table demo_stats\n" +
		"Deleted sqlite table demo_py_stats\n"
	if got := mustRun(t, "-c", dir, "plan"); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	allowed := strings.ReplaceAll(want, refuse, " (not created by feast-go: deleted because of --allow-delete-unmanaged)\n")
	if got := mustRun(t, "-c", dir, "plan", "--allow-delete-unmanaged"); got != allowed {
		t.Errorf("plan --allow-delete-unmanaged:\n%s\nwant:\n%s", got, allowed)
	}

	out, _, err := run(t, "-c", dir, "apply")
	wantErr := `apply refuses to delete 3 object(s) of project "demo" that feast-go did not create ` +
		`(no "feast-go/managed-by: feast-go" tag; Python Feast or another tool may own them): ` +
		`data source py_src, entity py_driver, feature view py_stats. ` +
		`Define them in the repository to keep them, or pass --allow-delete-unmanaged to delete them`
	if err == nil || err.Error() != wantErr {
		t.Errorf("apply: err = %v\nwant: %s", err, wantErr)
	}
	if out != want {
		t.Errorf("apply printed:\n%s\nwant the plan:\n%s", out, want)
	}
	if after, _ := os.ReadFile(regPath); !bytes.Equal(before, after) {
		t.Error("the refused apply changed the registry")
	}

	if out := mustRun(t, "-c", dir, "apply", "--allow-delete-unmanaged"); !strings.HasSuffix(out, "Applied to project demo.\n") {
		t.Errorf("apply --allow-delete-unmanaged:\n%s", out)
	}
	if got := mustRun(t, "-c", dir, "plan"); got != "No changes to registry\nNo changes to infrastructure\n" {
		t.Errorf("plan after apply:\n%s", got)
	}
	// A second apply of our own repository changes nothing.
	mustRun(t, "-c", dir, "apply")
	if got := mustRun(t, "-c", dir, "plan"); got != "No changes to registry\nNo changes to infrastructure\n" {
		t.Errorf("plan after a second apply:\n%s", got)
	}
}

func TestPythonOnlyRepoRefusedByCLI(t *testing.T) {
	dir := smallRepo(t, map[string]string{"features.yaml": smallDefs})
	mustRun(t, "-c", dir, "apply")
	os.Remove(filepath.Join(dir, "features.yaml"))
	os.WriteFile(filepath.Join(dir, "example_repo.py"), []byte("from feast import Entity\n\ndriver = Entity(name=\"driver\", join_keys=[\"driver_id\"])\n"), 0o644)
	regPath := filepath.Join(dir, "data", "registry.db")
	before, _ := os.ReadFile(regPath)
	want := "feature repository " + dir + ` holds Feast Python definitions (example_repo.py) and no YAML definitions: ` +
		`refusing to plan or apply, which would delete every object of project "demo" from the registry. ` +
		`Convert them with "feast import" (see docs/migrating.md), or move them out of the repository`
	for _, cmd := range []string{"plan", "apply"} {
		out, _, err := run(t, "-c", dir, cmd)
		if err == nil || err.Error() != want {
			t.Errorf("%s: err = %v\nwant: %s", cmd, err, want)
		}
		if strings.Contains(out, "Deleted") {
			t.Errorf("%s printed deletions:\n%s", cmd, out)
		}
	}
	if after, _ := os.ReadFile(regPath); !bytes.Equal(before, after) {
		t.Error("the refused apply changed the registry")
	}
}

func TestMixedRepoWarnsOnStderr(t *testing.T) {
	dir := smallRepo(t, map[string]string{"features.yaml": smallDefs, "example_repo.py": "import feast\n"})
	for _, cmd := range []string{"plan", "apply"} {
		out, errOut, err := run(t, "-c", dir, cmd)
		if err != nil {
			t.Fatal(err)
		}
		want := `warning: ignoring Feast Python definition files (example_repo.py): feast-go reads only YAML definitions; ` +
			`convert them with "feast import" (see docs/migrating.md), or move them out of the repository` + "\n"
		if errOut != want {
			t.Errorf("%s stderr:\n%q\nwant:\n%q", cmd, errOut, want)
		}
		if strings.Contains(out, "warning") {
			t.Errorf("%s printed the warning on stdout", cmd)
		}
	}
}

func TestTeardownKeepsUnmanagedObjects(t *testing.T) {
	dir := smallRepo(t, map[string]string{"features.yaml": smallDefs})
	mustRun(t, "-c", dir, "apply")
	writeForeignObjects(t, dir)
	_, _, err := run(t, "-c", dir, "teardown")
	if err == nil || !strings.HasPrefix(err.Error(), `teardown refuses to delete 3 object(s) of project "demo"`) ||
		!strings.HasSuffix(err.Error(), "Pass --allow-delete-unmanaged to delete them") {
		t.Errorf("teardown: %v", err)
	}
	if list := mustRun(t, "-c", dir, "feature-views", "list"); !strings.Contains(list, "py_stats") || !strings.Contains(list, "stats") {
		t.Errorf("the refused teardown removed views:\n%s", list)
	}
	if out := mustRun(t, "-c", dir, "teardown", "--allow-delete-unmanaged"); out != "Tore down project demo.\n" {
		t.Errorf("teardown --allow-delete-unmanaged: %q", out)
	}
	if list := mustRun(t, "-c", dir, "feature-views", "list"); strings.Contains(list, "stats") {
		t.Errorf("teardown left views:\n%s", list)
	}
}

// Two feature repositories on one registry: B's plan labels A's objects as
// another repository's, B's apply refuses to delete them and feast delete
// from B refuses too; A itself deletes its own.
func TestOtherRepositoryObjectsAreLabelledAndKept(t *testing.T) {
	a := smallRepo(t, map[string]string{"features.yaml": smallDefs})
	b := smallRepo(t, map[string]string{"features.yaml": strings.ReplaceAll(smallDefs, "name: stats", "name: b_stats")})
	// B uses A's registry file.
	cfg := filepath.Join(b, "feature_store.yaml")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "registry: data/registry.db", "registry: "+filepath.Join(a, "data", "registry.db"), 1)), 0o644)

	t.Setenv("FEAST_REPO_ID", "repo-a")
	mustRun(t, "-c", a, "apply")
	t.Setenv("FEAST_REPO_ID", "repo-b")
	plan := mustRun(t, "-c", b, "plan")
	const label = "Deleted feature view stats (applied from repository repo-a: apply refuses unless --allow-delete-unmanaged)\n"
	if !strings.Contains(plan, label) {
		t.Errorf("plan from B:\n%s\nwant the line %q", plan, label)
	}
	if _, _, err := run(t, "-c", b, "apply"); err == nil {
		t.Error("B's apply deleted A's objects")
	}
	_, _, err := run(t, "-c", b, "delete", "stats")
	if err == nil || !strings.Contains(err.Error(), `another feature repository applied it (feast-go/repo: "repo-a"; this one is "repo-b", from FEAST_REPO_ID)`) ||
		!strings.Contains(err.Error(), "--allow-delete-unmanaged") {
		t.Errorf("delete from B: %v", err)
	}
	t.Setenv("FEAST_REPO_ID", "repo-a")
	if out := mustRun(t, "-c", a, "delete", "stats"); out != "Deleted feature view stats from demo.\n" {
		t.Errorf("delete from A: %q", out)
	}
}
