package beam

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	iceberggo "github.com/apache/iceberg-go"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/iceberg/icebergtest"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

// icebergDays makes an Iceberg table partitioned by day(event_timestamp)
// from the partitioned dataset, one snapshot (and data file) per day, on a
// SQLite catalog with the given catalog properties, and returns the view
// reading it.
func icebergDays(t *testing.T, p partitioned, props map[string]string) *model.FeatureView {
	t.Helper()
	var recs []arrow.RecordBatch
	for _, d := range p.days {
		recs = append(recs, readDay(t, p, d))
	}
	icebergtest.CreateTable(t, props, "feast.driver_stats", icebergtest.Options{PartitionDay: "event_timestamp"}, recs...)
	return icebergView(props)
}

// icebergView is testView reading the table feast.driver_stats.
func icebergView(props map[string]string) *model.FeatureView {
	fv := testView("")
	fv.Source.Kind, fv.Source.Path, fv.Source.FileFormat = model.SourceIceberg, "", ""
	fv.Source.Iceberg = &model.IcebergTable{Table: "feast.driver_stats", CatalogProperties: props}
	return fv
}

// planDays plans fv's splits for p's window and checks that they are one
// iceberg split per data file of the days the window overlaps (days 1-3
// of 0-4), and returns them.
func planDays(t *testing.T, fv *model.FeatureView, p partitioned) []Split {
	t.Helper()
	splits, err := planSplits(context.Background(), fv, "", config.OfflineStoreConfig{}, BeamConfig{SplitRows: 5000}, p.start.UnixNano(), p.end.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, sp := range splits {
		if sp.Kind != splitIceberg || sp.Rows != 1200 || sp.Size == 0 {
			t.Errorf("split %+v: want an iceberg split of one day's 1200 rows with its size", sp)
		}
		for _, d := range p.days {
			if strings.Contains(sp.Path, "event_timestamp_day="+d) {
				days = append(days, d)
			}
		}
	}
	slices.Sort(days)
	if want := p.days[1:4]; strings.Join(days, ",") != strings.Join(want, ",") || len(splits) != len(want) {
		t.Fatalf("splits of data files %v (%d splits), want one per day of %v", days, len(splits), want)
	}
	return splits
}

// TestIcebergLocalWarehouseMatchesLocal: a day-partitioned table in a local
// warehouse; only the three days the window overlaps become splits, read
// in place, and Beam stores exactly what the in-process engine stores.
func TestIcebergLocalWarehouseMatchesLocal(t *testing.T) {
	p := genPartitioned(t)
	fv := icebergDays(t, p, icebergtest.SQLiteCatalog(t.TempDir(), ""))
	planDays(t, fv, p)
	compareObjectStores(t, fv, p.start, p.end, p.rows)
}

// TestIcebergS3WarehouseMatchesLocal: the same table with its warehouse in
// the S3 stand-in; workers fetch their data files through the table's
// file IO, and data files of days outside the window are never fetched.
func TestIcebergS3WarehouseMatchesLocal(t *testing.T) {
	p := genPartitioned(t)
	srv := fakes3.Start(t, "lake")
	props := icebergtest.SQLiteCatalog(t.TempDir(), "s3://lake/warehouse")
	props["s3.endpoint"], props["s3.region"], props["s3.force-virtual-addressing"] = srv.Endpoint, fakes3.Region, "false"
	fv := icebergDays(t, p, props)
	planDays(t, fv, p)
	var mu sync.Mutex
	got := map[string]int{}
	srv.SetHook(func(r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".parquet") {
			mu.Lock()
			got[r.URL.Path]++
			mu.Unlock()
		}
	})
	compareObjectStores(t, fv, p.start, p.end, p.rows)
	mu.Lock()
	defer mu.Unlock()
	read := map[string]bool{}
	for path := range got {
		for _, d := range p.days {
			if strings.Contains(path, "event_timestamp_day="+d) {
				read[d] = true
			}
		}
	}
	for i, d := range p.days {
		if want := i >= 1 && i <= 3; read[d] != want {
			t.Errorf("data file of %s fetched: %v, want %v (GETs: %v)", d, read[d], want, got)
		}
	}
}

