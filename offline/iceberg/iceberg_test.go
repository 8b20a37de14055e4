package iceberg

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	iceberggo "github.com/apache/iceberg-go"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/iceberg/icebergtest"
	"github.com/feastgo/feast/offline/objstore"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

var day0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var statsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

// dayRecord is n rows of one day: driver_id 1..n, v = day*1000 + id, ts
// spread over the day.
func dayRecord(day, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, statsSchema)
	defer b.Release()
	for i := 1; i <= n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Int64Builder).Append(int64(day*1000 + i))
		ts := day0.AddDate(0, 0, day).Add(time.Duration(i) * time.Hour / time.Duration(n+1))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
	}
	return b.NewRecordBatch()
}

func newStore(t *testing.T, catalogs map[string]map[string]string) *Store {
	t.Helper()
	s, err := New(Options{Catalogs: catalogs, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func source(table string) *model.DataSource {
	return &model.DataSource{Name: "driver_stats", Kind: model.SourceIceberg, TimestampField: "ts", Iceberg: &model.IcebergTable{Table: table}}
}

// values reads column v of the staged files, sorted.
func values(t *testing.T, st *Staged) []int64 {
	t.Helper()
	var out []int64
	for _, f := range st.Files {
		r, err := file.OpenParquetFile(f, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		idx := tbl.Schema().FieldIndices("v")
		for _, c := range tbl.Column(idx[0]).Data().Chunks() {
			out = append(out, c.(*array.Int64).Int64Values()...)
		}
		tbl.Release()
	}
	slices.Sort(out)
	return out
}

func records(n int) []arrow.RecordBatch {
	recs := make([]arrow.RecordBatch, n)
	for d := range recs {
		recs[d] = dayRecord(d, 3)
	}
	return recs
}

// A one-day window over 30 daily snapshots plans only the data files whose
// partition or timestamp statistics overlap it, and stages them in place.
func TestStagePrunesDataFiles(t *testing.T) {
	for _, opts := range []icebergtest.Options{{}, {PartitionDay: "ts"}, {PartitionDay: "ts", PartitionIdentity: "driver_id"}} {
		t.Run(fmt.Sprintf("partition=%+v", opts), func(t *testing.T) {
			props := icebergtest.SQLiteCatalog(t.TempDir(), "")
			icebergtest.CreateTable(t, props, "feast.stats", opts, records(30)...)
			s := newStore(t, map[string]map[string]string{"default": props})
			w := objstore.Window{From: day0.AddDate(0, 0, 10), To: day0.AddDate(0, 0, 11).Add(-time.Second)}
			st, err := s.Stage(context.Background(), source("feast.stats"), w)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Release()
			// Identity partitions by driver write a file per driver and day.
			files := int64(1)
			if opts.PartitionIdentity != "" {
				files = 3
			}
			if got := s.Stats(); got.DataFilesRead != files || got.DataFilesInSnapshots != 30*files || got.FilesCopied != 0 || got.MergedScans != 0 {
				t.Errorf("stats = %+v, want %d of %d data files read in place", got, files, 30*files)
			}
			if got := values(t, st); !slices.Equal(got, []int64{10001, 10002, 10003}) {
				t.Errorf("values = %v", got)
			}
			// No window: every data file.
			all, err := s.Stage(context.Background(), source("feast.stats"), objstore.Window{})
			if err != nil {
				t.Fatal(err)
			}
			defer all.Release()
			if int64(len(all.Files)) != 30*files {
				t.Errorf("unbounded read staged %d files, want 30", len(all.Files))
			}
		})
	}
}

// Time travel: a source pinned to the first snapshot (by id or by time)
// reads what the table held then, whatever was appended later.
func TestTimeTravel(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	first := icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, dayRecord(0, 2))
	snap := first.CurrentSnapshot()
	time.Sleep(5 * time.Millisecond) // snapshot times are milliseconds
	s := newStore(t, map[string]map[string]string{"default": props})
	src := source("feast.stats")
	if err := s.Append(context.Background(), src, dayRecord(1, 2)); err != nil {
		t.Fatal(err)
	}
	for name, pin := range map[string]model.IcebergTable{
		"current":  {},
		"snapshot": {SnapshotID: snap.SnapshotID},
		"as_of":    {AsOf: time.UnixMilli(snap.TimestampMs).UTC()},
	} {
		pinned := source("feast.stats")
		pinned.Iceberg.SnapshotID, pinned.Iceberg.AsOf = pin.SnapshotID, pin.AsOf
		st, err := s.Stage(context.Background(), pinned, objstore.Window{})
		if err != nil {
			t.Fatal(name, err)
		}
		want := []int64{1, 2}
		if name == "current" {
			want = []int64{1, 2, 1001, 1002}
		}
		if got := values(t, st); !slices.Equal(got, want) {
			t.Errorf("%s: values = %v, want %v", name, got, want)
		}
		st.Release()
	}
	pinned := source("feast.stats")
	pinned.Iceberg.SnapshotID = 12345
	if _, err := s.Stage(context.Background(), pinned, objstore.Window{}); err == nil || !strings.Contains(err.Error(), "snapshot 12345 does not exist") {
		t.Errorf("missing snapshot: err = %v", err)
	}
	pinned = source("feast.stats")
	pinned.Iceberg.AsOf = day0.AddDate(-1, 0, 0)
	if _, err := s.Stage(context.Background(), pinned, objstore.Window{}); err == nil || !strings.Contains(err.Error(), "no snapshot was current") {
		t.Errorf("as_of before the table: err = %v", err)
	}
	if err := s.Append(context.Background(), pinned, dayRecord(2, 1)); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Errorf("push to a pinned source: err = %v", err)
	}
}

// Concurrent pushes through separate stores (as separate processes would)
// all land: a commit that loses the race is retried on the new snapshot.
func TestConcurrentAppends(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, dayRecord(0, 1))
	const writers, pushes = 4, 3
	stores := make([]*Store, writers)
	for i := range stores {
		stores[i] = newStore(t, map[string]map[string]string{"default": props})
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*pushes)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range pushes {
				rec := dayRecord(1+w*pushes+p, 1)
				errs <- stores[w].Append(context.Background(), source("feast.stats"), rec)
				rec.Release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := stores[0].Stage(context.Background(), source("feast.stats"), objstore.Window{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	var want []int64
	for d := range 1 + writers*pushes {
		want = append(want, int64(d*1000+1))
	}
	if got := values(t, st); !slices.Equal(got, want) {
		t.Errorf("values = %v, want %v (a push was lost)", got, want)
	}
	var retries int64
	for _, s := range stores {
		retries += s.Stats().CommitRetries
	}
	t.Logf("%d commits retried", retries)
}

// A push is shaped as the table: columns reordered, types cast, absent
// optional columns null; unknown columns are refused.
func TestAppendConforms(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, dayRecord(0, 1))
	s := newStore(t, map[string]map[string]string{"default": props})
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}},
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(day0.AddDate(0, 0, 1).UnixNano()))
	b.Field(1).(*array.Int32Builder).Append(7)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := s.Append(context.Background(), source("feast.stats"), rec); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stage(context.Background(), source("feast.stats"), objstore.Window{From: day0.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	if len(st.Files) != 1 {
		t.Errorf("staged %v, want the pushed file only", st.Files)
	}
	extra := arrow.NewSchema([]arrow.Field{{Name: "nope", Type: arrow.PrimitiveTypes.Int64}}, nil)
	bad := array.NewRecordBatch(extra, []arrow.Array{array.MakeArrayOfNull(memory.DefaultAllocator, arrow.PrimitiveTypes.Int64, 1)}, 1)
	defer bad.Release()
	if err := s.Append(context.Background(), source("feast.stats"), bad); err == nil || !strings.Contains(err.Error(), "pushed column nope is not in the table") {
		t.Errorf("unknown column: err = %v", err)
	}
}

// A renamed column is read through iceberg-go's reader (data files hold
// the old name), under its new name.
func TestRenamedColumnMerged(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	tbl := icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, dayRecord(0, 2))
	txn := tbl.NewTransaction()
	if err := txn.UpdateSchema(true, false).RenameColumn([]string{"v"}, "value").Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, map[string]map[string]string{"default": props})
	st, err := s.Stage(context.Background(), source("feast.stats"), objstore.Window{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	if s.Stats().MergedScans != 1 || len(st.Files) != 1 {
		t.Fatalf("stats = %+v, files %v: want one merged scan", s.Stats(), st.Files)
	}
	r, err := file.OpenParquetFile(st.Files[0], false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.MetaData().Schema.Column(1).Name(); got != "value" {
		t.Errorf("column 1 = %s, want value", got)
	}
	if n := r.NumRows(); n != 2 {
		t.Errorf("rows = %d, want 2", n)
	}
	sc, err := s.Schema(context.Background(), source("feast.stats"))
	if err != nil || sc.Field(1).Name != "value" {
		t.Errorf("schema = %v, %v", sc, err)
	}
}

// An empty table (no snapshot) stages one empty file with its columns.
func TestEmptyTable(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, dayRecord(0, 0))
	s := newStore(t, map[string]map[string]string{"default": props})
	st, err := s.Stage(context.Background(), source("feast.stats"), objstore.Window{From: day0})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	if len(st.Files) != 1 || len(values(t, st)) != 0 {
		t.Errorf("files %v, want one empty file", st.Files)
	}
	dir := st.Files[0][:strings.LastIndexByte(st.Files[0], '/')]
	st.Release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("release left %s", dir)
	}
}

// Faults name the source, the table and what to fix.
func TestFaults(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, dayRecord(0, 1))
	s := newStore(t, map[string]map[string]string{"default": props})
	ctx := context.Background()
	cases := []struct {
		name string
		src  *model.DataSource
		want []string
	}{
		{"missing table", source("feast.nope"), []string{"iceberg source driver_stats (table feast.nope)", "load table from catalog default", "check the table"}},
		{"missing namespace", source("other.stats"), []string{"iceberg source driver_stats (table other.stats)", "check the table"}},
		{"missing catalog", &model.DataSource{Name: "driver_stats", Kind: model.SourceIceberg, Iceberg: &model.IcebergTable{Table: "feast.stats", Catalog: "prod"}},
			[]string{"iceberg source driver_stats (table feast.stats)", `catalog "prod" is not configured (configured: default)`, "offline_store.iceberg_catalogs"}},
		{"unset variable", &model.DataSource{Name: "driver_stats", Kind: model.SourceIceberg, Iceberg: &model.IcebergTable{Table: "feast.stats", CatalogProperties: map[string]string{"uri": "${FEAST_TEST_ICEBERG_UNSET}"}}},
			[]string{"iceberg source driver_stats (table feast.stats)", "catalog_properties.uri", "FEAST_TEST_ICEBERG_UNSET"}},
		{"no table", &model.DataSource{Name: "driver_stats", Kind: model.SourceIceberg, Iceberg: &model.IcebergTable{}}, []string{"iceberg source driver_stats has no table"}},
		{"unreachable catalog", &model.DataSource{Name: "driver_stats", Kind: model.SourceIceberg, Iceberg: &model.IcebergTable{Table: "feast.stats", CatalogProperties: map[string]string{"type": "rest", "uri": "http://127.0.0.1:1"}}},
			[]string{"iceberg source driver_stats (table feast.stats)", "open catalog default (type rest)"}},
		{"catalog without a type", &model.DataSource{Name: "driver_stats", Kind: model.SourceIceberg, Iceberg: &model.IcebergTable{Table: "feast.stats", Catalog: "x", CatalogProperties: map[string]string{"warehouse": "/tmp"}}},
			[]string{"iceberg source driver_stats (table feast.stats)", `catalog "x" has no type`}},
	}
	for _, c := range cases {
		_, err := s.Stage(ctx, c.src, objstore.Window{})
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v, want it to say %q", c.name, err, w)
			}
		}
	}
	// Source properties override the named catalog's, ${VAR} expanded.
	t.Setenv("FEAST_TEST_ICEBERG_URI", props["uri"])
	src := &model.DataSource{Name: "driver_stats", Kind: model.SourceIceberg, TimestampField: "ts", Iceberg: &model.IcebergTable{Table: "feast.stats", Catalog: "lake",
		CatalogProperties: map[string]string{"type": "sql", "uri": "${FEAST_TEST_ICEBERG_URI}", "sql.driver": "sqlite", "sql.dialect": "sqlite", "warehouse": props["warehouse"]}}}
	st, err := s.Stage(ctx, src, objstore.Window{})
	if err == nil {
		st.Release()
	}
	// The catalog's name is part of a SQL catalog's rows: "lake" has no tables.
	if err == nil || !strings.Contains(err.Error(), "check the table") {
		t.Errorf("catalog lake: err = %v, want table not found", err)
	}
	src.Iceberg.Catalog = ""
	st, err = s.Stage(ctx, src, objstore.Window{})
	if err != nil {
		t.Fatal(err)
	}
	st.Release()
}

