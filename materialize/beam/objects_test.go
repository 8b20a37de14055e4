package beam

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/duckdb"
	"github.com/feastgo/feast/offline/objstore"
	"github.com/feastgo/feast/offline/objstore/fakes3"
	"github.com/feastgo/feast/online/sqlite"
)

// uploadDir puts the Parquet files of dir under prefix in the bucket.
func uploadDir(t *testing.T, s3 *fakes3.Server, bucket, prefix, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no parquet files in %s (%v)", dir, err)
	}
	for _, f := range files {
		if err := s3.PutFile(bucket, prefix+filepath.Base(f), f); err != nil {
			t.Fatal(err)
		}
	}
}

// compareObjectStores materializes fv over [start, end] with the in-process
// engine and with Beam into two SQLite stores and compares every row of
// the view's table. It returns the row count of the store.
func compareObjectStores(t *testing.T, fv *model.FeatureView, start, end time.Time, wantRead int64) int {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	project := "beamobj"
	pathA, pathB := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	a := openSQLite(t, pathA, project, fv)
	src, err := duckdb.Open(ctx, config.OfflineStoreConfig{Type: "duckdb"}, "")
	if err != nil {
		t.Fatal(err)
	}
	task := materialize.Task{Project: project, View: fv, Start: start, End: end}
	localSt, err := materialize.NewLocal(src, a, materialize.LocalOptions{BatchSize: 500}).Materialize(ctx, task, &countingProgress{})
	src.Close()
	a.Close()
	if err != nil {
		t.Fatalf("local engine: %v", err)
	}
	openSQLite(t, pathB, project, fv).Close()
	staging := filepath.Join(dir, "staging")
	e := prismEngine(t, Stores{Online: config.OnlineStoreConfig{Type: "sqlite", SQLite: config.SQLiteOnlineConfig{Path: pathB}},
		Offline: config.OfflineStoreConfig{ObjectCacheDir: staging}})
	beamSt, err := e.Materialize(ctx, task, &countingProgress{})
	if err != nil {
		t.Fatalf("beam engine: %v", err)
	}
	if left, err := os.ReadDir(staging); err != nil || len(left) != 0 {
		t.Errorf("workers left %d entries in their staging folder (%v); want it empty", len(left), err)
	}
	if beamSt.RowsWritten != localSt.RowsWritten || beamSt.RowsSkipped != 0 || beamSt.RowsRead != wantRead {
		t.Errorf("beam stats %+v, local %+v; want the same rows written, none skipped, %d read", beamSt, localSt, wantRead)
	}
	table := sqlite.TableName(project, fv)
	got, want := dumpSQLite(t, pathB, table), dumpSQLite(t, pathA, table)
	if len(want) == 0 || int64(len(want)) != localSt.RowsWritten*int64(len(fv.Features)) {
		t.Fatalf("store A has %d rows, the local engine wrote %d entities", len(want), localSt.RowsWritten)
	}
	if len(got) != len(want) {
		t.Fatalf("store B (beam) has %d rows, store A (local) %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d differs:\nbeam  %v\nlocal %v", i, got[i], want[i])
		}
	}
	return len(got)
}

