package definitions_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// registryOf builds the registry apply would write for the definitions.
func registryOf(t *testing.T, files map[string]string) *core.Registry {
	t.Helper()
	repo, err := definitions.ParseFiles(files, definitions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := &core.Registry{}
	for _, o := range diff.Desired(repo, "p") {
		registry.Put(reg, o)
	}
	return reg
}

func toStrings(files map[string][]byte) map[string]string {
	out := map[string]string{}
	for n, d := range files {
		out[n] = string(d)
	}
	return out
}

func TestExportRoundTripsEveryKind(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "repos", "every_kind", "features.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := registryOf(t, map[string]string{"features.yaml": string(data)})
	exp := definitions.FromRegistry(reg, "p")
	if len(exp.Gaps()) > 0 {
		t.Fatalf("gaps: %v", exp.Gaps())
	}
	for _, layout := range []definitions.Layout{definitions.LayoutKind, definitions.LayoutObject} {
		files := exp.Files(layout)
		repo, err := definitions.ParseFiles(toStrings(files), definitions.Options{})
		if err != nil {
			t.Fatalf("%s: %v", layout, err)
		}
		if p := diff.Compute(reg, "p", diff.Desired(repo, "p")); p.HasChanges() {
			for _, o := range p.Objects {
				if o.Action != diff.Unchanged {
					t.Errorf("%s: %s %s %s %v", layout, o.Action, o.Kind, o.Name, o.Properties)
				}
			}
		}
	}
}

func TestExportTagsQuotingAndNames(t *testing.T) {
	reg := registryOf(t, map[string]string{"f.yaml": `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64, tags: {pii: "no", on: "yes"}}
data_sources:
  - {name: src, path: data/x.parquet, timestamp_field: ts}
feature_views:
  - name: v
    entities: [driver]
    source: src
    schema: [{name: f, dtype: Int64}]
feature_services:
  - {name: svc, features: [v]}
`})
	for _, e := range reg.Entities {
		e.Spec.Tags[definitions.ToolTagPrefix+"managed-by"] = "feast-go"
	}
	// A source named as definitions cannot name it: it is dropped with the
	// load problem, and so are the objects that read it.
	bad := &core.DataSource{Name: "bad name", Project: "p", Type: core.DataSource_BATCH_FILE, TimestampField: "ts",
		Options: &core.DataSource_FileOptions_{FileOptions: &core.DataSource_FileOptions{Uri: "x.parquet"}}}
	registry.Put(reg, registry.Object{Kind: registry.KindDataSource, Name: bad.Name, Msg: bad})
	registry.Put(reg, registry.Object{Kind: registry.KindFeatureView, Name: "w", Msg: (&model.FeatureView{Name: "w", Entities: []string{"driver"},
		EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}}, Features: []model.Field{{Name: "g", Type: model.Int64}},
		Online: true, Source: model.DataSourceFromProto(bad)}).ToProto("p")})

	exp := definitions.FromRegistry(reg, "p")
	files := exp.Files(definitions.LayoutObject)
	ent := string(files["entities/driver.yaml"])
	if !strings.Contains(ent, `tags: {"on": "yes", pii: "no"}`) || strings.Contains(ent, "managed-by") {
		t.Errorf("entity file:\n%s", ent)
	}
	var dropped []string
	for _, g := range exp.Gaps() {
		if g.Dropped {
			dropped = append(dropped, g.Label()+": "+g.Reason)
		}
	}
	want := []string{
		`data source "bad name": it would not load as a definition: name: "bad name" may only contain letters, digits, _ and - and must not start with _ or -`,
		`feature view "w": it refers to data source "bad name", which is not carried over`,
	}
	if strings.Join(dropped, "\n") != strings.Join(want, "\n") {
		t.Errorf("dropped:\n%s\nwant:\n%s", strings.Join(dropped, "\n"), strings.Join(want, "\n"))
	}
	if f := string(files["data_sources/bad_name.yaml"]); !strings.Contains(f, `#   - data source "bad name" (not written)`) || !strings.Contains(f, "data_sources: []") {
		t.Errorf("the dropped source's file:\n%s", f)
	}
	if _, err := definitions.ParseFiles(toStrings(files), definitions.Options{}); err != nil {
		t.Errorf("written files do not load: %v", err)
	}
}