// Rows deleted by a merge-on-read delete (positional delete files) are
// not read: such a scan goes through iceberg-go's reader, which applies
// the deletes.
func TestDeleteFilesMerged(t *testing.T) {
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	tbl := icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{Properties: map[string]string{"write.delete.mode": "merge-on-read", "format-version": "2"}},
		dayRecord(0, 3), dayRecord(1, 3))
	if _, err := tbl.Delete(context.Background(), iceberggo.EqualTo(iceberggo.Reference("v"), int64(2)), nil); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, map[string]map[string]string{"default": props})
	st, err := s.Stage(context.Background(), source("feast.stats"), objstore.Window{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	if got := values(t, st); !slices.Equal(got, []int64{1, 3, 1001, 1002, 1003}) {
		t.Errorf("values = %v, want row 2 deleted", got)
	}
	if s.Stats().MergedScans != 1 {
		t.Errorf("stats = %+v, want a merged scan", s.Stats())
	}
}

// A warehouse in an S3-compatible store takes the offline store's
// s3_endpoint_override when its catalog names no s3.endpoint; keys come
// from the environment only.
func TestS3EndpointOverride(t *testing.T) {
	srv := fakes3.Start(t, "lake")
	props := icebergtest.SQLiteCatalog(t.TempDir(), "s3://lake/warehouse")
	props["s3.endpoint"], props["s3.region"], props["s3.force-virtual-addressing"] = srv.Endpoint, fakes3.Region, "false"
	icebergtest.CreateTable(t, props, "feast.stats", icebergtest.Options{}, dayRecord(0, 2))
	delete(props, "s3.endpoint")
	delete(props, "s3.force-virtual-addressing")
	s, err := New(Options{Catalogs: map[string]map[string]string{"default": props}, Dir: t.TempDir(), S3Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Stage(context.Background(), source("feast.stats"), objstore.Window{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	if got := values(t, st); !slices.Equal(got, []int64{1, 2}) || s.Stats().FilesCopied != 1 {
		t.Errorf("values %v, stats %+v: want 2 rows from 1 copied file", got, s.Stats())
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"file:///tmp/wh/a%7Bb%7D/x%20y.parquet": "/tmp/wh/a{b}/x y.parquet",
		"file:/tmp/wh/x.parquet":                "/tmp/wh/x.parquet",
		"/tmp/wh/x.parquet":                     "/tmp/wh/x.parquet",
	} {
		if got, ok := localPath(in); !ok || got != want {
			t.Errorf("localPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := localPath("s3://lake/wh/x.parquet"); ok {
		t.Error("an s3:// data file is not local")
	}
}
