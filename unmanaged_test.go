package feast_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
)

// ownedDefs is a small repository applied by feast-go in these tests.
const ownedDefs = `entities:
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

// pythonRepo is a Feast Python definitions file, as `feast init` of
// Python Feast writes it (abridged).
const pythonRepo = `from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast.types import Int64

driver = Entity(name="driver", join_keys=["driver_id"])
`

// unmanagedRegistries are the registry kinds of these tests: a file
// registry, a SQLite SQL registry and, when the test database is up, a
// PostgreSQL SQL registry.
var unmanagedRegistries = []struct {
	kind string
	yaml func(t *testing.T) string
}{
	{"file", func(*testing.T) string { return "registry: data/registry.db\n" }},
	{"sqlite", func(*testing.T) string {
		return "registry:\n  registry_type: sql\n  path: sqlite:///data/registry.db\n"
	}},
	{"postgres", func(t *testing.T) string {
		return "registry:\n  registry_type: sql\n  path: " + postgresRegistryURL(t) + "\n"
	}},
}

// postgresRegistryURL returns a registry URL in a fresh schema of the
// test PostgreSQL database (skipping when it is down).
func postgresRegistryURL(t *testing.T) string {
	dsn := testenv.PostgresDSN(t)
	schema := testenv.UniqueName("feast_unmanaged_test")
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newRepo writes feature_store.yaml (project demo, the given registry,
// a SQLite online store) and the given files into a fresh directory.
func newRepo(t *testing.T, registryYAML string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := "project: demo\nprovider: local\n" + registryYAML +
		"online_store:\n  type: sqlite\n  path: data/online.db\noffline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
	files["feature_store.yaml"] = cfg
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// registryState returns what the registry of fs holds: the file's bytes
// for a file registry, the project's objects otherwise.
func registryState(t *testing.T, fs *feast.FeatureStore) any {
	t.Helper()
	if p := fs.Config().Registry.Path; fs.Config().Registry.RegistryType != "sql" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(fs.Config().RepoPath, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	r, err := fs.Registry().Store().Load(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sameState(a, b any) bool {
	if x, ok := a.([]byte); ok {
		return bytes.Equal(x, b.([]byte))
	}
	return proto.Equal(a.(proto.Message), b.(proto.Message))
}

// writeForeign writes objects into the registry of fs the way another tool
// (Python Feast) would: without the managed-by tag.
func writeForeign(t *testing.T, fs *feast.FeatureStore, prefix string) {
	t.Helper()
	src := &core.DataSource{
		Name: prefix + "_src", Project: "demo", Type: core.DataSource_BATCH_FILE, TimestampField: "event_timestamp",
		Options: &core.DataSource_FileOptions_{FileOptions: &core.DataSource_FileOptions{Uri: "data/py.parquet"}},
	}
	objs := []registry.Object{
		{Kind: registry.KindDataSource, Name: src.Name, Msg: src},
		{Kind: registry.KindEntity, Name: prefix + "_driver", Msg: &core.Entity{Spec: &core.EntitySpecV2{
			Name: prefix + "_driver", Project: "demo", JoinKey: "driver_id", ValueType: types.ValueType_INT64,
		}}},
		{Kind: registry.KindFeatureView, Name: prefix + "_stats", Msg: &core.FeatureView{Spec: &core.FeatureViewSpec{
			Name: prefix + "_stats", Project: "demo", Entities: []string{prefix + "_driver"}, BatchSource: src, Online: true,
			Features: []*core.FeatureSpecV2{{Name: "rate", ValueType: types.ValueType_DOUBLE}},
		}}},
	}
	err := fs.Registry().Store().Update(context.Background(), "demo", func(r *core.Registry) error {
		for _, o := range objs {
			registry.Put(r, o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hasObject(t *testing.T, fs *feast.FeatureStore, kind registry.Kind, name string) bool {
	t.Helper()
	r, err := fs.Registry().Store().Load(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range registry.Objects(r, "demo") {
		if o.Kind == kind && o.Name == name {
			return true
		}
	}
	return false
}

// TestPythonOnlyRepoIsRefused: a repository holding only Feast Python
// definitions must not empty the registry: plan and apply refuse, naming
// the file and "feast import", and the registry is unchanged.
func TestPythonOnlyRepoIsRefused(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, reg := range unmanagedRegistries {
		t.Run(reg.kind, func(t *testing.T) {
			dir := newRepo(t, reg.yaml(t), map[string]string{"features.yaml": ownedDefs})
			applyRepo(t, open(t, dir, now))
			if err := os.Remove(filepath.Join(dir, "features.yaml")); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "example_repo.py"), []byte(pythonRepo), 0o644)
			// Files that must not count: not importing feast, or in a
			// virtual environment, cache or hidden directory.
			os.WriteFile(filepath.Join(dir, "helper.py"), []byte("import os\nimport feastish\n"), 0o644)
			for _, d := range []string{"venv/lib", ".venv", "__pycache__"} {
				os.MkdirAll(filepath.Join(dir, d), 0o755)
				os.WriteFile(filepath.Join(dir, d, "x.py"), []byte(pythonRepo), 0o644)
			}
			fs := open(t, dir, now)
			before := registryState(t, fs)

			_, err := fs.Plan(ctx)
			var pe *feast.PythonOnlyError
			if !errors.As(err, &pe) {
				t.Fatalf("plan: err = %v, want a PythonOnlyError", err)
			}
			want := "feature repository " + dir + ` holds Feast Python definitions (example_repo.py) and no YAML definitions: ` +
				`refusing to plan or apply, which would delete every object of project "demo" from the registry. ` +
				`Convert them with "feast import" (see docs/migrating.md), or move them out of the repository`
			if err.Error() != want {
				t.Errorf("plan error:\n%s\nwant:\n%s", err, want)
			}
			repo, err := fs.LoadDefinitions()
			if err != nil {
				t.Fatal(err)
			}
			if err := fs.Apply(ctx, &feast.Plan{Repo: repo}); !errors.As(err, &pe) {
				t.Errorf("apply: err = %v, want a PythonOnlyError", err)
			}
			if after := registryState(t, fs); !sameState(before, after) {
				t.Error("the refused plan/apply changed the registry")
			}
			if !hasObject(t, fs, registry.KindFeatureView, "stats") {
				t.Error("the feature view is gone")
			}
		})
	}
}

// TestMixedRepoWarnsAboutPythonFiles: Python files next to YAML
// definitions are ignored, with a warning naming them.
func TestMixedRepoWarnsAboutPythonFiles(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := newRepo(t, "registry: data/registry.db\n", map[string]string{
		"features.yaml": ownedDefs, "example_repo.py": pythonRepo, "pkg/more.py": "import feast\n",
	})
	p := applyRepo(t, open(t, dir, now))
	want := `ignoring Feast Python definition files (example_repo.py, pkg/more.py): feast-go reads only YAML definitions; ` +
		`convert them with "feast import" (see docs/migrating.md), or move them out of the repository`
	if len(p.Warnings) != 1 || p.Warnings[0] != want {
		t.Errorf("warnings = %q, want %q", p.Warnings, want)
	}
}

// TestApplyKeepsUnmanagedObjects: objects another tool wrote into the
// registry (no managed-by tag) are not deleted by apply unless allowed,
// and the refusal changes nothing; objects apply writes carry the tag, so
// deleting them needs nothing and a second plan has no changes.
func TestApplyKeepsUnmanagedObjects(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, reg := range unmanagedRegistries {
		t.Run(reg.kind, func(t *testing.T) {
			dir := newRepo(t, reg.yaml(t), map[string]string{"features.yaml": ownedDefs})
			fs := open(t, dir, now)
			writeForeign(t, fs, "py")
			before := registryState(t, fs)

			p, err := fs.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var unmanaged []string
			for _, o := range p.UnmanagedDeletes() {
				unmanaged = append(unmanaged, string(o.Kind)+" "+o.Name)
			}
			if got := strings.Join(unmanaged, ", "); got != "data source py_src, entity py_driver, feature view py_stats" {
				t.Errorf("unmanaged deletions: %s", got)
			}
			onlineBefore, _ := os.ReadFile(filepath.Join(dir, "data", "online.db"))
			err = fs.Apply(ctx, p)
			var ue *feast.UnmanagedError
			if !errors.As(err, &ue) {
				t.Fatalf("apply: err = %v, want an UnmanagedError", err)
			}
			want := `apply refuses to delete 3 object(s) of project "demo" that feast-go did not create ` +
				`(no "feast-go/managed-by: feast-go" tag; Python Feast or another tool may own them): ` +
				`data source py_src, entity py_driver, feature view py_stats. ` +
				`Define them in the repository to keep them, or pass --allow-delete-unmanaged to delete them`
			if err.Error() != want {
				t.Errorf("apply error:\n%s\nwant:\n%s", err, want)
			}
			if after := registryState(t, fs); !sameState(before, after) {
				t.Error("the refused apply changed the registry")
			}
			if onlineAfter, _ := os.ReadFile(filepath.Join(dir, "data", "online.db")); !bytes.Equal(onlineBefore, onlineAfter) {
				t.Error("the refused apply changed the online store")
			}

			if err := fs.Apply(ctx, p, feast.ApplyOptions{AllowDeleteUnmanaged: true}); err != nil {
				t.Fatal(err)
			}
			if hasObject(t, fs, registry.KindFeatureView, "py_stats") || hasObject(t, fs, registry.KindEntity, "py_driver") {
				t.Error("apply with AllowDeleteUnmanaged kept the unmanaged objects")
			}
			if !hasObject(t, fs, registry.KindFeatureView, "stats") {
				t.Error("apply did not create the repository's view")
			}
			again, err := fs.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if again.HasChanges() {
				t.Errorf("second plan has changes:\n%s", describe(again))
			}

			// Our own objects need no flag to be deleted.
			os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(strings.Replace(ownedDefs,
				"  - {name: driver, join_keys: [driver_id], value_type: INT64}\n",
				"  - {name: driver, join_keys: [driver_id], value_type: INT64}\n  - {name: rider, join_keys: [rider_id], value_type: STRING}\n", 1)), 0o644)
			applyRepo(t, fs)
			os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(ownedDefs), 0o644)
			p = applyRepo(t, fs)
			if len(p.UnmanagedDeletes()) != 0 || hasObject(t, fs, registry.KindEntity, "rider") {
				t.Error("apply did not delete its own removed entity")
			}
		})
	}
}

// TestApplyRechecksUnmanagedInsideUpdate: an unmanaged object added after
// the plan was computed is not deleted by applying that plan.
func TestApplyRechecksUnmanagedInsideUpdate(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	dir := newRepo(t, "registry: data/registry.db\n", map[string]string{"features.yaml": ownedDefs})
	fs := open(t, dir, now)
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writeForeign(t, fs, "late")
	var ue *feast.UnmanagedError
	if err := fs.Apply(ctx, p); !errors.As(err, &ue) {
		t.Fatalf("apply: err = %v, want an UnmanagedError", err)
	}
	if !hasObject(t, fs, registry.KindFeatureView, "late_stats") {
		t.Error("apply deleted an unmanaged view added after the plan")
	}
}

// TestAppliedObjectsCarryTheTag: every kind apply writes carries the tag.
func TestAppliedObjectsCarryTheTag(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := copyDefinitions(t, filepath.Join("testdata", "repos", "every_kind"))
	os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte("project: fixture\nprovider: local\nregistry: data/registry.db\n"+
		"online_store:\n  type: none\noffline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"), 0o644)
	fs := open(t, dir, now)
	applyRepo(t, fs)
	r, err := fs.Registry().Store().Load(context.Background(), "fixture")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[registry.Kind]bool{}
	for _, o := range registry.Objects(r, "fixture") {
		kinds[o.Kind] = true
		if !diff.Managed(o.Msg) {
			t.Errorf("%s %s has no managed-by tag", o.Kind, o.Name)
		}
	}
	for _, k := range registry.Kinds {
		if !kinds[k] {
			t.Errorf("the every_kind fixture applied no %s", k)
		}
	}
}

// TestTeardownKeepsUnmanagedObjects: teardown of a project holding objects
// feast-go did not create needs AllowDeleteUnmanaged.
func TestTeardownKeepsUnmanagedObjects(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	dir := newRepo(t, "registry: data/registry.db\n", map[string]string{"features.yaml": ownedDefs})
	fs := open(t, dir, now)
	applyRepo(t, fs)
	writeForeign(t, fs, "py")
	before := registryState(t, fs)
	var ue *feast.UnmanagedError
	err := fs.Teardown(ctx)
	if !errors.As(err, &ue) {
		t.Fatalf("teardown: err = %v, want an UnmanagedError", err)
	}
	want := `teardown refuses to delete 3 object(s) of project "demo" that feast-go did not create ` +
		`(no "feast-go/managed-by: feast-go" tag; Python Feast or another tool may own them): ` +
		`data source py_src, entity py_driver, feature view py_stats. Pass --allow-delete-unmanaged to delete them`
	if err.Error() != want {
		t.Errorf("teardown error:\n%s\nwant:\n%s", err, want)
	}
	if after := registryState(t, fs); !sameState(before, after) {
		t.Error("the refused teardown changed the registry")
	}
	if err := fs.Teardown(ctx, feast.TeardownOptions{AllowDeleteUnmanaged: true}); err != nil {
		t.Fatal(err)
	}
	if hasObject(t, fs, registry.KindFeatureView, "py_stats") || hasObject(t, fs, registry.KindFeatureView, "stats") {
		t.Error("teardown left objects")
	}
}

// otherDefs is a second repository's definitions, sharing no name with
// ownedDefs.
const otherDefs = `entities:
  - {name: rider, join_keys: [rider_id], value_type: STRING}
