package model

import (
	"reflect"
	"testing"
	"time"

	"github.com/feastgo/feast/proto/feast/core"
)

// An iceberg source survives the registry as Feast's Spark source over an
// Iceberg table: catalog, properties (with ${VAR} unexpanded) and the
// snapshot pin come back unchanged.
func TestIcebergSourceProto(t *testing.T) {
	for _, tbl := range []*IcebergTable{
		{Table: "lake.features.driver_stats", Catalog: "prod", CatalogProperties: map[string]string{"uri": "${ICEBERG_URI}", "warehouse": "s3://lake/"}, SnapshotID: 42},
		{Table: "stats", AsOf: time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)},
		// A namespace that starts like the catalog's name keeps it.
		{Table: "lake.features.driver_stats", Catalog: "lake"},
	} {
		src := &DataSource{Name: "driver_stats", Kind: SourceIceberg, TimestampField: "ts", Iceberg: tbl}
		p := src.ToProto("demo")
		if p.GetType() != core.DataSource_BATCH_SPARK || p.GetSparkOptions().GetTableFormat().GetIcebergFormat() == nil {
			t.Fatalf("proto = %v, want a spark source with an iceberg table format", p)
		}
		back := DataSourceFromProto(p)
		if back.Kind != SourceIceberg || !reflect.DeepEqual(back.Iceberg, tbl) {
			t.Errorf("round trip = %+v %+v, want %+v", back.Kind, back.Iceberg, tbl)
		}
	}
	// A Spark source over a plain table is not ours to read.
	p := &core.DataSource{Name: "x", Type: core.DataSource_BATCH_SPARK, Options: &core.DataSource_SparkOptions_{SparkOptions: &core.DataSource_SparkOptions{Table: "t"}}}
	if got := DataSourceFromProto(p); got.Kind != SourceOther {
		t.Errorf("plain spark source kind = %s, want other", got.Kind)
	}
}

// What Python Feast writes for SparkSource(table_format=IcebergFormat(...))
// reads as the same table: properties without our "catalog." prefix are
// the catalog's (Feast's iceberg.* keys aside), and the path form names
// the table.
func TestIcebergSourceFromPythonFeast(t *testing.T) {
	spark := func(table, path string, props map[string]string) *core.DataSource {
		return &core.DataSource{Name: "stats", Type: core.DataSource_BATCH_SPARK, DataSourceClassType: classSparkSource,
			Options: &core.DataSource_SparkOptions_{SparkOptions: &core.DataSource_SparkOptions{Table: table, Path: path,
				TableFormat: &core.TableFormat{Format: &core.TableFormat_IcebergFormat_{IcebergFormat: &core.TableFormat_IcebergFormat{
					Catalog: "lake", Namespace: "features", Properties: props}}}}}}
	}
	for _, tc := range []struct {
		name string
		p    *core.DataSource
		want *IcebergTable
	}{
		// With table=, Python Feast reads through Spark's catalog and
		// ignores the pin.
		{"table", spark("driver_stats", "", map[string]string{"warehouse": "s3://lake/wh", "uri": "${ICEBERG_URI}", "iceberg.catalog": "lake", "snapshot-id": "7"}),
			&IcebergTable{Table: "features.driver_stats", Catalog: "lake", CatalogProperties: map[string]string{"warehouse": "s3://lake/wh", "uri": "${ICEBERG_URI}"}}},
		// Only a pin, but a namespace our writes would not record.
		{"table with only a pin", spark("driver_stats", "", map[string]string{"snapshot-id": "7"}),
			&IcebergTable{Table: "features.driver_stats", Catalog: "lake"}},
		{"path form with the catalog and a pin", spark("", "lake.features.driver_stats", map[string]string{"iceberg.catalog": "lake", "snapshot-id": "7"}),
			&IcebergTable{Table: "features.driver_stats", Catalog: "lake", SnapshotID: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DataSourceFromProto(tc.p)
			if got.Kind != SourceIceberg || !reflect.DeepEqual(got.Iceberg, tc.want) {
				t.Errorf("got %s %+v, want %+v", got.Kind, got.Iceberg, tc.want)
			}
		})
	}
	// A path that is a location, not a table, is not an Iceberg table.
	for _, loc := range []string{"s3://bucket/stats/", "warehouse/features/driver_stats", "hdfs:/wh/t", `C:\wh\t`, "/wh/t"} {
		if got := DataSourceFromProto(spark("", loc, nil)); got.Kind == SourceIceberg {
			t.Errorf("a spark source over %s read as iceberg: %+v", loc, got.Iceberg)
		}
	}
}
