package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// importFixtureRepos are the repositories the round trip covers: what
// `feast init` writes, the definitions package's good fixture and every
// repository under testdata/repos (every_kind covers each object kind and
// field).
func importFixtureRepos(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..")
	repos := []string{filepath.Join(root, "examples", "driver_ranking"), filepath.Join(root, "definitions", "testdata", "good")}
	more, err := filepath.Glob(filepath.Join(root, "testdata", "repos", "*"))
	if err != nil || len(more) == 0 {
		t.Fatalf("no fixture repositories under testdata/repos: %v", err)
	}
	return append(repos, more...)
}

// importConfig is a feature_store.yaml whose paths are absolute, so that
// two directories holding it share the registry and the online store.
func importConfig(shared, registryKind string) string {
	reg := "registry: " + filepath.Join(shared, "registry.db") + "\n"
	if registryKind == "sql" {
		reg = "registry:\n  registry_type: sql\n  path: sqlite:///" + filepath.Join(shared, "registry.sqlite") + "\n"
	}
	return "project: fixture\nprovider: local\n" + reg +
		"online_store:\n  type: sqlite\n  path: " + filepath.Join(shared, "online.db") + "\noffline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
}

// copyRepoDefinitions copies src's definition files (not feature_store.yaml
// nor data/) into dir, filling the {{PROJECT}} placeholder.
func copyRepoDefinitions(t *testing.T, src, dir string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == "data" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if rel == "feature_store.yaml" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), []byte(strings.ReplaceAll(string(data), "{{PROJECT}}", "fixture")), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T, dir string) *feast.FeatureStore {
	t.Helper()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s, err := feast.Open(context.Background(), feast.Options{RepoPath: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// applyFixture applies src's definitions to a fresh registry and returns
// the config text and the directory holding the registry.
func applyFixture(t *testing.T, src, registryKind string) (string, string) {
	t.Helper()
	shared := t.TempDir()
	cfg := importConfig(shared, registryKind)
	repo := filepath.Join(shared, "source_repo")
	copyRepoDefinitions(t, src, repo)
	writeFile(t, filepath.Join(repo, "feature_store.yaml"), cfg)
	ctx := context.Background()
	s := openStore(t, repo)
	p, err := s.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	return cfg, shared
}

func planChanges(p *feast.Plan) string {
	var b strings.Builder
	for _, o := range p.Objects {
		if o.Action == diff.Unchanged {
			continue
		}
		b.WriteString(string(o.Action) + " " + string(o.Kind) + " " + o.Name + "\n")
		for _, prop := range o.Properties {
			b.WriteString("\t" + prop.Path + ": " + prop.Old + " -> " + prop.New + "\n")
		}
	}
	for _, d := range p.Infra {
		b.WriteString(string(d.Action) + " " + d.Name + "\n")
	}
	return b.String()
}

// TestImportRoundTrip applies every fixture repository to a registry,
// imports the registry into an empty repository sharing its
// feature_store.yaml, and plans: there must be no changes and nothing
// listed as not carried over, in both layouts and for file and SQL
// registries. The fixture is applied from one folder and imported into
// another: FEAST_REPO_ID makes them one repository, as two clones of one
// git repository are; without it the plan changes exactly the repository
// tag of every object (the imported repository takes them over).
func TestImportRoundTrip(t *testing.T) {
	for _, src := range importFixtureRepos(t) {
		for _, kind := range []string{"file", "sql"} {
			for _, layout := range []string{"kind", "object"} {
				t.Run(filepath.Base(src)+"/"+kind+"/"+layout, func(t *testing.T) {
					t.Setenv(diff.RepoIDEnv, "github.com/acme/features")
					cfg, _ := applyFixture(t, src, kind)
					fresh := t.TempDir()
					writeFile(t, filepath.Join(fresh, "feature_store.yaml"), cfg)
					out, errOut, err := run(t, "-c", fresh, "import", "--layout", layout)
					if err != nil {
						t.Fatalf("import: %v\n%s", err, errOut)
					}
					if strings.Contains(errOut, "Not carried over") {
						t.Errorf("import lists gaps for a registry written by apply:\n%s", errOut)
					}
					if !strings.Contains(out, "Imported ") {
						t.Errorf("import output:\n%s", out)
					}
					p, err := openStore(t, fresh).Plan(context.Background())
					if err != nil {
						t.Fatalf("plan of the imported repository: %v\nimport output:\n%s", err, out)
					}
					if p.HasChanges() {
						files, _ := filepath.Glob(filepath.Join(fresh, "*.yaml"))
						t.Errorf("plan after import has changes:\n%s\nfiles: %v", planChanges(p), files)
					}
					// The CLI agrees. The fresh repository holds the definitions
					// only, not the fixture's data files, so plan skips the
					// source path check.
					if plan := mustRun(t, "-c", fresh, "plan", "--skip-source-validation"); plan != "No changes to registry\nNo changes to infrastructure\n" {
						t.Errorf("feast plan after import:\n%s", plan)
					}
					// Another repository: only the owner changes.
					t.Setenv(diff.RepoIDEnv, "")
					p, err = openStore(t, fresh).Plan(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					for _, o := range p.Objects {
						if o.Action == diff.Unchanged && o.Name == model.DummyEntityName {
							continue
						}
						if o.Action != diff.Update || len(o.Properties) != 1 || o.Properties[0].Path != "tags["+diff.RepoTag+"]" ||
							o.Properties[0].Old != `"github.com/acme/features"` {
							t.Errorf("plan from another repository: %s %s %s %v, want only its repository tag changed", o.Action, o.Kind, o.Name, o.Properties)
						}
					}
				})
			}
		}
	}
}

func TestImportLayouts(t *testing.T) {
	cfg, _ := applyFixture(t, filepath.Join("..", "..", "testdata", "repos", "every_kind"), "file")
	kindDir, objDir := t.TempDir(), t.TempDir()
	for _, d := range []string{kindDir, objDir} {
		writeFile(t, filepath.Join(d, "feature_store.yaml"), cfg)
	}
	mustRun(t, "-c", kindDir, "import")
	for _, f := range []string{"entities.yaml", "data_sources.yaml", "feature_views.yaml", "on_demand_feature_views.yaml", "feature_services.yaml", "permissions.yaml"} {
		data, err := os.ReadFile(filepath.Join(kindDir, f))
		if err != nil {
			t.Fatalf("layout kind did not write %s", f)
		}
		if !strings.HasPrefix(string(data), "# Written by `feast import` from the registry of project \"fixture\".") {
			t.Errorf("%s has no header:\n%s", f, data)
		}
	}
	out := mustRun(t, "-c", objDir, "import", "--layout", "object")
	for _, f := range []string{"entities/driver.yaml", "entities/customer.yaml", "data_sources/trips_push.yaml", "feature_views/trips_stream.yaml",
		"on_demand_feature_views/trips_plus.yaml", "feature_services/everything.yaml", "permissions/team_rides_read.yaml"} {
		if _, err := os.Stat(filepath.Join(objDir, filepath.FromSlash(f))); err != nil {
			t.Errorf("layout object did not write %s", f)
		}
		if !strings.Contains(out, "  "+f+"\n") {
			t.Errorf("output does not list %s:\n%s", f, out)
		}
	}
	if _, err := os.Stat(filepath.Join(objDir, "entities", model.DummyEntityName+".yaml")); err == nil {
		t.Error("the dummy entity must not be written")
	}
	data, _ := os.ReadFile(filepath.Join(objDir, "feature_views", "fleet_totals.yaml"))
	if strings.Contains(string(data), "entities") {
		t.Errorf("a view without entities must not list any:\n%s", data)
	}
}

func TestImportRefusesToOverwrite(t *testing.T) {
	cfg, shared := applyFixture(t, filepath.Join("..", "..", "examples", "driver_ranking"), "file")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "feature_store.yaml"), cfg)
	writeFile(t, filepath.Join(dir, "entities.yaml"), "# mine\n")
	writeFile(t, filepath.Join(dir, "feature_views.yaml"), "# mine too\n")
	_, _, err := run(t, "-c", dir, "import")
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite 2 existing file(s)") ||
		!strings.Contains(err.Error(), "entities.yaml, feature_views.yaml") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("import over existing files: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "entities.yaml")); string(data) != "# mine\n" {
		t.Error("a refused import changed an existing file")
	}
	if _, err := os.Stat(filepath.Join(dir, "data_sources.yaml")); err == nil {
		t.Error("a refused import wrote some files")
	}
	mustRun(t, "-c", dir, "import", "--force")
	if data, _ := os.ReadFile(filepath.Join(dir, "entities.yaml")); !strings.Contains(string(data), "driver") {
		t.Errorf("--force did not overwrite:\n%s", data)
	}
	// --out writes elsewhere; --registry and --project work without a config.
	other := filepath.Join(t.TempDir(), "imported")
	out := mustRun(t, "import", "--registry", filepath.Join(shared, "registry.db"),
		"--project", "fixture", "--out", other)
	if !strings.Contains(out, "into "+other) {
		t.Errorf("output: %s", out)
	}
	if _, err := os.Stat(filepath.Join(other, "feature_views.yaml")); err != nil {
		t.Error("--out did not receive the files")
	}
	if _, _, err := run(t, "import", "--registry", filepath.Join(t.TempDir(), "none.db"), "--project", "fixture", "--out", t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), `holds no objects of project "fixture"`) {
		t.Errorf("import of an empty registry: %v", err)
	}
	if _, _, err := run(t, "-c", dir, "import", "--layout", "flat"); err == nil || !strings.Contains(err.Error(), "use kind or object") {
		t.Errorf("bad layout: %v", err)
	}
}

// TestImportListsPythonUDF builds a registry as Python Feast writes it (an
// on demand feature view with a pandas UDF, a BigQuery source and a view
// reading it, a tool tag) and checks that everything else is imported and
// the rest listed with hints, on stderr and in the files.
func TestImportListsPythonUDF(t *testing.T) {
	cfg, shared := applyFixture(t, filepath.Join("..", "..", "examples", "driver_ranking"), "file")
	store, err := registry.OpenFile(context.Background(), filepath.Join(shared, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	const udf = "@on_demand_feature_view(sources=[driver_hourly_stats])\ndef py_rate(inputs: pd.DataFrame) -> pd.DataFrame:\n    return inputs\n"
	err = store.Update(context.Background(), "fixture", func(r *core.Registry) error {
		registry.Put(r, registry.Object{Kind: registry.KindOnDemandView, Name: "py_rate", Msg: &core.OnDemandFeatureView{Spec: &core.OnDemandFeatureViewSpec{
			Name: "py_rate", Project: "fixture", Mode: "pandas",
			Features: []*core.FeatureSpecV2{{Name: "rate_x2", ValueType: model.Double}},
			Sources: map[string]*core.OnDemandSource{"driver_hourly_stats": {Source: &core.OnDemandSource_FeatureViewProjection{
				FeatureViewProjection: &core.FeatureViewProjection{FeatureViewName: "driver_hourly_stats"}}}},
			FeatureTransformation: &core.FeatureTransformationV2{Transformation: &core.FeatureTransformationV2_UserDefinedFunction{
				UserDefinedFunction: &core.UserDefinedFunctionV2{Name: "py_rate", Body: []byte("dill"), BodyText: udf}}},
		}}})
		bq := &core.DataSource{Name: "bq_trips", Project: "fixture", Type: core.DataSource_BATCH_BIGQUERY, TimestampField: "ts",
			DataSourceClassType: "feast.infra.offline_stores.bigquery_source.BigQuerySource"}
		registry.Put(r, registry.Object{Kind: registry.KindDataSource, Name: "bq_trips", Msg: bq})
		registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: "bq_view", Msg: &core.FeatureView{Spec: &core.FeatureViewSpec{
			Name: "bq_view", Project: "fixture", Entities: []string{"driver"}, BatchSource: bq, Online: true,
			Features: []*core.FeatureSpecV2{{Name: "n", ValueType: model.Int64}}}}})
		for _, e := range r.Entities {
			if e.GetSpec().GetName() == "driver" {
				e.Spec.Tags = map[string]string{"feast-go/managed-by": "feast-go", "team": "rides"}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "feature_store.yaml"), cfg)
	_, errOut, err := run(t, "-c", dir, "import")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`on demand feature view "py_rate" [NOT WRITTEN]: its transformation is a Python UDF (mode pandas), which cannot run here`,
		"hint: write a CEL `expression:` for each output field (rate_x2)",
		"def py_rate(inputs: pd.DataFrame) -> pd.DataFrame:",
		"- {name: rate_x2, dtype: Float64, expression: \"TODO\"}",
		"sources: [driver_hourly_stats]",
		`data source "bq_trips" [NOT WRITTEN]: its source type is not supported here`,
		`feature view "bq_view" [NOT WRITTEN]: it refers to data source "bq_trips", which is not carried over`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr misses %q:\n%s", want, errOut)
		}
	}
	odfvs, _ := os.ReadFile(filepath.Join(dir, "on_demand_feature_views.yaml"))
	t.Logf("stderr:\n%s\non_demand_feature_views.yaml:\n%s", errOut, odfvs)
	for _, want := range []string{`#   - on demand feature view "py_rate" (not written)`, "#       def py_rate(inputs", "name: transformed_conv_rate"} {
		if !strings.Contains(string(odfvs), want) {
			t.Errorf("on_demand_feature_views.yaml misses %q:\n%s", want, odfvs)
		}
	}
	srcs, _ := os.ReadFile(filepath.Join(dir, "data_sources.yaml"))
	if !strings.Contains(string(srcs), `data source "bq_trips" (not written)`) {
		t.Errorf("data_sources.yaml does not list bq_trips:\n%s", srcs)
	}
	ents, _ := os.ReadFile(filepath.Join(dir, "entities.yaml"))
	if strings.Contains(string(ents), "managed-by") || !strings.Contains(string(ents), "team: rides") {
		t.Errorf("tool tags must be stripped, user tags kept:\n%s", ents)
	}
	// Plan shows exactly what was not carried over: the two views and the
	// source would be deleted, the tag removed; nothing else.
	p, err := openStore(t, dir).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := planChanges(p)
	for _, want := range []string{"Deleted on demand feature view py_rate", "Deleted feature view bq_view", "Deleted data source bq_trips"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan misses %q:\n%s", want, got)
		}
	}
}

