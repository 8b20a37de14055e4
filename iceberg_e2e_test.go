package feast_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/offline/iceberg/icebergtest"
)

// The demo repository with its batch source as an Iceberg table (a SQLite
// SQL catalog named in feature_store.yaml with ${VAR}): plan and apply
// accept it and a second plan is empty (the source round-trips through the
// registry), materialization reads it and records the interval, an offline
// push commits a snapshot, and a missing table fails the run naming the
// source and the table without recording an interval.
func TestIcebergSourceEndToEnd(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	dir := demoRepo(t, now)
	props := icebergtest.SQLiteCatalog(t.TempDir(), "")
	recs := readParquet(t, filepath.Join(dir, "data", "driver_stats", "part-00000.parquet"))
	tbl := icebergtest.CreateTable(t, props, "demo.driver_stats", icebergtest.Options{PartitionDay: "event_timestamp"}, recs...)
	snapshots := len(tbl.Metadata().Snapshots())
	if err := os.RemoveAll(filepath.Join(dir, "data", "driver_stats")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FEAST_TEST_ICEBERG_URI", props["uri"])
	cfg := filepath.Join(dir, "feature_store.yaml")
	rewrite(t, cfg, regexp.MustCompile(`(?m)^offline_store:\n  type: duckdb\n`), `offline_store:
  type: duckdb
  iceberg_catalogs:
    default:
      type: sql
      uri: ${FEAST_TEST_ICEBERG_URI}
      sql.driver: sqlite
      sql.dialect: sqlite
      warehouse: `+props["warehouse"]+"\n")
	defs := filepath.Join(dir, "features.yaml")
	rewrite(t, defs, regexp.MustCompile(`(?m)^    type: file .*\n    path: data/driver_stats/.*\n`), "    type: iceberg\n    table: demo.driver_stats\n")

	ctx := context.Background()
	fs := open(t, dir, now)
	applyRepo(t, fs)
	if p, err := fs.Plan(ctx); err != nil || p.HasChanges() {
		t.Fatalf("second plan: %+v, %v; want no changes", p, err)
	}
	res, err := fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{})
	if err != nil {
		t.Fatalf("materialize: %v", err)
	}
	var written int64
	for _, r := range res {
		written += r.Stats.RowsWritten
	}
	if written == 0 {
		t.Errorf("materialized nothing: %+v", res)
	}
	t.Logf("materialized %d rows from %d snapshots", written, snapshots)
	if _, err := fs.Status(ctx, feast.StatusOptions{}); err != nil {
		t.Errorf("status: %v", err)
	}
	pv, err := fs.PreviewSource(ctx, "driver_stats_push_source", feast.PreviewOptions{SampleRows: 10})
	if err != nil || pv.SampleRows != 10 || len(pv.Columns) != 6 {
		t.Errorf("preview: %+v, %v; want 10 rows of the table's 6 columns", pv, err)
	}

	df := json.RawMessage(`{"driver_id": [1001], "event_timestamp": ["` + now.Format(time.RFC3339) + `"], "created": ["` + now.Format(time.RFC3339) + `"],
		"conv_rate": [0.5], "acc_rate": [0.25], "avg_daily_trips": [7]}`)
	pushed, err := feast.RecordsFromJSON(df)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Push(ctx, "driver_stats_push_source", pushed, feast.PushOffline); err != nil {
		t.Fatalf("offline push: %v", err)
	}
	if err := tbl.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != snapshots+1 {
		t.Errorf("the table has %d snapshots after the push, want %d", n, snapshots+1)
	}

	rewrite(t, defs, regexp.MustCompile(`table: demo.driver_stats`), "table: demo.gone")
	later := now.Add(2 * time.Hour)
	fs2 := open(t, dir, later)
	applyRepo(t, fs2)
	_, err = fs2.MaterializeIncremental(ctx, later, feast.MaterializeOptions{})
	if err == nil || !strings.Contains(err.Error(), "iceberg source driver_hourly_stats_source (table demo.gone)") {
		t.Fatalf("materialize a missing table: err = %v", err)
	}
	fv, err := fs2.FeatureView(ctx, "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	if len(fv.Intervals) != 1 || !fv.Intervals[0].End.Equal(now) {
		t.Errorf("a failed run recorded an interval: %+v", fv.Intervals)
	}
}

func rewrite(t *testing.T, path string, re *regexp.Regexp, repl string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !re.Match(b) {
		t.Fatalf("%s: no match for %s in:\n%s", path, re, b)
	}
	if err := os.WriteFile(path, re.ReplaceAll(b, []byte(strings.ReplaceAll(repl, "$", "$$"))), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readParquet(t *testing.T, path string) []arrow.RecordBatch {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	var recs []arrow.RecordBatch
	for tr.Next() {
		rec := tr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	return recs
}
