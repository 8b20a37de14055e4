package duckdb

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/iceberg/icebergtest"
	"github.com/feastgo/feast/offline/objstore/fakes3"
	"github.com/feastgo/feast/offline/offlinetest"
)

// icebergBackend runs the conformance suite on Iceberg tables: each source
// is written by iceberg-go as a table of a SQLite SQL catalog whose
// warehouse is warehouse (local when empty).
func icebergBackend(t *testing.T, props map[string]string) *offlinetest.Backend {
	s, err := OpenOptions(context.Background(), Options{Threads: 2, IcebergCatalogs: map[string]map[string]string{"default": props}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	n := 0
	return &offlinetest.Backend{Store: s, CreateSource: func(t *testing.T, name string, tbl *offlinetest.Table) *model.DataSource {
		t.Helper()
		n++
		rec, err := tbl.Record()
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Release()
		ident := fmt.Sprintf("conformance.%s_%d", name, n)
		icebergtest.CreateTable(t, props, ident, icebergtest.Options{}, rec)
		return &model.DataSource{Kind: model.SourceIceberg, Iceberg: &model.IcebergTable{Table: ident}}
	}}
}

// The conformance suite, unchanged, on Iceberg tables with a local warehouse.
func TestConformanceIceberg(t *testing.T) {
	offlinetest.Run(t, func(t *testing.T) *offlinetest.Backend {
		return icebergBackend(t, icebergtest.SQLiteCatalog(t.TempDir(), ""))
	})
}

// ... and with the warehouse in the S3 stand-in: data files are copied
// through iceberg-go's S3 file IO.
func TestConformanceIcebergS3(t *testing.T) {
	offlinetest.Run(t, func(t *testing.T) *offlinetest.Backend {
		srv := fakes3.Start(t, "lake")
		props := icebergtest.SQLiteCatalog(t.TempDir(), "s3://lake/warehouse")
		props["s3.endpoint"] = srv.Endpoint
		props["s3.region"] = fakes3.Region
		props["s3.force-virtual-addressing"] = "false"
		return icebergBackend(t, props)
	})
}

var icebergStatsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

// icebergDay is driver 1's row of one day: v = day, at noon.
func icebergDay(day int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, icebergStatsSchema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.Int64Builder).Append(int64(day))
	b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(day0.AddDate(0, 0, day).Add(12 * time.Hour).UnixMicro()))
	return b.NewRecordBatch()
}

func icebergView(src *model.DataSource, ttl time.Duration) *model.FeatureView {
	return &model.FeatureView{
		Name: "stats", Entities: []string{"driver"}, TTL: ttl,
		EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
		Features:      []model.Field{{Name: "v", Type: model.Int64}},
		Source:        src,
	}
}

func entityRows(t *testing.T, times ...time.Time) arrow.RecordBatch {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, ts := range times {
		b.Field(0).(*array.Int64Builder).Append(1)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
	}
	return b.NewRecordBatch()
}

