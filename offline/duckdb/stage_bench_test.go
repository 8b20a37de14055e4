package duckdb

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/offlinetest"
)

// entityBatches builds n entity rows (driver_id, event_timestamp, seq) in
// Arrow batches of 64Ki rows, as an SDK caller passes a data frame.
func entityBatches(n int) (*arrow.Schema, []arrow.RecordBatch) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	const batch = 1 << 16
	var out []arrow.RecordBatch
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64((i * 7919) % 1000))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(time.Duration(i%3) * time.Hour).UnixMicro()))
		b.Field(2).(*array.Int64Builder).Append(int64(i))
		if (i+1)%batch == 0 || i == n-1 {
			out = append(out, b.NewRecordBatch())
		}
	}
	return schema, out
}

// BenchmarkEntityRecords measures how entity rows given as Arrow records
// reach DuckDB: the stage alone, and a whole retrieval of one view written
// to Parquet. Run it with and without -tags duckdb_arrow to compare the
// Arrow interface with the temporary Parquet file (BENCHMARKS.md):
//
//	go test -tags duckdb_arrow -run '^$' -bench BenchmarkEntityRecords -benchtime 5x ./offline/duckdb
//	go test -run '^$' -bench BenchmarkEntityRecords -benchtime 5x ./offline/duckdb
func BenchmarkEntityRecords(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	dir := b.TempDir()
	s, err := OpenOptions(ctx, Options{RepoPath: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	schema, batches := entityBatches(n)
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	reader := func() array.RecordReader {
		rr, err := array.NewRecordReader(schema, batches)
		if err != nil {
			b.Fatal(err)
		}
		return rr
	}

	b.Run("stage", func(b *testing.B) {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		for i := 0; b.Loop(); i++ {
			table := s.tempName("__feast_bench")
			rr := reader()
			if err := s.stageRecords(ctx, conn, rr, table); err != nil {
				b.Fatal(err)
			}
			rr.Release()
			var got int
			if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+s.dialect.QuoteIdent(table)).Scan(&got); err != nil || got != n {
				b.Fatalf("staged %d rows, err %v", got, err)
			}
			if _, err := conn.ExecContext(ctx, "DROP TABLE "+s.dialect.QuoteIdent(table)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})

	b.Run("historical", func(b *testing.B) {
		feat := &offlinetest.Table{Cols: []offlinetest.Col{{Name: "driver_id", Type: "int64"}, {Name: "event_timestamp", Type: "timestamptz"}, {Name: "v", Type: "int64"}}}
		for i := range 1000 {
			feat.Rows = append(feat.Rows, []any{int64(i), t0, int64(i * 10)})
		}
		fr, err := feat.Reader()
		if err != nil {
			b.Fatal(err)
		}
		_, err = offline.WriteParquet(ctx, fr, filepath.Join(dir, "f.parquet"))
		fr.Release()
		if err != nil {
			b.Fatal(err)
		}
		view := statsView(&model.DataSource{Name: "f", Kind: model.SourceFile, Path: "f.parquet", TimestampField: "event_timestamp"})
		out := filepath.Join(dir, "out.parquet")
		for b.Loop() {
			rr := reader()
			job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Entities: offline.EntitySource{Records: rr}, Views: []offline.ViewRequest{{View: view}}})
			if err != nil {
				b.Fatal(err)
			}
			if err := job.WriteParquet(ctx, out); err != nil {
				b.Fatal(err)
			}
			job.Close()
			rr.Release()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