// TestObjectStoreMatchesLocal reads the shared dataset from the S3
// stand-in: three objects of four row groups each, more rows per object
// than a split holds, so each object is read as row-group splits by ranged
// reads.
func TestObjectStoreMatchesLocal(t *testing.T) {
	ds := data(t)
	s3 := fakes3.Start(t, "beam")
	uploadDir(t, s3, "beam", "flat/", ds.dir)
	fv := testView(s3.URL("beam", "flat/"))

	splits, err := planSplits(context.Background(), fv, "", config.OfflineStoreConfig{}, BeamConfig{SplitRows: 5000}, ds.start.UnixNano(), ds.end.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	perObject := map[string][][]int{}
	for _, sp := range splits {
		if sp.Kind != splitObject || sp.Rows != 5000 {
			t.Errorf("split %+v: want an object split of 5000 rows", sp)
		}
		perObject[sp.Key] = append(perObject[sp.Key], sp.RowGroups)
	}
	for _, key := range []string{"flat/part-000.parquet", "flat/part-001.parquet", "flat/part-002.parquet"} {
		if g := perObject[key]; !reflect.DeepEqual(g, [][]int{{0, 1}, {2, 3}}) {
			t.Errorf("%s: splits of row groups %v, want [[0 1] [2 3]]", key, g)
		}
	}
	if n := compareObjectStores(t, fv, ds.start, ds.end, ds.rows); n != ds.entities*len(fv.Features) {
		t.Errorf("%d rows stored, want %d", n, ds.entities*len(fv.Features))
	}
}

// partitioned is a dataset in daily Hive partitions (dt=YYYY-MM-DD), one
// object per day of several row groups, with a window that needs only some
// of the days.
type partitioned struct {
	dir        string
	days       []string
	start, end time.Time
	rows       int64 // rows in [start, end] with a key
}

func genPartitioned(t *testing.T) partitioned {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 5))
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	p := partitioned{dir: t.TempDir(), start: base.AddDate(0, 0, 1).Add(12 * time.Hour), end: base.AddDate(0, 0, 3).Add(6 * time.Hour)}
	tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "conv_rate", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "acc", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "avg_daily_trips", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_timestamp", Type: tsType, Nullable: true},
		{Name: "created", Type: tsType, Nullable: true},
	}, nil)
	for d := range 5 {
		day := base.AddDate(0, 0, d)
		p.days = append(p.days, day.Format("2006-01-02"))
		// Sorted by time, as a daily job writes them: each row group holds
		// about a third of the day.
		times := make([]time.Time, 1200)
		for i := range times {
			times[i] = day.Add(time.Duration(rng.Int64N(int64(24*time.Hour/time.Microsecond))) * time.Microsecond)
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i, ets := range times {
			if i%37 == 0 {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.Int64Builder).Append(int64(rng.IntN(600)))
				if !ets.Before(p.start) && !ets.After(p.end) {
					p.rows++
				}
			}
			b.Field(1).(*array.Float32Builder).Append(rng.Float32())
			b.Field(2).(*array.Float64Builder).Append(rng.Float64())
			b.Field(3).(*array.Int64Builder).Append(rng.Int64N(1000))
			if i%11 == 0 {
				b.Field(4).AppendNull()
			} else {
				b.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("n%d", rng.IntN(40)))
			}
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(ets.UnixMicro()))
			if i%5 == 0 {
				b.Field(6).AppendNull()
			} else {
				b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(ets.Add(time.Duration(rng.IntN(1000)) * time.Millisecond).UnixMicro()))
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		folder := filepath.Join(p.dir, "dt="+p.days[d])
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(folder, "part-0.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := pqarrow.NewFileWriter(schema, out, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(400)), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	return p
}