// Pruning, counted in data files: over 60 daily snapshots (one data file
// each, day-partitioned), materializing one day plans that day's file and
// the next (the run's end is inclusive), and historical retrieval plans the
// files of [min(entity time) - ttl, max(entity time)].
func TestIcebergPruning(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	recs := make([]arrow.RecordBatch, 60)
	for d := range recs {
		recs[d] = icebergDay(d)
	}
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{PartitionDay: "event_timestamp"}, recs...)
	ctx := context.Background()
	s, err := OpenOptions(ctx, Options{Threads: 2, IcebergCatalogs: map[string]map[string]string{"default": props}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := &model.DataSource{Name: "stats_src", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "feast.stats"}}
	view := icebergView(src, 48*time.Hour)

	rr, err := s.PullLatest(ctx, view, day0.AddDate(0, 0, 30), day0.AddDate(0, 0, 31))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := offlinetest.RenderReader(rr)
	rr.Release()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !strings.Contains(rows[1], " 30 ") {
		t.Errorf("pulled %v, want day 30's row", rows)
	}
	if got := s.IcebergStats(); got.DataFilesRead != 1 || got.DataFilesInSnapshots != 60 {
		t.Errorf("materializing one day: stats %+v, want 1 of 60 data files", got)
	}

	ents := entityRows(t, day0.AddDate(0, 0, 40).Add(18*time.Hour), day0.AddDate(0, 0, 45).Add(18*time.Hour))
	defer ents.Release()
	entsReader, err := array.NewRecordReader(ents.Schema(), []arrow.RecordBatch{ents})
	if err != nil {
		t.Fatal(err)
	}
	defer entsReader.Release()
	job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{
		Entities: offline.EntitySource{Records: entsReader},
		Views:    []offline.ViewRequest{{View: view, Features: []string{"v"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	out, err := job.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = offlinetest.RenderReader(out)
	out.Release()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !strings.HasSuffix(rows[1], " 40") || !strings.HasSuffix(rows[2], " 45") {
		t.Errorf("historical rows %v, want v 40 and 45", rows)
	}
	// The window is [day 38 18:00, day 45 18:00]: the partitions of days
	// 38..45 overlap it, and day 38's file statistics (its row is at noon)
	// rule that file out too, leaving days 39..45.
	if got := s.IcebergStats().DataFilesRead - 1; got != 7 {
		t.Errorf("historical retrieval read %d data files, want 7 of 60", got)
	}
}

// Offline push through the store lands as snapshots, concurrent pushes
// included, and later reads see every pushed row.
func TestIcebergPush(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, icebergDay(0))
	ctx := context.Background()
	catalogs := map[string]map[string]string{"default": props}
	var stores [2]*Store
	for i := range stores {
		s, err := OpenOptions(ctx, Options{Threads: 1, IcebergCatalogs: catalogs})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	src := &model.DataSource{Name: "stats_src", Kind: model.SourceIceberg, TimestampField: "event_timestamp",
		FieldMapping: map[string]string{"v": "value"}, Iceberg: &model.IcebergTable{Table: "feast.stats"}}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := icebergDay(1 + i)
			defer rec.Release()
			// Pushed rows carry feature names; the store maps them back.
			fields := rec.Schema().Fields()
			fields[1].Name = "value"
			renamed := array.NewRecordBatch(arrow.NewSchema(fields, nil), rec.Columns(), rec.NumRows())
			defer renamed.Release()
			errs[i] = stores[i%2].WriteBatch(ctx, src, renamed)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rr, err := stores[0].PullAll(ctx, icebergView(src, 0), day0, day0.AddDate(0, 0, 10))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := offlinetest.RenderReader(rr)
	rr.Release()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 8 {
		t.Errorf("pulled %d rows, want the header, the first row and 6 pushed:\n%s", len(rows), strings.Join(rows, "\n"))
	}
}

// A missing table fails the read naming the source and the table; nothing
// is left staged.
func TestIcebergMissingTable(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, icebergDay(0))
	ctx := context.Background()
	s, err := OpenOptions(ctx, Options{Threads: 1, IcebergCatalogs: map[string]map[string]string{"default": props}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, src := range []*model.DataSource{
		{Name: "stats_src", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "feast.gone"}},
		{Name: "stats_src", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "feast.gone", Catalog: "prod"}},
	} {
		_, err := s.PullLatest(ctx, icebergView(src, 0), day0, day0.AddDate(0, 0, 1))
		if err == nil || !strings.Contains(err.Error(), "iceberg source stats_src (table feast.gone)") {
			t.Errorf("err = %v, want it to name the source and the table", err)
		}
	}
}

// A data file gone from an S3 warehouse (deleted by hand, or by a
// maintenance job under a running read) fails the read naming the source,
// the table and the file.
func TestIcebergS3MissingDataFile(t *testing.T) {
	srv := fakes3.Start(t, "lake")
	props := icebergtest.SQLiteCatalog(t.TempDir(), "s3://lake/warehouse")
	props["s3.endpoint"], props["s3.region"], props["s3.force-virtual-addressing"] = srv.Endpoint, fakes3.Region, "false"
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, icebergDay(0), icebergDay(1))
	ctx := context.Background()
	b, err := srv.Bucket(ctx, "lake")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var gone string
	it := b.List(&blob.ListOptions{Prefix: "warehouse/"})
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		if strings.Contains(obj.Key, "/data/") && strings.HasSuffix(obj.Key, ".parquet") {
			gone = obj.Key
			break
		}
	}
	if gone == "" {
		t.Fatal("no data file in the warehouse")
	}
	if err := b.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	s, err := OpenOptions(ctx, Options{Threads: 1, IcebergCatalogs: map[string]map[string]string{"default": props}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := &model.DataSource{Name: "stats_src", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "feast.stats"}}
	_, err = s.PullLatest(ctx, icebergView(src, 0), day0, day0.AddDate(0, 0, 2))
	if err == nil || !strings.Contains(err.Error(), "iceberg source stats_src (table feast.stats)") || !strings.Contains(err.Error(), "read data file s3://lake/"+gone) {
		t.Errorf("err = %v, want it to name the source, the table and s3://lake/%s", err, gone)
	}
}

// Reproducible training data: historical retrieval from a source pinned
// to the first snapshot answers as the table was then, after a later
// append corrected the value.
func TestIcebergHistoricalAsOfSnapshot(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	first := icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, icebergDay(0)).CurrentSnapshot().SnapshotID
	ctx := context.Background()
	s, err := OpenOptions(ctx, Options{Threads: 1, IcebergCatalogs: map[string]map[string]string{"default": props}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	current := &model.DataSource{Name: "stats_src", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "feast.stats"}}
	// A later row for the same driver, day 0 at 13:00, v = 100.
	b := array.NewRecordBuilder(memory.DefaultAllocator, icebergStatsSchema)
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.Int64Builder).Append(100)
	b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(day0.Add(13 * time.Hour).UnixMicro()))
	later := b.NewRecordBatch()
	b.Release()
	defer later.Release()
	if err := s.WriteBatch(ctx, current, later); err != nil {
		t.Fatal(err)
	}
	pinned := *current
	pinned.Iceberg = &model.IcebergTable{Table: "feast.stats", SnapshotID: first}
	for _, c := range []struct {
		src  *model.DataSource
		want string
	}{{current, " 100"}, {&pinned, " 0"}} {
		ents := entityRows(t, day0.Add(20*time.Hour))
		rr, err := array.NewRecordReader(ents.Schema(), []arrow.RecordBatch{ents})
		if err != nil {
			t.Fatal(err)
		}
		job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{
			Entities: offline.EntitySource{Records: rr},
			Views:    []offline.ViewRequest{{View: icebergView(c.src, 0), Features: []string{"v"}}},
		})
		rr.Release()
		ents.Release()
		if err != nil {
			t.Fatal(err)
		}
		out, err := job.Reader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := offlinetest.RenderReader(out)
		out.Release()
		job.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || !strings.HasSuffix(rows[1], c.want) {
			t.Errorf("snapshot %d: rows %v, want v%s", c.src.Iceberg.SnapshotID, rows, c.want)
		}
	}
}

