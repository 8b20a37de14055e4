package duckdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/offlinetest"
	"github.com/feastgo/feast/offline/sqlgen"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func openStore(t *testing.T, repo string) *Store {
	t.Helper()
	s, err := OpenOptions(context.Background(), Options{RepoPath: repo, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func statsView(src *model.DataSource) *model.FeatureView {
	return &model.FeatureView{Name: "stats", TTL: 0, Source: src,
		EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
		Features:      []model.Field{{Name: "v", Type: model.Int64}}}
}

func table(t *testing.T, header string, rows ...string) *offlinetest.Table {
	t.Helper()
	cases, err := offlinetest.ParseCases("inline", "case x\nentities\n  "+header+"\n  "+strings.Join(rows, "\n  ")+"\nexpect error x\n")
	if err != nil {
		t.Fatal(err)
	}
	return cases[0].Entities
}

func render(t *testing.T, job offline.Job) string {
	t.Helper()
	rr, err := job.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	lines, err := offlinetest.RenderReader(rr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// Entity rows from a Parquet file, a CSV file and a SQL query give the same
// result as Arrow input; relative paths resolve against the repo.
func TestEntityInputs(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, "data"), 0o755)
	writeParquet(t, table(t, "driver_id:int64 event_timestamp:timestamptz v:int64",
		"1 2024-01-01T00:00:00Z 10", "2 2024-01-01T00:00:00Z 20"), filepath.Join(repo, "data", "stats.parquet"))
	s := openStore(t, repo)
	view := statsView(&model.DataSource{Name: "src", Kind: model.SourceFile, Path: "data/stats.parquet", TimestampField: "event_timestamp"})
	entities := table(t, "driver_id:int64 event_timestamp:timestamp", "2 2024-01-02T00:00:00", "1 2024-01-01T00:00:00", "3 2024-01-02T00:00:00")
	writeParquet(t, entities, filepath.Join(repo, "entities.parquet"))
	csv := "driver_id,event_timestamp\n2,2024-01-02 00:00:00\n1,2024-01-01 00:00:00\n3,2024-01-02 00:00:00\n"
	os.WriteFile(filepath.Join(repo, "entities.csv"), []byte(csv), 0o644)
	want := strings.Join([]string{"driver_id event_timestamp v", "2 2024-01-02T00:00:00 20", "1 2024-01-01T00:00:00 10", "3 2024-01-02T00:00:00 null"}, "\n")
	rr, _ := entities.Reader()
	defer rr.Release()
	for name, src := range map[string]offline.EntitySource{
		"arrow":   {Records: rr},
		"parquet": {Path: "entities.parquet"},
		"csv":     {Path: "entities.csv"},
		"query":   {Query: "SELECT * FROM (VALUES (2, TIMESTAMP '2024-01-02'), (1, TIMESTAMP '2024-01-01'), (3, TIMESTAMP '2024-01-02')) AS t(driver_id, event_timestamp)"},
	} {
		t.Run(name, func(t *testing.T) {
			job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Entities: src, Views: []offline.ViewRequest{{View: view}}})
			if err != nil {
				t.Fatal(err)
			}
			defer job.Close()
			got := render(t, job)
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			schema, err := job.Schema(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if schema.NumFields() != 3 || schema.Field(2).Type.ID() != arrow.INT64 {
				t.Errorf("schema = %s", schema)
			}
		})
	}
}

// Sources may be CSV files, globs and hive-partitioned folders; a folder
// source receives offline pushes as new files, a single file refuses them.
func TestFileSourcesAndPush(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	s := openStore(t, repo)
	rows := table(t, "driver_id:int64 event_timestamp:timestamptz v:int64", "1 2024-01-01T00:00:00Z 10", "2 2024-01-01T00:00:00Z 20")
	more := table(t, "driver_id:int64 event_timestamp:timestamptz v:int64", "1 2024-01-01T05:00:00Z 11")

	os.MkdirAll(filepath.Join(repo, "glob"), 0o755)
	writeParquet(t, rows, filepath.Join(repo, "glob", "a.parquet"))
	writeParquet(t, more, filepath.Join(repo, "glob", "b.parquet"))
	os.MkdirAll(filepath.Join(repo, "hive", "day=2024-01-01"), 0o755)
	writeParquet(t, rows, filepath.Join(repo, "hive", "day=2024-01-01", "part.parquet"))
	os.WriteFile(filepath.Join(repo, "stats.csv"), []byte("driver_id,event_timestamp,v\n1,2024-01-01T00:00:00Z,10\n2,2024-01-01T00:00:00Z,20\n"), 0o644)

	latest := func(t *testing.T, src *model.DataSource) string {
		t.Helper()
		rr, err := s.PullLatest(ctx, statsView(src), t0.Add(-time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		lines, err := offlinetest.RenderReader(rr)
		if err != nil {
			t.Fatal(err)
		}
		slicesSort(lines[1:])
		return strings.Join(lines, "\n")
	}
	base := "driver_id v event_timestamp\n1 10 2024-01-01T00:00:00Z\n2 20 2024-01-01T00:00:00Z"
	for name, path := range map[string]string{"csv": "stats.csv", "hive": "hive"} {
		src := &model.DataSource{Name: name, Kind: model.SourceFile, Path: path, TimestampField: "event_timestamp"}
		if got := latest(t, src); got != base {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, base)
		}
	}
	glob := &model.DataSource{Name: "glob", Kind: model.SourceFile, Path: "glob/*.parquet", TimestampField: "event_timestamp"}
	want := "driver_id v event_timestamp\n1 11 2024-01-01T05:00:00Z\n2 20 2024-01-01T00:00:00Z"
	if got := latest(t, glob); got != want {
		t.Errorf("glob: got\n%s\nwant\n%s", got, want)
	}

	// Push with a field mapping: the feature v is stored as column value.
	folder := &model.DataSource{Name: "pushed", Kind: model.SourceFile, Path: "pushed/", TimestampField: "event_timestamp", FieldMapping: map[string]string{"value": "v"}}
	pushed := table(t, "driver_id:int64 event_timestamp:timestamptz v:int64", "3 2024-01-01T01:00:00Z 30")
	rec, _ := pushed.Record()
	defer rec.Release()
	if err := s.WriteBatch(ctx, folder, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctx, glob, rec); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(repo, "pushed", "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("pushed files = %v", files)
	}
	if got, want := latest(t, folder), "driver_id v event_timestamp\n3 30 2024-01-01T01:00:00Z"; got != want {
		t.Errorf("pushed folder: got\n%s\nwant\n%s", got, want)
	}
	if got := latest(t, glob); !strings.Contains(got, "3 30 2024-01-01T01:00:00Z") {
		t.Errorf("pushed glob: got\n%s", got)
	}
	single := &model.DataSource{Name: "one", Kind: model.SourceFile, Path: "stats.csv", TimestampField: "event_timestamp"}
	if err := s.WriteBatch(ctx, single, rec); err == nil || !strings.Contains(err.Error(), "must be a folder or a glob") {
		t.Errorf("push to a single file: err = %v", err)
	}
	// A store this backend does not write to is refused, and nothing is
	// written locally (a folder named "hdfs:" would appear, and the push be
	// acknowledged). Object stores are written: TestObjectStorePush.
	for _, path := range []string{"hdfs://namenode/stats/", "abfss://c@account.dfs.core.windows.net/stats/*.parquet"} {
		remote := &model.DataSource{Name: "remote", Kind: model.SourceFile, Path: path, TimestampField: "event_timestamp"}
		if err := s.WriteBatch(ctx, remote, rec); !errors.Is(err, offline.ErrNotSupported) || !strings.Contains(err.Error(), path) {
			t.Errorf("push to %s: err = %v, want ErrNotSupported naming the path", path, err)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(repo, "*:")); len(entries) > 0 {
		t.Errorf("push to an object store wrote locally: %v", entries)
	}
	// file:// is a local path.
	fileURI := &model.DataSource{Name: "fileuri", Kind: model.SourceFile, Path: "file://" + filepath.Join(repo, "viauri") + "/", TimestampField: "event_timestamp"}
	if err := s.WriteBatch(ctx, fileURI, rec); err != nil {
		t.Errorf("push to a file:// folder: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(repo, "viauri", "*.parquet")); len(files) != 1 {
		t.Errorf("push to a file:// folder wrote %v", files)
	}
	pg := &model.DataSource{Name: "pg", Kind: model.SourcePostgres, Table: "t", TimestampField: "ts"}
	if _, err := s.PullAll(ctx, statsView(pg), t0, t0); !errors.Is(err, offline.ErrNotSupported) {
		t.Errorf("postgres source: err = %v, want ErrNotSupported", err)
	}
}

// Input order survives staging and the join even when the entity file has
// many row groups and DuckDB scans it in parallel.
func TestLargeEntityOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	const n = 300_000
	feat := &offlinetest.Table{Cols: []offlinetest.Col{{Name: "driver_id", Type: "int64"}, {Name: "event_timestamp", Type: "timestamptz"}, {Name: "v", Type: "int64"}}}
	ent := &offlinetest.Table{Cols: []offlinetest.Col{{Name: "seq", Type: "int64"}, {Name: "driver_id", Type: "int64"}, {Name: "event_timestamp", Type: "timestamptz"}}}
	for i := range 1000 {
		feat.Rows = append(feat.Rows, []any{int64(i), t0, int64(i * 10)})
	}
	for i := range n {
		ent.Rows = append(ent.Rows, []any{int64(i), int64((i * 7919) % 1000), t0.Add(time.Duration(i%3) * time.Hour)})
	}
	writeParquet(t, feat, filepath.Join(dir, "f.parquet"))
	view := statsView(&model.DataSource{Name: "f", Kind: model.SourceFile, Path: "f.parquet", TimestampField: "event_timestamp"})
	rr, _ := ent.Reader()
	defer rr.Release()
	job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Entities: offline.EntitySource{Records: rr}, Views: []offline.ViewRequest{{View: view}}})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	out, err := job.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	next := int64(0)
	for out.Next() {
		rec := out.RecordBatch()
		seq := rec.Column(0).(interface{ Value(int) int64 })
		ids := rec.Column(1).(interface{ Value(int) int64 })
		vs := rec.Column(3).(interface{ Value(int) int64 })
		for i := 0; i < int(rec.NumRows()); i++ {
			if seq.Value(i) != next || vs.Value(i) != ids.Value(i)*10 {
				t.Fatalf("row %d: seq %d, driver %d, v %d", next, seq.Value(i), ids.Value(i), vs.Value(i))
			}
			next++
		}
	}
	if out.Err() != nil || next != n {
		t.Fatalf("read %d rows, err %v", next, out.Err())
	}
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// The per-view strategy's temporary tables live only while a result is
// computed: they are gone after a successful read and after a failed one,
// and a job can be read again.
func TestPerViewTablesAreDropped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	feat := table(t, "driver_id:int64 event_timestamp:timestamptz v:int64", "1 2024-01-01T00:00:00Z 10")
	writeParquet(t, feat, filepath.Join(dir, "f.parquet"))
	view := statsView(&model.DataSource{Name: "f", Kind: model.SourceFile, Path: "f.parquet", TimestampField: "event_timestamp"})
	ent := table(t, "driver_id:int64 event_timestamp:timestamptz", "1 2024-01-02T00:00:00Z", "2 2024-01-02T00:00:00Z")
	rr, _ := ent.Reader()
	defer rr.Release()
	j, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Entities: offline.EntitySource{Records: rr}, Views: []offline.ViewRequest{{View: view}}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if !strings.Contains(j.(*job).Query(), "POSITIONAL JOIN") {
		t.Fatalf("the default strategy is not per-view:\n%s", j.(*job).Query())
	}
	perViewTables := func() int {
		var n int
		q := "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE '%\\_v%' ESCAPE '\\'"
		if err := j.(*job).conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	want := "driver_id event_timestamp v\n1 2024-01-02T00:00:00Z 10\n2 2024-01-02T00:00:00Z null"
	for range 2 {
		if got := render(t, j); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
		if n := perViewTables(); n != 0 {
			t.Fatalf("%d per-view tables left after a read", n)
		}
	}
	if _, err := j.Schema(ctx); err != nil || perViewTables() != 0 {
		t.Fatalf("schema: %v, tables left: %d", err, perViewTables())
	}
	if err := os.Remove(filepath.Join(dir, "f.parquet")); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Reader(ctx); err == nil {
		t.Fatal("read with a missing source succeeded")
	}
	if n := perViewTables(); n != 0 {
		t.Fatalf("%d per-view tables left after a failed read", n)
	}
}

// An entity column named rowid (which would hide DuckDB's row number) is
// kept, and rows stay in input order with their own features, whatever the
// strategy.
func TestEntityColumnNamedRowid(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	feat := table(t, "driver_id:int64 event_timestamp:timestamptz v:int64",
		"1 2024-01-01T00:00:00Z 10", "2 2024-01-01T00:00:00Z 20", "3 2024-01-01T00:00:00Z 30")
	writeParquet(t, feat, filepath.Join(dir, "f.parquet"))
	view := statsView(&model.DataSource{Name: "f", Kind: model.SourceFile, Path: "f.parquet", TimestampField: "event_timestamp"})
	ent := table(t, "rowid:int64 driver_id:int64 event_timestamp:timestamptz",
		"30 1 2024-01-02T00:00:00Z", "10 2 2024-01-02T00:00:00Z", "20 3 2024-01-02T00:00:00Z")
	want := "rowid driver_id event_timestamp v\n30 1 2024-01-02T00:00:00Z 10\n10 2 2024-01-02T00:00:00Z 20\n20 3 2024-01-02T00:00:00Z 30"
	for _, strategy := range []sqlgen.Strategy{sqlgen.Auto, sqlgen.AsOf, sqlgen.Window} {
		s, err := OpenOptions(ctx, Options{RepoPath: dir, Strategy: strategy})
		if err != nil {
			t.Fatal(err)
		}
		rr, _ := ent.Reader()
		j, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Entities: offline.EntitySource{Records: rr}, Views: []offline.ViewRequest{{View: view}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(j.Columns(), " "); got != "rowid driver_id event_timestamp v" {
			t.Errorf("strategy %d: columns %s", strategy, got)
		}
		if got := render(t, j); got != want {
			t.Errorf("strategy %d: got\n%s\nwant\n%s", strategy, got, want)
		}
		if _, err := j.Schema(ctx); err != nil {
			t.Errorf("strategy %d: schema: %v", strategy, err)
		}
		j.Close()
		rr.Release()
		s.Close()
	}
}

// DuckDB timestamps may be infinite. An event at -infinity is older than
// any entity time, one at infinity newer than every finite one; among
// event-time ties a created timestamp of infinity wins and one of
// -infinity still beats a missing one. Every strategy agrees.
func TestInfiniteTimestamps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	csv := "driver_id,event_timestamp,created,v\n" +
		"1,-infinity,2024-01-01 00:00:00+00,1\n" +
		"1,-infinity,infinity,2\n" +
		"2,2024-01-01 00:00:00+00,-infinity,3\n" +
		"2,2024-01-01 00:00:00+00,,4\n" +
		"3,infinity,2024-01-01 00:00:00+00,5\n"
	if err := os.WriteFile(filepath.Join(dir, "stats.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	view := statsView(&model.DataSource{Name: "src", Kind: model.SourceFile, Path: "stats.csv",
		TimestampField: "event_timestamp", CreatedTimestampColumn: "created"})
	entities := "SELECT * FROM (VALUES (1, TIMESTAMPTZ '2024-06-01 00:00:00+00'), (2, TIMESTAMPTZ '2024-06-01 00:00:00+00'), " +
		"(3, TIMESTAMPTZ '2024-06-01 00:00:00+00')) AS t(driver_id, event_timestamp)"
	want := strings.Join([]string{"driver_id event_timestamp v",
		"1 2024-06-01T00:00:00Z 2", "2 2024-06-01T00:00:00Z 3", "3 2024-06-01T00:00:00Z null"}, "\n")
	for _, strategy := range []sqlgen.Strategy{sqlgen.PerView, sqlgen.AsOf, sqlgen.Window} {
		s, err := OpenOptions(ctx, Options{RepoPath: dir, Strategy: strategy})
		if err != nil {
			t.Fatal(err)
		}
		job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Entities: offline.EntitySource{Query: entities},
			Views: []offline.ViewRequest{{View: view}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := render(t, job); got != want {
			t.Errorf("strategy %d:\n%s\nwant\n%s", strategy, got, want)
		}
		job.Close()
		// An infinite entity timestamp is outside the range an event
		// timestamp is stored in (Arrow would carry it as year 294247):
		// refused, naming the row.
		_, err = s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Views: []offline.ViewRequest{{View: view}},
			Entities: offline.EntitySource{Query: strings.Replace(entities, "))", "), (3, TIMESTAMPTZ 'infinity'))", 1)}})
		if err == nil || !strings.Contains(err.Error(), "entity rows: column event_timestamp: row 3: timestamp infinity is outside") {
			t.Errorf("strategy %d: infinite entity timestamp: %v", strategy, err)
		}
		s.Close()
	}
}

// A file source whose file is missing fails with the source's name and
// path, not DuckDB's SQL.
func TestMissingSourceFile(t *testing.T) {
	s := openStore(t, t.TempDir())
	src := &model.DataSource{Name: "stats_src", Kind: model.SourceFile, Path: "data/none.parquet", TimestampField: "event_timestamp"}
	_, err := s.PullAll(context.Background(), statsView(src), t0, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "file source stats_src: path data/none.parquet does not exist") || strings.Contains(err.Error(), "read_parquet") {
		t.Fatalf("err = %v", err)
	}
}
