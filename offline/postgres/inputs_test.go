package postgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/offlinetest"
	"github.com/feastgo/feast/values"
)

func parse(t *testing.T, header string, rows ...string) *offlinetest.Table {
	t.Helper()
	cases, err := offlinetest.ParseCases("inline", "case x\nentities\n  "+header+"\n  "+strings.Join(rows, "\n  ")+"\nexpect error x\n")
	if err != nil {
		t.Fatal(err)
	}
	return cases[0].Entities
}

func render(t *testing.T, rr array.RecordReader) string {
	t.Helper()
	defer rr.Release()
	lines, err := offlinetest.RenderReader(rr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func TestEntityInputsAndPush(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	src := createTable(t, s, parse(t, "id_src:int64 event_timestamp:timestamptz value:int64", "1 2024-01-01T00:00:00Z 10", "2 2024-01-01T00:00:00Z 20"))
	ds := &model.DataSource{Name: "stats", Kind: model.SourcePostgres, Table: src, TimestampField: "event_timestamp",
		FieldMapping: map[string]string{"id_src": "driver_id", "value": "v"}}
	view := &model.FeatureView{Name: "stats", Source: ds, EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}}, Features: []model.Field{{Name: "v", Type: model.Int64}}}

	dir := t.TempDir()
	ent := parse(t, "driver_id:int64 event_timestamp:timestamp", "2 2024-01-02T00:00:00", "1 2024-01-01T00:00:00", "3 2024-01-02T00:00:00")
	rec, _ := ent.Record()
	rr, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if _, err := offline.WriteParquet(ctx, rr, filepath.Join(dir, "e.parquet")); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	rec.Release()
	os.WriteFile(filepath.Join(dir, "e.csv"), []byte("driver_id,event_timestamp\n2,2024-01-02 00:00:00\n1,2024-01-01 00:00:00\n3,2024-01-02 00:00:00\n"), 0o644)
	want := "driver_id event_timestamp v\n2 2024-01-02T00:00:00 20\n1 2024-01-01T00:00:00 10\n3 2024-01-02T00:00:00 null"
	for name, es := range map[string]offline.EntitySource{
		"parquet": {Path: filepath.Join(dir, "e.parquet")},
		"csv":     {Path: filepath.Join(dir, "e.csv")},
		"query":   {Query: "SELECT * FROM (VALUES (2::bigint, TIMESTAMP '2024-01-02'), (1, TIMESTAMP '2024-01-01'), (3, TIMESTAMP '2024-01-02')) AS t(driver_id, event_timestamp)"},
	} {
		t.Run(name, func(t *testing.T) {
			job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{Entities: es, Views: []offline.ViewRequest{{View: view}}})
			if err != nil {
				t.Fatal(err)
			}
			defer job.Close()
			r, err := job.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(t, r); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			schema, err := job.Schema(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if schema.NumFields() != 3 || schema.Field(1).Type.(*arrow.TimestampType).TimeZone != "" {
				t.Errorf("schema = %s", schema)
			}
		})
	}

	// Offline push writes through the field mapping; PullLatest sees it.
	pushed := parse(t, "driver_id:int64 event_timestamp:timestamptz v:int64", "1 2024-01-03T00:00:00Z 11")
	prec, _ := pushed.Record()
	defer prec.Release()
	if err := s.WriteBatch(ctx, ds, prec); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	lr, err := s.PullLatest(ctx, view, t0, t0.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(render(t, lr), "\n")
	got := lines[0] + "|" + strings.Join(sorted(lines[1:]), "|")
	if want := "driver_id v event_timestamp|1 11 2024-01-03T00:00:00Z|2 20 2024-01-01T00:00:00Z"; got != want {
		t.Errorf("after push: got %s, want %s", got, want)
	}
	query := &model.DataSource{Name: "q", Kind: model.SourcePostgres, Query: "SELECT 1"}
	if err := s.WriteBatch(ctx, query, prec); !errors.Is(err, offline.ErrNotSupported) {
		t.Errorf("push to a query source: err = %v", err)
	}
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestConnString(t *testing.T) {
	for _, tc := range []struct {
		cfg  config.PostgresConfig
		want string
	}{
		{config.PostgresConfig{DSN: "postgres://x"}, "postgres://x"},
		{config.PostgresConfig{Host: "127.0.0.1", Port: 5432, Database: "test", User: "postgres"}, "host='127.0.0.1' port='5432' dbname='test' user='postgres' sslmode='disable'"},
		{config.PostgresConfig{Host: "db.example.com", User: "u", Password: "it's"}, `host='db.example.com' user='u' password='it\'s' sslmode='require'`},
	} {
		if got := ConnString(tc.cfg); got != tc.want {
			t.Errorf("ConnString(%+v) = %s, want %s", tc.cfg, got, tc.want)
		}
	}
}

// TestUUIDKeys: a uuid column pulls as its canonical text, the entity key
// Python Feast serializes for it, in key order too.
func TestUUIDKeys(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	ds := &model.DataSource{Name: "users", Kind: model.SourcePostgres, TimestampField: "ts",
		Query: "SELECT * FROM (VALUES ('6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid, TIMESTAMPTZ '2024-01-01', 1.5::float8), " +
			"('00000000-0000-0000-0000-00000000000a'::uuid, TIMESTAMPTZ '2024-01-01', 2.5)) AS t(user_id, ts, f)"}
	view := &model.FeatureView{Name: "users", Source: ds, EntityColumns: []model.Field{{Name: "user_id", Type: model.String}}, Features: []model.Field{{Name: "f", Type: model.Double}}}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := "user_id f event_timestamp|00000000-0000-0000-0000-00000000000a 2.5 2024-01-01T00:00:00Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8 1.5 2024-01-01T00:00:00Z"
	for name, pull := range map[string]func(context.Context, *model.FeatureView, time.Time, time.Time) (array.RecordReader, error){
		"latest": s.PullLatest, "key order": s.PullLatestInKeyOrder,
	} {
		rr, err := pull(ctx, view, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(render(t, rr), "\n")
		if got := lines[0] + "|" + strings.Join(sorted(lines[1:]), "|"); got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
}

// TestNumericColumns covers what the conformance suite's decimal columns do
// not: an unconstrained NUMERIC has no scale to carry and reads as
// float64 (as Python Feast reads every NUMERIC), and NaN in a
// NUMERIC(p,s) column, which no Arrow decimal holds, fails the read with
// the cast that reads it.
func TestNumericColumns(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	view := func(query string) *model.FeatureView {
		ds := &model.DataSource{Name: "nums", Kind: model.SourcePostgres, TimestampField: "ts", Query: query}
		return &model.FeatureView{Name: "nums", Source: ds, EntityColumns: []model.Field{{Name: "id", Type: model.Int64}},
			Features: []model.Field{{Name: "f", Type: model.Double}}}
	}
	rr, err := s.PullLatest(ctx, view("SELECT 7::bigint AS id, TIMESTAMPTZ '2024-01-01' AS ts, 2.5::numeric AS f"), t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if dt := rr.Schema().Field(rr.Schema().FieldIndices("f")[0]).Type; dt.ID() != arrow.FLOAT64 {
		t.Errorf("unconstrained NUMERIC read as %s, want float64", dt)
	}
	if got := render(t, rr); !strings.Contains(got, "7 2.5 ") {
		t.Errorf("got %q, want id 7 with f 2.5", got)
	}
	rr, err = s.PullLatest(ctx, view("SELECT 7::bigint AS id, TIMESTAMPTZ '2024-01-01' AS ts, 'NaN'::numeric(10,2) AS f"), t0, t0.Add(time.Hour))
	if err == nil {
		for rr.Next() {
		}
		err = rr.Err()
		rr.Release()
	}
	if err == nil || !strings.Contains(err.Error(), "NaN in a NUMERIC(p,s) column") || !strings.Contains(err.Error(), "::float8") {
		t.Errorf("NaN in NUMERIC(10,2): %v, want an error naming the ::float8 cast", err)
	}
}

// TestJSONColumns: json and jsonb columns read as PostgreSQL's own text of
// the value (what a Json feature holds), not Go's rendering of the decoded
// map ("map[a:<nil> b:[1 2.5 x]]").
func TestJSONColumns(t *testing.T) { forExecModes(t, testJSONColumns) }

func testJSONColumns(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := &model.DataSource{Name: "docs", Kind: model.SourcePostgres, TimestampField: "ts",
		Query: `SELECT 7::bigint AS id, TIMESTAMPTZ '2024-01-01' AS ts, '{"b": [1, 2.5, "x"], "a": null, "n": 12345678901234567890}'::jsonb AS j, ` +
			`'{"z":1,  "y" : [true]}'::json AS k, '"str"'::jsonb AS s, NULL::jsonb AS nothing, '{"x": 1e400}'::json AS big, ` +
			`(repeat('[', 12000) || repeat(']', 12000))::jsonb AS deep, ARRAY['{"n": 12345678901234567890}'::jsonb] AS arr`}
	view := &model.FeatureView{Name: "docs", Source: ds, EntityColumns: []model.Field{{Name: "id", Type: model.Int64}},
		Features: []model.Field{{Name: "j", Type: model.JSON}, {Name: "k", Type: model.JSON}, {Name: "s", Type: model.JSON}, {Name: "nothing", Type: model.JSON},
			{Name: "big", Type: model.JSON}, {Name: "deep", Type: model.JSON}, {Name: "arr", Type: model.String}}}
	for name, pull := range map[string]func(context.Context, *model.FeatureView, time.Time, time.Time) (array.RecordReader, error){
		"latest": s.PullLatest, "key order": s.PullLatestInKeyOrder,
	} {
		rr, err := pull(ctx, view, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"j": `{"a": null, "b": [1, 2.5, "x"], "n": 12345678901234567890}`,
			"k": `{"z":1,  "y" : [true]}`,
			"s": `"str"`,
			// Go's JSON decoder refuses these two, which failed the read.
			"big":  `{"x": 1e400}`,
			"deep": strings.Repeat("[", 12000) + strings.Repeat("]", 12000),
			"arr":  `{"{\"n\": 12345678901234567890}"}`,
		}
		rows := 0
		for rr.Next() {
			rec := rr.RecordBatch()
			for _, f := range view.Features {
				col := rec.Column(rec.Schema().FieldIndices(f.Name)[0])
				vs, err := values.ColumnFromArrow(col, f.Type)
				if err != nil {
					t.Fatalf("%s: column %s: %v", name, f.Name, err)
				}
				got := vs[0].GetJsonVal()
				if f.Type == model.String {
					got = vs[0].GetStringVal()
				}
				if f.Name == "nothing" {
					if vs[0].GetVal() != nil {
						t.Errorf("%s: SQL NULL jsonb read as %v, want null", name, vs[0])
					}
					continue
				}
				if got != want[f.Name] {
					t.Errorf("%s: %s = %q, want %q", name, f.Name, got, want[f.Name])
				}
			}
			rows += int(rec.NumRows())
		}
		if err := rr.Err(); err != nil {
			t.Fatal(err)
		}
		rr.Release()
		if rows != 1 {
			t.Errorf("%s: %d rows, want 1", name, rows)
		}
	}
}

// TestOtherTypesAsText: columns of types read as strings that pgx decodes
// into Go values (interval, inet, time, bit strings, ranges, records) hold
// PostgreSQL's own text of them, not Go's printing of the decoded struct
// ({0 93600000000 0 true}), and a type pgx cannot write back as text
// (ranges, records) does not fail the read.
func TestOtherTypesAsText(t *testing.T) { forExecModes(t, testOtherTypesAsText) }

func testOtherTypesAsText(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := &model.DataSource{Name: "misc", Kind: model.SourcePostgres, TimestampField: "ts",
		Query: `SELECT 7::bigint AS id, TIMESTAMPTZ '2024-01-01' AS ts, INTERVAL '1 day 2 hours' AS iv, '10.0.0.1'::inet AS ip, ` +
			`'12:34:56'::time AS tm, B'101' AS bits, 'x'::text AS plain, int4range(1, 5) AS rng, ROW(1, 'a'::text) AS rec`}
	// PostgreSQL's own text, as psql shows it.
	want := map[string]string{"iv": "1 day 02:00:00", "ip": "10.0.0.1", "tm": "12:34:56", "bits": "101", "plain": "x", "rng": "[1,5)", "rec": "(1,a)"}
	var feats []model.Field
	for _, n := range []string{"iv", "ip", "tm", "bits", "plain", "rng", "rec"} {
		feats = append(feats, model.Field{Name: n, Type: model.String})
	}
	view := &model.FeatureView{Name: "misc", Source: ds, EntityColumns: []model.Field{{Name: "id", Type: model.Int64}}, Features: feats}
	rr, err := s.PullLatest(ctx, view, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		for _, f := range feats {
			vs, err := values.ColumnFromArrow(rec.Column(rec.Schema().FieldIndices(f.Name)[0]), model.String)
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			if got := vs[0].GetStringVal(); got != want[f.Name] {
				t.Errorf("%s = %q, want %q", f.Name, got, want[f.Name])
			}
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
}

// forExecModes runs a test with the store's default (extended, binary
// results) protocol and with the simple protocol a DSN selects for
// PgBouncer (text results).
func forExecModes(t *testing.T, test func(*testing.T, *Store)) {
	for _, mode := range []string{"", "simple_protocol", "exec"} {
		name := mode
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			dsn := testenv.PostgresDSN(t)
			if mode != "" {
				sep := "?"
				if strings.Contains(dsn, "?") {
					sep = "&"
				}
				dsn += sep + "default_query_exec_mode=" + mode
			}
			s, err := Open(context.Background(), config.PostgresConfig{DSN: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			test(t, s)
		})
	}
}