// Remote data files are copied once: they are immutable, so a second read
// of the same snapshot takes them from the object staging cache (shared
// with object-store sources, persistent with object_cache_dir) instead of
// the bucket. A cache too small for them still serves each read: a read's
// files stay pinned until it is released, then are evicted.
func TestIcebergS3DataFilesCached(t *testing.T) {
	srv := fakes3.Start(t, "lake")
	props := icebergtest.SQLiteCatalog(t.TempDir(), "s3://lake/warehouse")
	props["s3.endpoint"], props["s3.region"], props["s3.force-virtual-addressing"] = srv.Endpoint, fakes3.Region, "false"
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, icebergDay(0), icebergDay(1))
	ctx := context.Background()
	src := &model.DataSource{Name: "stats_src", Kind: model.SourceIceberg, TimestampField: "event_timestamp", Iceberg: &model.IcebergTable{Table: "feast.stats"}}
	read := func(s *Store) []string {
		t.Helper()
		rr, err := s.PullLatest(ctx, icebergView(src, 0), day0, day0.AddDate(0, 0, 3))
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		rows, err := offlinetest.RenderReader(rr)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	for _, tc := range []struct {
		name       string
		cacheBytes int64
		cached     bool
	}{{"default cache", 0, true}, {"cache of 1 byte", 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			cacheDir := t.TempDir()
			s, err := OpenOptions(ctx, Options{Threads: 1, ObjectCacheDir: cacheDir, ObjectCacheBytes: tc.cacheBytes,
				IcebergCatalogs: map[string]map[string]string{"default": props}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			first := read(s)
			copied := s.IcebergStats().FilesCopied
			if copied == 0 || len(first) < 2 {
				t.Fatalf("first read copied %d data files and returned %v", copied, first)
			}
			hits := s.ObjectStats().CacheHits
			second := read(s)
			if !slices.Equal(first, second) {
				t.Fatalf("second read %v, first %v", second, first)
			}
			again := s.IcebergStats().FilesCopied - copied
			if tc.cached && (again != 0 || s.ObjectStats().CacheHits-hits != copied) {
				t.Errorf("second read copied %d data files and hit the cache %d times; want 0 and %d", again, s.ObjectStats().CacheHits-hits, copied)
			}
			if !tc.cached && again != copied {
				t.Errorf("with a 1-byte cache the second read copied %d data files, want %d again", again, copied)
			}
			var staged int
			filepath.WalkDir(filepath.Join(cacheDir, "iceberg"), func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					staged++
				}
				return nil
			})
			if want := map[bool]int{true: int(copied), false: 0}[tc.cached]; staged != want {
				t.Errorf("%d data files left in the cache directory after the reads, want %d", staged, want)
			}
		})
	}
	// A new store on the same directory (the next materialization run)
	// adopts the copies.
	cacheDir := t.TempDir()
	for run := range 2 {
		s, err := OpenOptions(ctx, Options{Threads: 1, ObjectCacheDir: cacheDir, IcebergCatalogs: map[string]map[string]string{"default": props}})
		if err != nil {
			t.Fatal(err)
		}
		read(s)
		if got := s.IcebergStats().FilesCopied; (run == 0) != (got > 0) {
			t.Errorf("run %d copied %d data files", run, got)
		}
		s.Close()
	}
}
