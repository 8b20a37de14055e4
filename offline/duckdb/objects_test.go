package duckdb

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/objstore"
	"github.com/feastgo/feast/offline/objstore/fakes3"
	"github.com/feastgo/feast/offline/offlinetest"
)

// The conformance suite, unchanged, on Parquet objects in an S3 stand-in:
// each source is uploaded and read back through gocloud's URL parameters.
func TestConformanceS3(t *testing.T) {
	offlinetest.Run(t, func(t *testing.T) *offlinetest.Backend {
		srv := fakes3.Start(t, "feast")
		s, err := OpenOptions(context.Background(), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		n := 0
		return &offlinetest.Backend{Store: s, CreateSource: func(t *testing.T, name string, tbl *offlinetest.Table) *model.DataSource {
			t.Helper()
			n++
			local := filepath.Join(t.TempDir(), name+".parquet")
			writeParquet(t, tbl, local)
			key := fmt.Sprintf("conformance/%d/%s.parquet", n, name)
			if err := srv.PutFile("feast", key, local); err != nil {
				t.Fatal(err)
			}
			return &model.DataSource{Kind: model.SourceFile, Path: srv.URL("feast", key)}
		}}
	})
}

var day0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// dayRecord is n rows of one day: driver_id 1..n, v = day*1000 + id,
// event_timestamp spread over the day.
func dayRecord(t testing.TB, day int, n int) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	start := day0.AddDate(0, 0, day)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		b.Field(1).(*array.Int64Builder).Append(int64(day*1000 + i + 1))
		ts := start.Add(time.Duration(i) * (24 * time.Hour / time.Duration(n)))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
	}
	return b.NewRecordBatch()
}

// putDays uploads one Parquet object per day under prefix, its key from
// keyOf(day); it returns the total bytes.
func putDays(t testing.TB, srv *fakes3.Server, days, rows int, keyOf func(day int) string) int64 {
	t.Helper()
	dir := t.TempDir()
	var total int64
	for d := range days {
		rec := dayRecord(t, d, rows)
		rr, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		local := filepath.Join(dir, fmt.Sprintf("%d.parquet", d))
		if _, err := offline.WriteParquet(context.Background(), rr, local); err != nil {
			t.Fatal(err)
		}
		rr.Release()
		rec.Release()
		st, _ := os.Stat(local)
		total += st.Size()
		if err := srv.PutFile("feast", keyOf(d), local); err != nil {
			t.Fatal(err)
		}
	}
	return total
}

