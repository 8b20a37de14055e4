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