data_sources:
  - {name: rides_src, type: file, path: data/a.parquet, timestamp_field: ts}
feature_views:
  - name: rides
    entities: [rider]
    ttl: 1d
    source: rides_src
    schema:
      - {name: km, dtype: Float32}
`

// TestTwoReposShareARegistry: two feature repositories applying to one
// project of one registry do not delete each other's objects without
// --allow-delete-unmanaged: each object records the repository that
// applied it (diff.RepoTag), and the refusal names that repository.
// Objects an apply wrote before the tag existed count as the planning
// repository's own and gain the tag once.
func TestTwoReposShareARegistry(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	t.Setenv(diff.RepoIDEnv, "")
	for _, reg := range []struct {
		kind string
		yaml func(t *testing.T, shared string) string
	}{
		{"file", func(_ *testing.T, shared string) string {
			return "registry: " + filepath.Join(shared, "registry.db") + "\n"
		}},
		{"sqlite", func(_ *testing.T, shared string) string {
			return "registry:\n  registry_type: sql\n  path: sqlite:///" + filepath.Join(shared, "registry.db") + "\n"
		}},
		{"postgres", func(t *testing.T, _ string) string {
			return "registry:\n  registry_type: sql\n  path: " + postgresRegistryURL(t) + "\n"
		}},
	} {
		t.Run(reg.kind, func(t *testing.T) {
			registryYAML := reg.yaml(t, t.TempDir())
			dirA := newRepo(t, registryYAML, map[string]string{"features.yaml": ownedDefs, "data/a.parquet": ""})
			dirB := newRepo(t, registryYAML, map[string]string{"features.yaml": otherDefs, "data/a.parquet": ""})
			a, b := open(t, dirA, now), open(t, dirB, now)
			idA, err := a.RepoID()
			if err != nil {
				t.Fatal(err)
			}
			idB, _ := b.RepoID()
			if idA.ID == idB.ID || idA.ID == "" {
				t.Fatalf("repository identities %q and %q, want two different ones", idA.ID, idB.ID)
			}
			applyRepo(t, a)
			r, err := a.Registry().Store().Load(ctx, "demo")
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range registry.Objects(r, "demo") {
				if diff.RepoOf(o.Msg) != idA.ID {
					t.Errorf("%s %s applied by A has %s %q, want %q", o.Kind, o.Name, diff.RepoTag, diff.RepoOf(o.Msg), idA.ID)
				}
			}

			// B's plan marks A's objects; B's apply refuses, naming A and the flag.
			before := registryState(t, a)
			p, err := b.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var marked []string
			for _, o := range p.UnmanagedDeletes() {
				marked = append(marked, string(o.Kind)+" "+o.Name+" from "+o.OtherRepo)
			}
			if got, want := strings.Join(marked, ", "), "data source src from "+idA.ID+", entity driver from "+idA.ID+", feature view stats from "+idA.ID; got != want {
				t.Errorf("B's plan marks %q, want %q", got, want)
			}
			err = b.Apply(ctx, p)
			var ue *feast.UnmanagedError
			if !errors.As(err, &ue) {
				t.Fatalf("B's apply: err = %v, want an UnmanagedError", err)
			}
			for _, want := range []string{
				`apply refuses to delete 3 object(s) of project "demo" that another feature repository applied`,
				`entity driver (applied from repository "` + idA.ID + `")`,
				`not this repository's "` + idB.ID + `"`, diff.RepoIDEnv, "--allow-delete-unmanaged",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("B's apply error lacks %q:\n%s", want, err)
				}
			}
			if !sameState(before, registryState(t, a)) {
				t.Error("B's refused apply changed the registry")
			}

			// Teardown from B refuses too.
			if err := b.Teardown(ctx); !errors.As(err, &ue) || ue.OtherRepos != 3 {
				t.Errorf("B's teardown: err = %v, want an UnmanagedError naming A's 3 objects", err)
			}

			// Objects from an apply before the repository tag existed
			// count as ours: strip the tag, as an older feast-go wrote them.
			stripRepoTags(t, a)
			p, err = a.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var updated []string
			for _, o := range p.Objects {
				if o.Action != diff.Update {
					continue
				}
				if len(o.Properties) != 1 || o.Properties[0].Path != "tags["+diff.RepoTag+"]" || o.Properties[0].New != `"`+idA.ID+`"` {
					t.Errorf("%s %s: properties %v, want only the repository tag added", o.Kind, o.Name, o.Properties)
				}
				updated = append(updated, o.Name)
			}
			if len(updated) != 3 {
				t.Errorf("A's plan after the tag was stripped updates %v, want src, driver and stats once", updated)
			}
			applyRepo(t, a)
			if again, err := a.Plan(ctx); err != nil || again.HasChanges() {
				t.Fatalf("A's plan after gaining the tag: %v\n%s", err, describe(again))
			}

			// B, told to, deletes A's objects and writes its own; then A is refused.
			p, err = b.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Apply(ctx, p, feast.ApplyOptions{AllowDeleteUnmanaged: true}); err != nil {
				t.Fatal(err)
			}
			if hasObject(t, b, registry.KindFeatureView, "stats") || !hasObject(t, b, registry.KindFeatureView, "rides") {
				t.Error("B's apply with the flag did not replace A's objects with its own")
			}
			p, err = a.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Apply(ctx, p); !errors.As(err, &ue) || !strings.Contains(err.Error(), `feature view rides (applied from repository "`+idB.ID+`")`) {
				t.Errorf("A's apply over B's objects: %v", err)
			}

			// One identity for both folders (FEAST_REPO_ID): B's objects are A's own.
			t.Setenv(diff.RepoIDEnv, "shared-features")
			applyRepo(t, b) // re-tags B's objects with the shared identity
			p, err = a.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.UnmanagedDeletes()) != 0 {
				t.Errorf("with one %s, A's plan still marks %v", diff.RepoIDEnv, p.UnmanagedDeletes())
			}
			t.Setenv(diff.RepoIDEnv, "")
		})
	}
}

// stripRepoTags removes the repository tag from every object of project
// demo, as an apply from before the tag existed wrote them.
func stripRepoTags(t *testing.T, fs *feast.FeatureStore) {
	t.Helper()
	err := fs.Registry().Store().Update(context.Background(), "demo", func(r *core.Registry) error {
		for _, m := range r.DataSources {
			delete(m.Tags, diff.RepoTag)
		}
		for _, m := range r.Entities {
			delete(m.GetSpec().GetTags(), diff.RepoTag)
		}
		for _, m := range r.FeatureViews {
			delete(m.GetSpec().GetTags(), diff.RepoTag)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
