package config

import (
	"reflect"
	"strings"
	"testing"
)

// Iceberg catalogs are named property maps under offline_store, with
// ${VAR} expanded like everything else; a catalog needs a type.
func TestOfflineIcebergCatalogs(t *testing.T) {
	yaml := `project: p
offline_store:
  type: duckdb
  iceberg_catalogs:
    default:
      type: rest
      uri: ${ICEBERG_REST_URI}
      warehouse: s3://lake/
    local:
      type: sql
      uri: file:/data/catalog.db
      sql.driver: sqlite
      sql.dialect: sqlite
`
	env := func(k string) (string, bool) {
		return map[string]string{"ICEBERG_REST_URI": "https://iceberg.example/api"}[k], k == "ICEBERG_REST_URI"
	}
	cfg, err := Parse("f", "/repo", []byte(yaml), env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"default": {"type": "rest", "uri": "https://iceberg.example/api", "warehouse": "s3://lake/"},
		"local":   {"type": "sql", "uri": "file:/data/catalog.db", "sql.driver": "sqlite", "sql.dialect": "sqlite"},
	}
	if got := cfg.OfflineStore.IcebergCatalogs; !reflect.DeepEqual(got, want) {
		t.Errorf("iceberg catalogs = %v, want %v", got, want)
	}
	_, err = Parse("f", "/repo", []byte("project: p\noffline_store:\n  type: duckdb\n  iceberg_catalogs:\n    lake:\n      warehouse: s3://lake/\n"), env)
	if err == nil || !strings.Contains(err.Error(), "iceberg_catalogs.lake has no type") {
		t.Errorf("catalog without a type: err = %v", err)
	}
}