func pullRows(t *testing.T, s *Store, view *model.FeatureView, start, end time.Time, latest bool) []string {
	t.Helper()
	var rr array.RecordReader
	var err error
	if latest {
		rr, err = s.PullLatest(context.Background(), view, start, end)
	} else {
		rr, err = s.PullAll(context.Background(), view, start, end)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	lines, err := offlinetest.RenderReader(rr)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func diffStats(a, b objstore.Stats) objstore.Stats {
	return objstore.Stats{
		PrunedRowGroups: b.PrunedRowGroups - a.PrunedRowGroups,
		Listed:          b.Listed - a.Listed, FootersRead: b.FootersRead - a.FootersRead, ObjectsRead: b.ObjectsRead - a.ObjectsRead,
		BytesRead: b.BytesRead - a.BytesRead, CacheHits: b.CacheHits - a.CacheHits,
		PrunedPartition: b.PrunedPartition - a.PrunedPartition, PrunedFooter: b.PrunedFooter - a.PrunedFooter,
	}
}

// Materializing one day of 30 daily partitions reads that day's object
// only (plus its footer), and the same read again comes from the cache.
func TestPartitionPruning(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	total := putDays(t, srv, 30, 50, func(d int) string {
		return fmt.Sprintf("daily/dt=%s/part-0.parquet", day0.AddDate(0, 0, d).Format("2006-01-02"))
	})
	s := openStore(t, "")
	src := &model.DataSource{Name: "daily", Kind: model.SourceFile, Path: srv.URL("feast", "daily/"),
		TimestampField: "event_timestamp", DatePartitionColumn: "dt"}
	view := statsView(src)
	day := day0.AddDate(0, 0, 14)
	before := s.ObjectStats()
	rows := pullRows(t, s, view, day, day.Add(24*time.Hour-time.Nanosecond), true)
	st := diffStats(before, s.ObjectStats())
	if len(rows) != 51 || !slices.Contains(rows, "1 14001 2026-01-15T00:00:00Z") {
		t.Errorf("pulled %d lines: %q", len(rows), rows)
	}
	if st.Listed != 30 || st.PrunedPartition != 29 || st.ObjectsRead != 1 || st.FootersRead != 1 {
		t.Errorf("stats = %+v, want 30 listed, 29 pruned by partition, 1 footer and 1 object read", st)
	}
	if st.BytesRead*10 > total {
		t.Errorf("read %d of %d bytes", st.BytesRead, total)
	}
	before = s.ObjectStats()
	pullRows(t, s, view, day, day.Add(24*time.Hour-time.Nanosecond), true)
	if st := diffStats(before, s.ObjectStats()); st.BytesRead != 0 || st.CacheHits != 1 {
		t.Errorf("second read: stats = %+v, want nothing read and one cache hit", st)
	}
	// A whole-range pull reads everything and the partition column is a
	// column of the source.
	if rows := pullRows(t, s, view, day0, day0.AddDate(0, 1, 0), false); len(rows) != 30*50+1 {
		t.Errorf("full pull: %d lines", len(rows))
	}
}

// year=/month=/day= folders prune too, and read as columns.
func TestPartitionPruningYearMonthDay(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	putDays(t, srv, 40, 10, func(d int) string {
		t := day0.AddDate(0, 0, d)
		return fmt.Sprintf("ymd/year=%d/month=%d/day=%d/data.parquet", t.Year(), t.Month(), t.Day())
	})
	s := openStore(t, "")
	src := &model.DataSource{Name: "ymd", Kind: model.SourceFile, Path: srv.URL("feast", "ymd"),
		TimestampField: "event_timestamp", DatePartitionColumn: "year/month/day"}
	view := statsView(src)
	view.Features = append(view.Features, model.Field{Name: "month", Type: model.Int64}, model.Field{Name: "day", Type: model.Int64})
	start := day0.AddDate(0, 0, 35) // February 5th
	before := s.ObjectStats()
	rows := pullRows(t, s, view, start, start.Add(time.Hour), false)
	if st := diffStats(before, s.ObjectStats()); st.ObjectsRead != 1 || st.PrunedPartition != 39 {
		t.Errorf("stats = %+v, want 1 object read, 39 pruned", st)
	}
	if len(rows) != 2 || rows[1] != "1 35001 2 5 2026-02-05T00:00:00Z" {
		t.Errorf("rows = %q", rows)
	}
}

// Without partition folders, footer statistics skip the objects whose
// timestamps lie outside the window: every footer, one object.
func TestFooterPruning(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	putDays(t, srv, 10, 20, func(d int) string { return fmt.Sprintf("flat/part-%02d.parquet", d) })
	s := openStore(t, "")
	src := &model.DataSource{Name: "flat", Kind: model.SourceFile, Path: srv.URL("feast", "flat/*.parquet"), TimestampField: "event_timestamp"}
	day := day0.AddDate(0, 0, 6)
	before := s.ObjectStats()
	rows := pullRows(t, s, statsView(src), day, day.Add(time.Hour), false)
	if st := diffStats(before, s.ObjectStats()); st.FootersRead != 10 || st.PrunedFooter != 9 || st.ObjectsRead != 1 {
		t.Errorf("stats = %+v, want 10 footers, 9 pruned, 1 object read", st)
	}
	if len(rows) != 2 { // 20 rows a day: one per 72 minutes
		t.Errorf("rows = %q", rows)
	}
	// A window matching no object still reads the source's columns (from
	// the smallest object) and returns nothing.
	if rows := pullRows(t, s, statsView(src), day0.AddDate(1, 0, 0), day0.AddDate(1, 0, 1), false); len(rows) != 1 {
		t.Errorf("empty window: rows = %q", rows)
	}
}

// Historical retrieval reads the partitions overlapping
// [min(entity time) - ttl, max(entity time)].
func TestHistoricalPruning(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	putDays(t, srv, 30, 24, func(d int) string {
		return fmt.Sprintf("h/dt=%s/part-0.parquet", day0.AddDate(0, 0, d).Format("2006-01-02"))
	})
	s := openStore(t, "")
	src := &model.DataSource{Name: "h", Kind: model.SourceFile, Path: srv.URL("feast", "h/"),
		TimestampField: "event_timestamp", DatePartitionColumn: "dt"}
	view := statsView(src)
	view.TTL = 24 * time.Hour
	entities := table(t, "driver_id:int64 event_timestamp:timestamptz", "1 2026-01-20T12:00:00Z", "2 2026-01-20T06:00:00Z")
	rr, _ := entities.Reader()
	defer rr.Release()
	before := s.ObjectStats()
	job, err := s.GetHistoricalFeatures(context.Background(), offline.HistoricalRequest{
		Entities: offline.EntitySource{Records: rr}, Views: []offline.ViewRequest{{View: view}}})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	got := render(t, job)
	if want := "driver_id event_timestamp v\n1 2026-01-20T12:00:00Z 19001\n2 2026-01-20T06:00:00Z 19002"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Jan 19 06:00 .. Jan 20 12:00: the partitions of the 19th and 20th.
	if st := diffStats(before, s.ObjectStats()); st.ObjectsRead != 2 || st.PrunedPartition != 28 {
		t.Errorf("stats = %+v, want 2 objects read, 28 pruned", st)
	}
	// Two views of one source: it is listed and staged once.
	rr2, _ := entities.Reader()
	defer rr2.Release()
	before = s.ObjectStats()
	job2, err := s.GetHistoricalFeatures(context.Background(), offline.HistoricalRequest{
		Entities: offline.EntitySource{Records: rr2}, FullFeatureNames: true,
		Views: []offline.ViewRequest{{View: view}, {View: view, Alias: "again"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer job2.Close()
	if got := render(t, job2); !strings.HasSuffix(got, "1 2026-01-20T12:00:00Z 19001 19001\n2 2026-01-20T06:00:00Z 19002 19002") {
		t.Errorf("two views: got\n%s", got)
	}
	if st := diffStats(before, s.ObjectStats()); st.Listed != 30 || st.CacheHits != 2 || st.ObjectsRead != 0 {
		t.Errorf("two views: stats = %+v, want one listing of 30 and 2 cache hits", st)
	}
}

// Offline push writes a new object, readable at once; a single-object
// source is refused.
func TestObjectStorePush(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	s := openStore(t, "")
	src := &model.DataSource{Name: "pushed", Kind: model.SourceFile, Path: srv.URL("feast", "pushed/"), TimestampField: "event_timestamp"}
	for d := range 2 {
		rec := dayRecord(t, d, 3)
		if err := s.WriteBatch(context.Background(), src, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	b, err := srv.Bucket(context.Background(), "feast")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	objs, _, err := b.ListPage(context.Background(), blob.FirstPageToken, 100, &blob.ListOptions{Prefix: "pushed/"})
	if err != nil || len(objs) != 2 || !strings.HasSuffix(objs[0].Key, ".parquet") {
		t.Fatalf("pushed objects: %v (err %v)", objs, err)
	}
	if rows := pullRows(t, s, statsView(src), day0, day0.AddDate(0, 0, 2), false); len(rows) != 7 {
		t.Errorf("rows after push = %q", rows)
	}
	srv.Put(t, "feast", "one.parquet", []byte("x"))
	one := &model.DataSource{Name: "one", Kind: model.SourceFile, Path: srv.URL("feast", "one.parquet"), TimestampField: "event_timestamp"}
	rec := dayRecord(t, 0, 1)
	defer rec.Release()
	if err := s.WriteBatch(context.Background(), one, rec); err == nil || !strings.Contains(err.Error(), "single object") {
		t.Errorf("push to a single object: err = %v", err)
	}
}

// Faults name the source and the object, with what to check.
func TestObjectStoreFaults(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	putDays(t, srv, 3, 5, func(d int) string { return fmt.Sprintf("f/part-%d.parquet", d) })
	s := openStore(t, "")
	pull := func(path string) error {
		src := &model.DataSource{Name: "faulty", Kind: model.SourceFile, Path: path, TimestampField: "event_timestamp"}
		rr, err := s.PullAll(context.Background(), statsView(src), day0, day0.AddDate(0, 0, 3))
		if err == nil {
			rr.Release()
		}
		return err
	}
	check := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		t.Logf("%s: %v", what, err)
		for _, w := range append([]string{"faulty"}, want...) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", what, err, w)
			}
		}
	}
	check("missing bucket", pull(srv.URL("nosuchbucket", "f/")), "s3://nosuchbucket/f/", "does not exist")
	check("empty prefix", pull(srv.URL("feast", "nothing/")), "no parquet objects", "s3://feast/nothing/")
	// Deleted between listing and reading: the first GET of the object
	// (its footer) finds it gone.
	srv.SetHook(func(r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/part-1.parquet") {
			srv.Backend.DeleteObject("feast", "f/part-1.parquet")
		}
	})
	check("deleted object", pull(srv.URL("feast", "f/")), "s3://feast/f/part-1.parquet", "does not exist")
	srv.SetHook(nil)
	t.Setenv("AWS_ACCESS_KEY_ID", "WRONGKEY")
	s2 := openStore(t, "")
	src := &model.DataSource{Name: "faulty", Kind: model.SourceFile, Path: srv.URL("feast", "f/"), TimestampField: "event_timestamp"}
	_, err := s2.PullAll(context.Background(), statsView(src), day0, day0.AddDate(0, 0, 3))
	check("wrong credentials", err, "s3://feast/f/", "credentials")
}

// The standard AWS_ENDPOINT_URL variable, and offline_store's
// s3_endpoint_override, reach S3-compatible stores without URL parameters.
func TestEndpointFromEnvironmentAndConfig(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	putDays(t, srv, 1, 4, func(int) string { return "e/part.parquet" })
	read := func(s *Store) error {
		src := &model.DataSource{Name: "e", Kind: model.SourceFile, Path: "s3://feast/e/", TimestampField: "event_timestamp"}
		rr, err := s.PullAll(context.Background(), statsView(src), day0, day0.AddDate(0, 0, 1))
		if err != nil {
			return err
		}
		defer rr.Release()
		if n := offline.NumRows(rr); n != 4 {
			return fmt.Errorf("%d rows", n)
		}
		return nil
	}
	s, err := OpenOptions(context.Background(), Options{S3Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := read(s); err != nil {
		t.Errorf("s3_endpoint_override: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL", srv.Endpoint)
	if err := read(openStore(t, "")); err != nil {
		t.Errorf("AWS_ENDPOINT_URL: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	// A source's own s3_endpoint_override (Feast's FileOptions field) wins
	// over the store's.
	s3, err := OpenOptions(context.Background(), Options{S3Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	src := &model.DataSource{Name: "e", Kind: model.SourceFile, Path: "s3://feast/e/", TimestampField: "event_timestamp", S3EndpointOverride: srv.Endpoint}
	rr, err := s3.PullAll(context.Background(), statsView(src), day0, day0.AddDate(0, 0, 1))
	if err != nil {
		t.Fatalf("source s3_endpoint_override: %v", err)
	}
	if n := offline.NumRows(rr); n != 4 {
		t.Errorf("source s3_endpoint_override: %d rows", n)
	}
	rr.Release()
}

// A cache smaller than the data keeps working: files are evicted once a
// read releases them, and never while a job holds them.
func TestObjectCacheBound(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	putDays(t, srv, 5, 200, func(d int) string { return fmt.Sprintf("c/part-%d.parquet", d) })
	s, err := OpenOptions(context.Background(), Options{ObjectCacheBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := &model.DataSource{Name: "c", Kind: model.SourceFile, Path: srv.URL("feast", "c/"), TimestampField: "event_timestamp"}
	for range 2 {
		if rows := pullRows(t, s, statsView(src), day0, day0.AddDate(0, 0, 5), false); len(rows) != 1001 {
			t.Errorf("rows = %d", len(rows))
		}
		if n := s.objects.CacheBytes(); n > 1 {
			t.Errorf("cache holds %d bytes after the read, bound 1", n)
		}
	}
	if st := s.ObjectStats(); st.ObjectsRead != 10 {
		t.Errorf("objects read = %d, want 10 (nothing kept)", st.ObjectsRead)
	}
	var left []string
	filepath.Walk(filepath.Join(s.tmp, "objects"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("staged files left: %v", left)
	}
}

// CSV objects in Hive folders read as a source (partition values as
// columns), and an entity file can be an object too.
func TestObjectStoreCSVAndEntityFile(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	srv.Put(t, "feast", "csv/region=north/a.csv", []byte("driver_id,v,event_timestamp\n1,10,2024-01-01T00:00:00Z\n2,20,2024-01-01T00:00:00Z\n"))
	srv.Put(t, "feast", "csv/region=south/b.csv", []byte("driver_id,v,event_timestamp\n3,30,2024-01-01T00:00:00Z\n"))
	srv.Put(t, "feast", "csv/_SUCCESS", nil)
	srv.Put(t, "feast", "entities.csv", []byte("driver_id,event_timestamp\n3,2024-01-02T00:00:00Z\n1,2024-01-02T00:00:00Z\n"))
	s := openStore(t, "")
	src := &model.DataSource{Name: "csv", Kind: model.SourceFile, Path: srv.URL("feast", "csv/"), FileFormat: "csv", TimestampField: "event_timestamp"}
	view := statsView(src)
	view.Features = append(view.Features, model.Field{Name: "region", Type: model.String})
	job, err := s.GetHistoricalFeatures(context.Background(), offline.HistoricalRequest{
		Entities: offline.EntitySource{Path: srv.URL("feast", "entities.csv")}, Views: []offline.ViewRequest{{View: view}}})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	got := render(t, job)
	if want := "driver_id event_timestamp v region\n3 2024-01-02T00:00:00Z 30 south\n1 2024-01-02T00:00:00Z 10 north"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A glob through the partition folders keeps them as columns too.
	src.Path = srv.URL("feast", "csv/region=*/*.csv")
	if rows := pullRows(t, s, view, t0, t0, false); len(rows) != 4 || !slices.Contains(rows, "2 20 north 2024-01-01T00:00:00Z") {
		t.Errorf("glob: rows = %q", rows)
	}
}

// One object with a row group per day: a one-day read fetches that row
// group (and its neighbour at the inclusive end) by ranged reads into a
// Parquet file of their own, and gives the rows a local read of the whole
// file gives.
func TestRowGroupPruning(t *testing.T) {
	srv := fakes3.Start(t, "feast")
	local := filepath.Join(t.TempDir(), "year.parquet")
	f, err := os.Create(local)
	if err != nil {
		t.Fatal(err)
	}
	first := dayRecord(t, 0, 1000)
	w, err := pqarrow.NewFileWriter(first.Schema(), f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(true)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	first.Release()
	for d := range 30 {
		rec := dayRecord(t, d, 1000)
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.PutFile("feast", "one/year.parquet", local); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(local)
	s := openStore(t, "")
	remote := &model.DataSource{Name: "one", Kind: model.SourceFile, Path: srv.URL("feast", "one/year.parquet"), TimestampField: "event_timestamp"}
	onDisk := &model.DataSource{Name: "one", Kind: model.SourceFile, Path: local, TimestampField: "event_timestamp"}
	day := day0.AddDate(0, 0, 11)
	for _, w := range [][2]time.Time{{day, day.Add(24 * time.Hour)}, {day.Add(time.Hour), day.Add(2 * time.Hour)}, {day0, day0.AddDate(0, 1, 0)}} {
		before := s.ObjectStats()
		got := pullRows(t, s, statsView(remote), w[0], w[1], false)
		stats := diffStats(before, s.ObjectStats())
		t.Logf("window %s..%s: %d of %d bytes read, %d row groups skipped", w[0].Format(time.RFC3339), w[1].Format(time.RFC3339), stats.BytesRead, st.Size(), stats.PrunedRowGroups)
		want := pullRows(t, s, statsView(onDisk), w[0], w[1], false)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || len(got) < 2 {
			t.Errorf("window %s..%s: got %d rows, want %d", w[0], w[1], len(got), len(want))
		}
		if w[1].Sub(w[0]) <= 24*time.Hour && (stats.BytesRead*5 > st.Size() || stats.PrunedRowGroups < 28) {
			t.Errorf("window %s..%s: stats %+v, object %d bytes: want a few row groups read", w[0], w[1], stats, st.Size())
		}
	}
}
