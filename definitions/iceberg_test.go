package definitions_test

import (
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
)

// An iceberg source keeps its table, catalog, catalog properties (${VAR}
// unexpanded) and snapshot pin through the registry and back to
// definitions, and feature views read from it.
func TestIcebergSourceRoundTrip(t *testing.T) {
	yml := `entities:
  - name: driver
    join_keys: [driver_id]
    value_type: INT64
data_sources:
  - name: driver_stats
    type: iceberg
    table: lake.features.driver_stats
    catalog: prod
    catalog_properties:
      uri: ${ICEBERG_URI}
    as_of: 2026-03-01T12:00:00Z
    timestamp_field: event_timestamp
feature_views:
  - name: driver_hourly
    entities: [driver]
    source: driver_stats
    ttl: 1d
    schema:
      - {name: conv_rate, dtype: Float32}
`
	repo, err := definitions.ParseFiles(map[string]string{"features.yaml": yml}, definitions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := repo.DataSources[0]
	want := model.IcebergTable{Table: "lake.features.driver_stats", Catalog: "prod", CatalogProperties: map[string]string{"uri": "${ICEBERG_URI}"},
		AsOf: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if src.Kind != model.SourceIceberg || src.Iceberg == nil || src.Iceberg.Table != want.Table || src.Iceberg.Catalog != want.Catalog ||
		src.Iceberg.CatalogProperties["uri"] != "${ICEBERG_URI}" || !src.Iceberg.AsOf.Equal(want.AsOf) {
		t.Fatalf("source = %+v %+v", src, src.Iceberg)
	}
	if fv := repo.FeatureViews[0]; fv.Source != src {
		t.Errorf("feature view source = %v", fv.Source)
	}
	reg := registryOf(t, map[string]string{"features.yaml": yml})
	files := definitions.FromRegistry(reg, "p").Files(definitions.LayoutKind)
	var out strings.Builder
	for _, d := range files {
		out.Write(d)
	}
	for _, w := range []string{"type: iceberg", "table: lake.features.driver_stats", "catalog: prod", "uri: ${ICEBERG_URI}", "as_of: \"2026-03-01T12:00:00Z\""} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("exported definitions lack %q:\n%s", w, out.String())
		}
	}
	back, err := definitions.ParseFiles(toStrings(files), definitions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := diff.Compute(reg, "p", diff.Desired(back, "p")); p.HasChanges() {
		t.Errorf("re-imported definitions differ: %+v", p.Objects)
	}
}

func TestIcebergSourceProblems(t *testing.T) {
	for _, c := range []struct{ yml, want string }{
		{"    timestamp_field: ts\n", "table: is required for an iceberg source"},
		{"    table: a.b\n", "timestamp_field: is required"},
		{"    table: a.b\n    timestamp_field: ts\n    snapshot_id: latest\n", "snapshot_id: must be a snapshot id"},
		{"    table: a.b\n    timestamp_field: ts\n    as_of: yesterday\n", "as_of: must be an RFC 3339 time"},
		{"    table: a.b\n    timestamp_field: ts\n    snapshot_id: 5\n    as_of: 2026-01-01T00:00:00Z\n", "set at most one of snapshot_id and as_of"},
		{"    table: a.b\n    timestamp_field: ts\n    path: x.parquet\n", "path"},
	} {
		yml := "data_sources:\n  - name: s\n    type: iceberg\n" + c.yml
		_, err := definitions.ParseFiles(map[string]string{"f.yaml": yml}, definitions.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.yml, err, c.want)
		}
	}
}