func TestImportHelp(t *testing.T) {
	out := mustRun(t, "import", "--help")
	for _, want := range []string{"feast import [flags]", "--registry", "--project", "--out", "--layout", "--force", "kind (one file per kind) or object",
		"Python UDFs", "Existing files are never overwritten"} {
		if !strings.Contains(out, want) {
			t.Errorf("help misses %q:\n%s", want, out)
		}
	}
	if root := mustRun(t, "--help"); !strings.Contains(root, "import") {
		t.Error("root help does not list import")
	}
}

// TestImportPythonPermissions: permissions Python Feast wrote into a shared
// registry are imported into permissions.yaml, and a plan of the imported
// repository changes only the managed-by tag apply adds (the plan shows
// each as an update, not a deletion).
func TestImportPythonPermissions(t *testing.T) {
	t.Setenv(diff.RepoIDEnv, "github.com/acme/features") // the import is the applying repository
	cfg, shared := applyFixture(t, filepath.Join("..", "..", "examples", "driver_ranking"), "file")
	store, err := registry.OpenFile(context.Background(), filepath.Join(shared, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	all := make([]core.PermissionSpec_Type, 0, 11)
	for ty := core.PermissionSpec_FEATURE_VIEW; ty <= core.PermissionSpec_PROJECT; ty++ {
		all = append(all, ty) // Python Feast lists ALL_RESOURCE_TYPES when types are omitted
	}
	perms := []*core.Permission{
		{Spec: &core.PermissionSpec{Name: "feast_user_permission", Project: "fixture", Types: all,
			Actions: []core.PermissionSpec_AuthzedAction{core.PermissionSpec_DESCRIBE, core.PermissionSpec_READ_ONLINE, core.PermissionSpec_READ_OFFLINE},
			Policy:  &core.Policy{PolicyType: &core.Policy_RoleBasedPolicy{RoleBasedPolicy: &core.RoleBasedPolicy{Roles: []string{"feast-reader"}}}}},
			Meta: &core.PermissionMeta{}},
		{Spec: &core.PermissionSpec{Name: "anyone_pushes", Project: "fixture", Types: []core.PermissionSpec_Type{core.PermissionSpec_FEATURE_VIEW},
			NamePatterns: []string{"driver_.*"}, RequiredTags: map[string]string{"team": "driver_performance"},
			Actions: []core.PermissionSpec_AuthzedAction{core.PermissionSpec_WRITE_ONLINE, core.PermissionSpec_WRITE_OFFLINE},
			Policy:  &core.Policy{}, Tags: map[string]string{"owner": "ml"}},
			Meta: &core.PermissionMeta{}},
	}
	err = store.Update(context.Background(), "fixture", func(r *core.Registry) error {
		for _, p := range perms {
			registry.Put(r, registry.Object{Kind: registry.KindPermission, Name: p.Spec.Name, Msg: p})
		}
		return nil
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "feature_store.yaml"), cfg)
	out, errOut, err := run(t, "-c", dir, "import")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if strings.Contains(errOut, "Not carried over") || !strings.Contains(out, "  permissions.yaml\n") {
		t.Errorf("import:\n%s\n%s", out, errOut)
	}
	data, err := os.ReadFile(filepath.Join(dir, "permissions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"policy: {allow_all: true}", "policy: {roles: [feast-reader]}", "actions: [WRITE]", "required_tags: {team: driver_performance}"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("permissions.yaml lacks %q:\n%s", want, data)
		}
	}
	p, err := openStore(t, dir).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "Updated permission anyone_pushes\n\ttags[feast-go/managed-by]: (none) -> \"feast-go\"\n\ttags[feast-go/repo]: (none) -> \"github.com/acme/features\"\n" +
		"Updated permission feast_user_permission\n\ttags[feast-go/managed-by]: (none) -> \"feast-go\"\n\ttags[feast-go/repo]: (none) -> \"github.com/acme/features\"\n"
	if got := planChanges(p); got != want {
		t.Errorf("plan of the imported repository:\n%s\nwant:\n%s", got, want)
	}
}
