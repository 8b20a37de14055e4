package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/iceberg/icebergtest"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

// benchDay is one day of feature rows: drivers × perDriver rows, conv and
// trips features, event times spread over the day.
func benchDay(day, drivers, perDriver int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "conv", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "trips", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	n := drivers * perDriver
	step := 24 * time.Hour / time.Duration(n)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i % drivers))
		b.Field(1).(*array.Float64Builder).Append(float64(i%997) / 997)
		b.Field(2).(*array.Int64Builder).Append(int64(i % 31))
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(day0.AddDate(0, 0, day).Add(time.Duration(i) * step).UnixMicro()))
	}
	return b.NewRecordBatch()
}

// BenchmarkIcebergRead compares reading the same rows (30 days × 100k rows,
// one data file a day) as plain Parquet files in a local folder and as an
// Iceberg table with a local warehouse, with its warehouse in the S3
// stand-in, and through iceberg-go's Arrow reader (a renamed column forces
// it): a materialization pull of all 30 days and of one day. The
// data_files/op metric is what the scan planned (BENCHMARKS.md, "Iceberg"):
//
//	go test -tags duckdb_arrow -run '^$' -bench BenchmarkIcebergRead -benchtime 5x ./offline/duckdb
func BenchmarkIcebergRead(b *testing.B) {
	const days, drivers, perDriver = 30, 1000, 100
	ctx := context.Background()
	dir := b.TempDir()
	for _, sub := range []string{"parquet", "local", "s3"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	recs := make([]arrow.RecordBatch, days)
	for d := range recs {
		recs[d] = benchDay(d, drivers, perDriver)
		defer recs[d].Release()
		rr, err := array.NewRecordReader(recs[d].Schema(), []arrow.RecordBatch{recs[d]})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := offline.WriteParquet(ctx, rr, filepath.Join(dir, "parquet", fmt.Sprintf("day-%02d.parquet", d))); err != nil {
			b.Fatal(err)
		}
		rr.Release()
	}
	srv := fakes3.Start(b, "lake")
	local := icebergtest.SQLiteCatalog(filepath.Join(dir, "local"), "")
	icebergtest.CreateTable(b, local, "bench.stats", icebergtest.Options{PartitionDay: "event_timestamp"}, recs...)
	renamed := icebergtest.CreateTable(b, local, "bench.renamed", icebergtest.Options{PartitionDay: "event_timestamp"}, recs...)
	// Renamed and back: the data files' names are right, but only a reader
	// by field id knows that, so the store takes iceberg-go's reader.
	for _, rename := range [][2]string{{"trips", "trip_count"}, {"trip_count", "trips"}} {
		txn := renamed.NewTransaction()
		if err := txn.UpdateSchema(true, false).RenameColumn([]string{rename[0]}, rename[1]).Commit(); err != nil {
			b.Fatal(err)
		}
		var err error
		if renamed, err = txn.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	s3 := icebergtest.SQLiteCatalog(filepath.Join(dir, "s3"), "s3://lake/warehouse")
	s3["s3.endpoint"], s3["s3.region"], s3["s3.force-virtual-addressing"] = srv.Endpoint, fakes3.Region, "false"
	icebergtest.CreateTable(b, s3, "bench.stats", icebergtest.Options{PartitionDay: "event_timestamp"}, recs...)

	sources := []struct {
		name    string
		catalog map[string]string
		src     *model.DataSource
	}{
		{"parquet-local", nil, &model.DataSource{Name: "stats", Kind: model.SourceFile, Path: filepath.Join(dir, "parquet") + "/", TimestampField: "event_timestamp"}},
		{"iceberg-local", local, &model.DataSource{Name: "stats", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "bench.stats"}}},
		{"iceberg-merged", local, &model.DataSource{Name: "stats", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "bench.renamed"}}},
		{"iceberg-s3", s3, &model.DataSource{Name: "stats", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "bench.stats"}}},
	}
	for _, span := range []struct {
		name string
		days int
	}{{"30days", days}, {"1day", 1}} {
		for _, c := range sources {
			b.Run(span.name+"/"+c.name, func(b *testing.B) {
				s, err := OpenOptions(ctx, Options{IcebergCatalogs: map[string]map[string]string{"default": c.catalog}})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				view := &model.FeatureView{
					Name: "stats", Entities: []string{"driver"}, Source: c.src,
					EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
					Features:      []model.Field{{Name: "conv", Type: model.Double}, {Name: "trips", Type: model.Int64}},
				}
				start := day0.AddDate(0, 0, 10)
				end := start.AddDate(0, 0, span.days).Add(-time.Microsecond)
				if span.days == days {
					start, end = day0, day0.AddDate(0, 0, days)
				}
				var rows int64
				for b.Loop() {
					rr, err := s.PullLatest(ctx, view, start, end)
					if err != nil {
						b.Fatal(err)
					}
					rows = 0
					for rr.Next() {
						rows += rr.RecordBatch().NumRows()
					}
					if err := rr.Err(); err != nil {
						b.Fatal(err)
					}
					rr.Release()
				}
				if rows != drivers {
					b.Fatalf("pulled %d rows, want %d", rows, drivers)
				}
				if st := s.IcebergStats(); st.Scans > 0 {
					b.ReportMetric(float64(st.DataFilesRead)/float64(st.Scans), "data_files/op")
					b.ReportMetric(float64(st.BytesCopied)/float64(st.Scans), "bytes_copied/op")
				}
			})
		}
	}
}
