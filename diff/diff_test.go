package diff

import (
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
)

const base = `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - {name: src, type: file, path: data/a.parquet, timestamp_field: ts}
feature_views:
  - name: stats
    entities: [driver]
    ttl: 1d
    source: src
    schema:
      - {name: conv_rate, dtype: Float32}
      - {name: trips, dtype: Int64}
    tags: {team: a}
`

func load(t *testing.T, src string) *definitions.Repo {
	t.Helper()
	repo, err := definitions.ParseFiles(map[string]string{"f.yaml": src}, definitions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func apply(r *core.Registry, objs []registry.Object) {
	for _, o := range objs {
		registry.Put(r, o)
	}
}

func renderPlan(p *Plan) string {
	var b strings.Builder
	for _, o := range p.Objects {
		if o.Action == Unchanged {
			continue
		}
		b.WriteString(string(o.Action) + " " + string(o.Kind) + " " + o.Name + "\n")
		for _, prop := range o.Properties {
			b.WriteString("\t" + prop.Path + ": " + prop.Old + " -> " + prop.New + "\n")
		}
	}
	return b.String()
}

func TestPlanCreateUpdateDelete(t *testing.T) {
	r := &core.Registry{}
	p := Compute(r, "p", Desired(load(t, base), "p"))
	want := "Created data source src\nCreated entity driver\nCreated feature view stats\n"
	if got := renderPlan(p); got != want {
		t.Fatalf("create plan:\n%s\nwant:\n%s", got, want)
	}
	apply(r, Desired(load(t, base), "p"))
	if p := Compute(r, "p", Desired(load(t, base), "p")); p.HasChanges() {
		t.Fatalf("re-plan of the same definitions must be empty, got:\n%s", renderPlan(p))
	}
	changed := strings.NewReplacer("ttl: 1d", "ttl: 2d", "{name: trips, dtype: Int64}", "{name: trips, dtype: Float64}\n      - {name: acc, dtype: Float32}", "team: a", "team: b").Replace(base)
	got := renderPlan(Compute(r, "p", Desired(load(t, changed), "p")))
	for _, frag := range []string{
		"Updated feature view stats\n",
		"\tttl: 1d -> 2d\n",
		"\tfeatures[trips].value_type: Int64 -> Float64\n",
		"\tfeatures[acc]: (none) -> acc Float32\n",
		"\ttags[team]: \"a\" -> \"b\"\n",
	} {
		if !strings.Contains(got, frag) {
			t.Errorf("update plan missing %q:\n%s", frag, got)
		}
	}
	removed := `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
`
	got = renderPlan(Compute(r, "p", Desired(load(t, removed), "p")))
	if !strings.Contains(got, "Deleted data source src") || !strings.Contains(got, "Deleted feature view stats") {
		t.Errorf("delete plan:\n%s", got)
	}
}

func TestPlanIgnoresOtherProjects(t *testing.T) {
	r := &core.Registry{}
	apply(r, Desired(load(t, base), "other"))
	p := Compute(r, "p", nil)
	if p.HasChanges() {
		t.Errorf("objects of another project must not be deleted:\n%s", renderPlan(p))
	}
}

// TestPropertyPathsOfEveryFieldKind shows the property each kind of field
// produces: bytes, oneofs, maps (of strings and of messages), nested and
// repeated messages, enums, floats and lists.
func TestPropertyPathsOfEveryFieldKind(t *testing.T) {
	const defs = `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - {name: pg, type: postgres, table: trips, timestamp_field: ts, field_mapping: {drv: driver_id}}
  - {name: files, type: file, path: a.parquet, timestamp_field: ts}
  - {name: req, type: request, schema: [{name: val, dtype: Int64}]}
feature_views:
  - name: stats
    entities: [driver]
    ttl: 1d
    source: pg
    schema:
      - {name: a, dtype: Int64}
      - {name: b, dtype: Int64}
on_demand_feature_views:
  - name: plus
    sources: [stats, req]
    schema:
      - {name: c, dtype: Int64, expression: "a + val"}
`
	r := &core.Registry{}
	apply(r, Desired(load(t, defs), "p"))
	changed := strings.NewReplacer(
		"table: trips", "table: rides", // bytes (JSON options)
		"{drv: driver_id}", "{drv: driver, \"two words\": x}", // map keys
		"type: file, path: a.parquet", "type: postgres, query: SELECT 1", // oneof member
		"      - {name: a, dtype: Int64}\n      - {name: b, dtype: Int64}", "      - {name: b, dtype: Int64}\n      - {name: a, dtype: Int64}", // order
		"ttl: 1d", "ttl: 2d",
	).Replace(defs)
	got := renderPlan(Compute(r, "p", Desired(load(t, changed), "p")))
	for _, frag := range []string{
		"\tcustom_options.configuration: {\"name\":\"pg\",\"query\":\"\",\"table\":\"trips\"} -> {\"name\":\"pg\",\"query\":\"\",\"table\":\"rides\"}\n",
		"\tfield_mapping[drv]: \"driver_id\" -> \"driver\"\n",
		"\tfield_mapping[\"two words\"]: (none) -> \"x\"\n",
		"\ttype: BATCH_FILE -> CUSTOM_SOURCE\n",
		"\toptions: file_options: {file_format: {parquet_format: {}}, uri: \"a.parquet\"} -> custom_options: {configuration: {\"name\":\"files\",\"query\":\"SELECT 1\",\"table\":\"\"}}\n",
		"\tfeatures order: a, b -> b, a\n",
		"\tttl: 1d -> 2d\n",
		"\tbatch_source.custom_options.configuration: {", // nested message
		"\tsources[stats].feature_view_projection.feature_columns order: a, b -> b, a\n", // map of messages
	} {
		if !strings.Contains(got, frag) {
			t.Errorf("plan missing %q:\n%s", frag, got)
		}
	}
}

func TestPropertiesOfScalars(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name     string
		old, new proto.Message
		want     []Property
	}{
		{"NaN equals NaN", &core.LoggingConfig{SampleRate: nan}, &core.LoggingConfig{SampleRate: nan}, nil},
		{"-0 equals 0", &core.LoggingConfig{SampleRate: float32(math.Copysign(0, -1))}, &core.LoggingConfig{}, nil},
		{"float", &core.LoggingConfig{SampleRate: 0.5}, &core.LoggingConfig{SampleRate: nan}, []Property{{"sample_rate", "0.5", "NaN"}}},
		{"equal bytes", &core.DataSource_CustomSourceOptions{Configuration: []byte("{}")}, &core.DataSource_CustomSourceOptions{Configuration: []byte("{}")}, nil},
		{"text bytes", &core.DataSource_CustomSourceOptions{Configuration: []byte("a")}, &core.DataSource_CustomSourceOptions{Configuration: []byte("a\"b")}, []Property{{"configuration", `"a"`, `"a\"b"`}}},
		{"binary bytes", &core.DataSource_CustomSourceOptions{}, &core.DataSource_CustomSourceOptions{Configuration: []byte{0xff, 0}}, []Property{{"configuration", `""`, "0xff00"}}},
		{"long binary bytes", &core.DataSource_CustomSourceOptions{Configuration: []byte{0xff}}, &core.DataSource_CustomSourceOptions{Configuration: append([]byte{0xff}, make([]byte, 40)...)},
			[]Property{{"configuration", "0xff", "(41 bytes, sha256 765e64a1136e)"}}},
		{"repeated strings", &core.FeatureViewSpec{Entities: []string{"a"}}, &core.FeatureViewSpec{Entities: []string{"a", "b"}}, []Property{{"entities", `["a"]`, `["a", "b"]`}}},
		{"repeated names by position", &core.FeatureViewSpec{Features: []*core.FeatureSpecV2{{Name: "a"}, {Name: "a"}}},
			&core.FeatureViewSpec{Features: []*core.FeatureSpecV2{{Name: "a"}, {Name: "a", ValueType: types.ValueType_INT64}}},
			[]Property{{"features[1].value_type", "INVALID", "Int64"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Properties(tc.old, tc.new)
			if len(got) != len(tc.want) || len(got) > 0 && !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestComputeObjectsWithoutSpec(t *testing.T) {
	r := &core.Registry{Entities: []*core.Entity{{}}, FeatureViews: []*core.FeatureView{{}}, FeatureServices: []*core.FeatureService{{}}}
	p := Compute(r, "", []registry.Object{{Kind: registry.KindEntity, Msg: &core.Entity{Spec: &core.EntitySpecV2{}}}, {Kind: registry.KindFeatureView, Msg: &core.FeatureView{}}})
	if got, want := renderPlan(p), "Deleted feature service \n"; got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

// TestDesiredTagsEveryKind: every object built from the repository carries
// the managed-by tag, next to the repository's own tags.
func TestDesiredTagsEveryKind(t *testing.T) {
	const defs = base + `
  - name: events
    entities: [driver]
    source: push
    schema: [{name: clicks, dtype: Int64}]
on_demand_feature_views:
  - name: plus
    sources: [stats]
    schema: [{name: c, dtype: Int64, expression: "trips + 1"}]
feature_services:
  - {name: svc, features: [stats]}
`
	withPush := strings.Replace(defs, "data_sources:\n", "data_sources:\n  - {name: push, type: push, batch_source: src}\n", 1)
	kinds := map[registry.Kind]bool{}
	for _, o := range Desired(load(t, withPush), "p") {
		kinds[o.Kind] = true
		if !Managed(o.Msg) {
			t.Errorf("%s %s is not tagged", o.Kind, o.Name)
		}
		if o.Name == "stats" && tagsOf(o.Msg)["team"] != "a" {
			t.Errorf("the repository's tags were lost: %v", tagsOf(o.Msg))
		}
	}
	for _, k := range []registry.Kind{registry.KindDataSource, registry.KindEntity, registry.KindFeatureView, registry.KindOnDemandView, registry.KindFeatureService} {
		if !kinds[k] {
			t.Errorf("no %s in the test repository", k)
		}
	}
}

// TestComputeMarksUnmanagedDeletes: deleting an object without the
// managed-by tag is marked; objects of our own apply, and the dummy
// entity, are not.
func TestComputeMarksUnmanagedDeletes(t *testing.T) {
	r := &core.Registry{}
	apply(r, Desired(load(t, base), "p"))
	registry.Put(r, registry.Object{Kind: registry.KindEntity, Name: "py", Msg: &core.Entity{Spec: &core.EntitySpecV2{Name: "py", Project: "p"}}})
	registry.Put(r, registry.Object{Kind: registry.KindEntity, Name: "__dummy", Msg: &core.Entity{Spec: &core.EntitySpecV2{Name: "__dummy", Project: "p"}}})
	registry.Put(r, registry.Object{Kind: registry.KindFeatureService, Name: "other", Msg: &core.FeatureService{Spec: &core.FeatureServiceSpec{
		Name: "other", Project: "p", Tags: map[string]string{ManagedByTag: "someone-else"}}}})
	p := Compute(r, "p", nil)
	var got []string
	for _, o := range p.UnmanagedDeletes() {
		got = append(got, string(o.Kind)+" "+o.Name)
	}
	if want := []string{"entity py", "feature service other"}; !slices.Equal(got, want) {
		t.Errorf("unmanaged deletes = %q, want %q", got, want)
	}
	// An object adopted from another tool is updated with the tag.
	untagged := &core.Entity{Spec: &core.EntitySpecV2{Name: "driver", Project: "p", JoinKey: "driver_id", ValueType: types.ValueType_INT64}}
	registry.Put(r, registry.Object{Kind: registry.KindEntity, Name: "driver", Msg: untagged})
	if got, want := renderPlan(Compute(r, "p", Desired(load(t, base), "p"))), "Updated entity driver\n\ttags[feast-go/managed-by]: (none) -> \"feast-go\"\n"; !strings.Contains(got, want) {
		t.Errorf("plan of an adopted entity:\n%s\nwant it to contain:\n%s", got, want)
	}
}