// TestPartitionedObjectsMatchLocal reads daily partitions of which the
// window needs three: the other two are never planned, and of the first
// and last needed days only the row groups whose statistics overlap the
// window are read (ranged reads).
func TestPartitionedObjectsMatchLocal(t *testing.T) {
	p := genPartitioned(t)
	s3 := fakes3.Start(t, "beam")
	for _, d := range p.days {
		if err := s3.PutFile("beam", "events/dt="+d+"/part-0.parquet", filepath.Join(p.dir, "dt="+d, "part-0.parquet")); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string]bool{}
	s3.SetHook(func(r *http.Request) {
		if r.Method == http.MethodGet {
			mu.Lock()
			got[r.URL.Path] = true
			mu.Unlock()
		}
	})
	fv := testView(s3.URL("beam", "events/"))
	fv.Source.DatePartitionColumn = "dt"

	splits, err := planSplits(context.Background(), fv, "", config.OfflineStoreConfig{}, BeamConfig{SplitRows: 1_000_000}, p.start.UnixNano(), p.end.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, sp := range splits {
		keys = append(keys, sp.Key)
	}
	want := []string{"events/dt=" + p.days[1] + "/part-0.parquet", "events/dt=" + p.days[2] + "/part-0.parquet", "events/dt=" + p.days[3] + "/part-0.parquet"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("planned objects %v, want %v", keys, want)
	}
	// The window starts at noon of the first day (row groups 1 and 2 of
	// 0-8h, 8-16h, 16-24h) and ends at 6:00 of the last (row group 0).
	for i, want := range []struct {
		groups []int
		rows   int64
	}{{[]int{1, 2}, 800}, {nil, 1200}, {[]int{0}, 400}} {
		if sp := splits[i]; !reflect.DeepEqual(sp.RowGroups, want.groups) || sp.Rows != want.rows {
			t.Errorf("split of %s: row groups %v (%d rows), want %v (%d rows)", sp.Key, sp.RowGroups, sp.Rows, want.groups, want.rows)
		}
	}
	compareObjectStores(t, fv, p.start, p.end, p.rows)
	mu.Lock()
	defer mu.Unlock()
	for _, d := range []string{p.days[0], p.days[4]} {
		if key := "/beam/events/dt=" + d + "/part-0.parquet"; got[key] {
			t.Errorf("%s, outside the window, was read", key)
		}
	}
	if key := "/beam/events/dt=" + p.days[2] + "/part-0.parquet"; !got[key] {
		t.Errorf("%s was never read: the hook sees no reads", key)
	}
}

// TestObjectDeletedBeforeReadFails deletes an object after the launcher
// planned it and before the worker reads it: the run fails naming the
// object, and nothing reaches the online store.
func TestObjectDeletedBeforeReadFails(t *testing.T) {
	ds := data(t)
	s3 := fakes3.Start(t, "beam")
	uploadDir(t, s3, "beam", "fault/", ds.dir)
	const victim = "fault/part-001.parquet"
	// The launcher reads the victim's footer with two ranged GETs; the
	// third GET of it is a worker's.
	var gets atomic.Int32
	s3.SetHook(func(r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/beam/"+victim) && gets.Add(1) == 3 {
			if _, err := s3.Backend.DeleteObject("beam", victim); err != nil {
				t.Errorf("delete %s: %v", victim, err)
			}
		}
	})
	fv := testView(s3.URL("beam", "fault/"))
	path := filepath.Join(t.TempDir(), "b.db")
	openSQLite(t, path, "beamfault", fv).Close()
	e := prismEngine(t, Stores{Online: config.OnlineStoreConfig{Type: "sqlite", SQLite: config.SQLiteOnlineConfig{Path: path}}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := e.Materialize(ctx, materialize.Task{Project: "beamfault", View: fv, Start: ds.start, End: ds.end}, &countingProgress{})
	if err == nil {
		t.Fatal("materialize succeeded with an object deleted before it was read")
	}
	if gets.Load() < 3 {
		t.Fatalf("the object was not deleted (%d GETs of it); error: %v", gets.Load(), err)
	}
	for _, want := range []string{"s3://beam/" + victim, "does not exist", fv.Source.Name} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
	if rows := dumpSQLite(t, path, sqlite.TableName("beamfault", fv)); len(rows) != 0 {
		t.Errorf("the failed run stored %d rows", len(rows))
	}
}

// TestObjectSplitsGroupRowGroups checks the division of planned objects:
// a small object is one split; a large one is cut between row groups; the
// row groups statistics kept are the only ones read.
func TestObjectSplitsGroupRowGroups(t *testing.T) {
	mod := time.Unix(100, 0).UTC()
	objs := []objstore.PlannedObject{
		{Key: "a", RowGroupRows: []int64{10, 10}},
		{Key: "b", RowGroupRows: []int64{40, 40, 40, 40}},
		{Key: "c", RowGroupRows: []int64{40, 40, 40, 40}, RowGroups: []int{1, 3}},
		{Key: "d", RowGroupRows: []int64{200}},
	}
	for i := range objs {
		objs[i].ModTime = mod
	}
	var got []string
	for _, sp := range objectSplits(objs, 100) {
		got = append(got, fmt.Sprintf("%s%v:%d", sp.Key, sp.RowGroups, sp.Rows))
		if sp.ModTime != mod.UnixNano() || sp.Kind != splitObject {
			t.Errorf("split %+v does not carry the object version", sp)
		}
	}
	want := []string{"a[]:20", "b[0 1]:80", "b[2 3]:80", "c[1 3]:80", "d[]:200"}
	if !slices.Equal(got, want) {
		t.Errorf("splits %v, want %v", got, want)
	}
}

// TestPartitionColumnFeatureFails: a feature that only exists as a Hive
// partition folder is refused with an error that says so.
func TestPartitionColumnFeatureFails(t *testing.T) {
	p := genPartitioned(t)
	s3 := fakes3.Start(t, "beam")
	d := p.days[2]
	if err := s3.PutFile("beam", "events/dt="+d+"/part-0.parquet", filepath.Join(p.dir, "dt="+d, "part-0.parquet")); err != nil {
		t.Fatal(err)
	}
	fv := testView(s3.URL("beam", "events/"))
	fv.Features = append(fv.Features, model.Field{Name: "dt", Type: model.String})
	path := filepath.Join(t.TempDir(), "b.db")
	openSQLite(t, path, "beamdt", fv).Close()
	e := prismEngine(t, Stores{Online: config.OnlineStoreConfig{Type: "sqlite", SQLite: config.SQLiteOnlineConfig{Path: path}}})
	_, err := e.Materialize(context.Background(), materialize.Task{Project: "beamdt", View: fv, Start: p.start, End: p.end}, &countingProgress{})
	if err == nil || !strings.Contains(err.Error(), `column "dt" is missing: it is a partition folder`) || !strings.Contains(err.Error(), "s3://beam/events/dt="+d) {
		t.Fatalf("got %v, want a missing partition column error naming the object", err)
	}
}