// TestIcebergDeleteFilesRefused: a snapshot with delete files is refused
// at planning, naming the table and the reason, instead of reading rows
// the deletes remove.
func TestIcebergDeleteFilesRefused(t *testing.T) {
	p := genPartitioned(t)
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	fv := icebergDays(t, p, props)
	tbl := icebergtest.CreateTable(t, props, "feast.other", icebergtest.Options{Properties: map[string]string{"write.delete.mode": "merge-on-read", "format-version": "2"}}, someRecord(t))
	if _, err := tbl.Delete(context.Background(), iceberggo.EqualTo(iceberggo.Reference("driver_id"), int64(1)), nil); err != nil {
		t.Fatal(err)
	}
	fv.Source.Iceberg.Table = "feast.other"
	_, err := planSplits(context.Background(), fv, "", config.OfflineStoreConfig{}, BeamConfig{SplitRows: 5000}, p.start.UnixNano(), p.end.UnixNano())
	if err == nil || !strings.Contains(err.Error(), "table feast.other") || !strings.Contains(err.Error(), "delete files apply") {
		t.Fatalf("got %v, want a refusal naming the table and its delete files", err)
	}
}

// someRecord is two rows in the window of genPartitioned's tables.
func someRecord(t *testing.T) arrow.RecordBatch {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1741000000000000, 1741000000000000}, nil)
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

// readDay is one day of the partitioned dataset as a record.
func readDay(t *testing.T, p partitioned, day string) arrow.RecordBatch {
	t.Helper()
	r, err := file.OpenParquetFile(filepath.Join(p.dir, "dt="+day, "part-0.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, tbl.NumRows())
	defer tr.Release()
	tr.Next()
	rec := tr.RecordBatch()
	rec.Retain()
	t.Cleanup(rec.Release)
	return rec
}

// TestIcebergAddedColumnMatchesLocal: the name feature was added to the
// table after the first three days were written, so their data files lack
// it; Beam reads it as null there, as the in-process engine does.
func TestIcebergAddedColumnMatchesLocal(t *testing.T) {
	p := genPartitioned(t)
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	var early []arrow.RecordBatch
	for _, d := range p.days[:3] {
		rec := readDay(t, p, d)
		var cols []arrow.Array
		var fields []arrow.Field
		for i, f := range rec.Schema().Fields() {
			if f.Name != "name" {
				cols, fields = append(cols, rec.Column(i)), append(fields, f)
			}
		}
		noName := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
		t.Cleanup(noName.Release)
		early = append(early, noName)
	}
	tbl := icebergtest.CreateTable(t, props, "feast.driver_stats", icebergtest.Options{PartitionDay: "event_timestamp"}, early...)
	ctx := context.Background()
	txn := tbl.NewTransaction()
	if err := txn.UpdateSchema(true, false).AddColumn([]string{"name"}, iceberggo.PrimitiveTypes.String, "", false, nil).Commit(); err != nil {
		t.Fatal(err)
	}
	tbl, err := txn.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range p.days[3:] {
		rec := readDay(t, p, d)
		// The table's column order: name after the columns it had.
		var cols []arrow.Array
		var fields []arrow.Field
		for _, name := range []string{"driver_id", "conv_rate", "acc", "avg_daily_trips", "event_timestamp", "created", "name"} {
			i := rec.Schema().FieldIndices(name)[0]
			cols, fields = append(cols, rec.Column(i)), append(fields, rec.Schema().Field(i))
		}
		ordered := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
		rr, err := array.NewRecordReader(ordered.Schema(), []arrow.RecordBatch{ordered})
		if err != nil {
			t.Fatal(err)
		}
		tbl, err = tbl.Append(ctx, rr, nil)
		rr.Release()
		ordered.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	fv := icebergView(props)
	planDays(t, fv, p)
	compareObjectStores(t, fv, p.start, p.end, p.rows)
}
