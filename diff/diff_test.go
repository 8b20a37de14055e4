package diff

import (
	"strings"
	"testing"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/proto/feast/core"
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
		"\ttags: {team=\"a\"} -> {team=\"b\"}\n",
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
