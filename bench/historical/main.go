// Command historical benchmarks historical retrieval on the DuckDB offline
// store against two hand-written DuckDB ASOF JOIN queries over the same
// files: the minimal one (chained ASOF joins, ttl checked on the matched
// row; no created-timestamp tie-break, rows in no particular order) and one
// with ours' semantics (tie-break, entity order).
//
// It generates entity rows and feature rows over three feature views as
// Parquet in a temporary directory, then runs each side in its own
// subprocess (so each peak RSS, VmHWM, is its own) writing the result to
// Parquet, and prints wall time, peak RSS, the ratios and the size of the
// data (as Parquet and as Arrow columns in memory).
//
// Ours runs with the store's default memory_limit unless -memory-limit
// says otherwise; the hand-written queries run with DuckDB's own default
// (80% of RAM) unless -hand-memory-limit says otherwise: each side as a
// user would run it.
//
//	go run ./bench/historical              # small: 100k entities, 1M feature rows
//	go run ./bench/historical -full        # 1M entities, 10M feature rows
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdbdriver "github.com/duckdb/duckdb-go/v2"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/duckdb"
)

type result struct {
	Mode    string  `json:"mode"`
	Seconds float64 `json:"seconds"`
	PeakRSS int64   `json:"peak_rss_kib"`
	Rows    int64   `json:"rows"`
	// CPU is user+system seconds of the subprocess, less sensitive than
	// wall time to other load on a shared machine.
	CPU float64 `json:"-"`
}

var views = []struct {
	name, key string
	ttl       time.Duration
}{
	{"driver_hourly", "driver_id", 2 * 24 * time.Hour},
	{"customer_daily", "customer_id", 7 * 24 * time.Hour},
	{"driver_weekly", "driver_id", 0},
}

func main() {
	full := flag.Bool("full", false, "1M entity rows and 10M feature rows (default: 100k and 1M)")
	entities := flag.Int("entities", 0, "entity rows (overrides -full)")
	features := flag.Int("features", 0, "feature rows over all views (overrides -full)")
	dir := flag.String("dir", "", "data directory (default: a new temp dir, removed at the end)")
	created := flag.Bool("created", true, "give feature rows a created timestamp column (ours then breaks event-time ties by it; the hand-written query does not)")
	memLimit := flag.String("memory-limit", config.DefaultDuckDBMemoryLimit, "offline_store memory_limit of ours, such as 1GB")
	handLimit := flag.String("hand-memory-limit", "", "DuckDB memory_limit of the hand-written queries (default: DuckDB's, 80% of RAM)")
	rounds := flag.Int("rounds", 3, "runs of each side, interleaved; the best is reported")
	mode := flag.String("mode", "", "internal: run one side (ours|handwritten|exact) in this process")
	flag.Parse()
	if *mode != "" {
		if err := runSide(*mode, *dir, *created, *memLimit); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	nEnt, nFeat := 100_000, 1_000_000
	if *full {
		nEnt, nFeat = 1_000_000, 10_000_000
	}
	if *entities > 0 {
		nEnt = *entities
	}
	if *features > 0 {
		nFeat = *features
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "feast-bench-historical-")
		check(err)
		defer os.RemoveAll(d)
		*dir = d
	}
	start := time.Now()
	size, err := generate(*dir, nEnt, nFeat)
	check(err)
	fmt.Printf("generated %d entity rows, %d feature rows over %d views in %s (%s)\n", nEnt, nFeat, len(views), time.Since(start).Round(time.Millisecond), *dir)
	fmt.Printf("data size: %d MiB as Parquet, %d MiB as Arrow columns\n", size.parquet>>20, size.columns>>20)
	var res []result
	for range *rounds {
		for _, m := range []string{"handwritten", "exact", "ours"} {
			limit := *handLimit
			if m == "ours" {
				limit = *memLimit
			}
			r, err := subprocess(m, *dir, *created, limit)
			check(err)
			fmt.Printf("  %-12s %8.2fs wall %8.2fs cpu  peak RSS %6d MiB  rows %d\n", r.Mode, r.Seconds, r.CPU, r.PeakRSS/1024, r.Rows)
			res = append(res, r)
		}
	}
	best, cpu := map[string]result{}, map[string]float64{}
	for _, r := range res {
		if b, ok := best[r.Mode]; !ok || r.Seconds < b.Seconds {
			best[r.Mode] = r
		}
		if c, ok := cpu[r.Mode]; !ok || r.CPU < c {
			cpu[r.Mode] = r.CPU
		}
	}
	check(sameRows(filepath.Join(*dir, "out-ours.parquet"), filepath.Join(*dir, "out-exact.parquet")))
	o := best["ours"]
	for _, m := range []string{"handwritten", "exact"} {
		if best[m].Rows != o.Rows || o.Rows != int64(nEnt) {
			fmt.Printf("ROW COUNT MISMATCH: ours %d, %s %d, entities %d\n", o.Rows, m, best[m].Rows, nEnt)
			os.Exit(1)
		}
	}
	for _, m := range []struct{ mode, what string }{{"handwritten", "hand-written (no tie-break, unordered)"}, {"exact", "hand-written with the same semantics"}} {
		h := best[m.mode]
		fmt.Printf("best of %d vs %s: wall ours %.2fs / %.2fs = %.2fx; cpu %.2fs / %.2fs = %.2fx; peak RSS %d / %d MiB = %.2fx\n",
			*rounds, m.what, o.Seconds, h.Seconds, o.Seconds/h.Seconds, cpu["ours"], cpu[m.mode], cpu["ours"]/cpu[m.mode],
			o.PeakRSS/1024, h.PeakRSS/1024, float64(o.PeakRSS)/float64(h.PeakRSS))
	}
	var peak int64 // ours' highest, in KiB
	for _, r := range res {
		if r.Mode == "ours" {
			peak = max(peak, r.PeakRSS)
		}
	}
	fmt.Printf("ours' highest peak RSS of %d rounds: %d MiB = %.2fx the Parquet data, %.2fx the Arrow columns\n",
		*rounds, peak>>10, float64(peak<<10)/float64(size.parquet), float64(peak<<10)/float64(size.columns))
}

// sameRows fails unless two result files hold the same rows at the same
// positions: ours must equal the hand-written query with the same
// semantics, row for row.
func sameRows(a, b string) error {
	defer os.Remove(a)
	defer os.Remove(b)
	c, err := duckdbdriver.NewConnector("", nil)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	read := func(p string) string {
		return fmt.Sprintf("SELECT * FROM read_parquet('%s', file_row_number = true)", p)
	}
	var n int64
	q := fmt.Sprintf("SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s))", read(a), read(b), read(b), read(a))
	if err := db.QueryRow(q).Scan(&n); err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("ours and the hand-written query with the same semantics differ in %d rows", n)
	}
	fmt.Println("ours = hand-written with the same semantics, row for row")
	return nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func subprocess(mode, dir string, created bool, memLimit string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-mode", mode, "-dir", dir, "-created="+strconv.FormatBool(created), "-memory-limit="+memLimit)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("run %s: %w", mode, err)
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return r, err
	}
	r.CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return r, nil
}

// peakRSS reads VmHWM from /proc/self/status, in KiB.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const span = 30 * 24 * time.Hour

func keyCount(key string, nFeat int) int {
	if key == "driver_id" {
		return max(nFeat/200, 10) // ~67 rows per driver per view
	}
	return max(nFeat/50, 10)
}

// dataSize is the generated data's size: the Parquet files on disk and
// the same rows as Arrow columns in memory (every column is 8 bytes wide).
type dataSize struct{ parquet, columns int64 }

// generate writes entities.parquet and one Parquet file per view.
func generate(dir string, nEnt, nFeat int) (dataSize, error) {
	var size dataSize
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	randTime := func() arrow.Timestamp {
		return arrow.Timestamp(epoch.Add(time.Duration(r.Int64N(int64(span)))).UnixMicro())
	}
	const batch = 1 << 20
	write := func(path string, schema *arrow.Schema, n int, fill func(b *array.RecordBuilder)) error {
		var recs []arrow.RecordBatch
		for done := 0; done < n; done += batch {
			b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			for i := done; i < min(n, done+batch); i++ {
				fill(b)
			}
			recs = append(recs, b.NewRecordBatch())
			b.Release()
		}
		rr, err := array.NewRecordReader(schema, recs)
		if err != nil {
			return err
		}
		defer rr.Release()
		for _, rec := range recs {
			rec.Release()
		}
		if _, err := offline.WriteParquet(ctx, rr, path); err != nil {
			return err
		}
		for _, f := range schema.Fields() {
			size.columns += int64(n) * int64(f.Type.(arrow.FixedWidthDataType).BitWidth()/8)
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		size.parquet += st.Size()
		return nil
	}
	entSchema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_timestamp", Type: ts}}, nil)
	drivers, customers := keyCount("driver_id", nFeat/len(views)), keyCount("customer_id", nFeat/len(views))
	err := write(filepath.Join(dir, "entities.parquet"), entSchema, nEnt, func(b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).Append(r.Int64N(int64(drivers)))
		b.Field(1).(*array.Int64Builder).Append(r.Int64N(int64(customers)))
		b.Field(2).(*array.TimestampBuilder).Append(randTime())
	})
	if err != nil {
		return size, err
	}
	for i, v := range views {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: v.key, Type: arrow.PrimitiveTypes.Int64}, {Name: "event_timestamp", Type: ts}, {Name: "created", Type: ts},
			{Name: fmt.Sprintf("f%d_a", i), Type: arrow.PrimitiveTypes.Float64}, {Name: fmt.Sprintf("f%d_b", i), Type: arrow.PrimitiveTypes.Int64}}, nil)
		keys := keyCount(v.key, nFeat/len(views))
		err := write(filepath.Join(dir, v.name+".parquet"), schema, nFeat/len(views), func(b *array.RecordBuilder) {
			t := randTime()
			b.Field(0).(*array.Int64Builder).Append(r.Int64N(int64(keys)))
			b.Field(1).(*array.TimestampBuilder).Append(t)
			b.Field(2).(*array.TimestampBuilder).Append(t + arrow.Timestamp(r.Int64N(60e6)))
			b.Field(3).(*array.Float64Builder).Append(r.Float64())
			b.Field(4).(*array.Int64Builder).Append(r.Int64N(1000))
		})
		if err != nil {
			return size, err
		}
	}
	return size, nil
}

func featureViews(dir string, created bool) []offline.ViewRequest {
	var out []offline.ViewRequest
	for i, v := range views {
		fv := &model.FeatureView{
			Name: v.name, TTL: v.ttl,
			EntityColumns: []model.Field{{Name: v.key, Type: model.Int64}},
			Features:      []model.Field{{Name: fmt.Sprintf("f%d_a", i), Type: model.Double}, {Name: fmt.Sprintf("f%d_b", i), Type: model.Int64}},
			Source: &model.DataSource{Name: v.name, Kind: model.SourceFile, Path: filepath.Join(dir, v.name+".parquet"),
				TimestampField: "event_timestamp"},
		}
		if created {
			fv.Source.CreatedTimestampColumn = "created"
		}
		out = append(out, offline.ViewRequest{View: fv})
	}
	return out
}

// ttlChecked selects view i's two features from the row matched as alias
// a, NULL when that row is older than the view's ttl.
func ttlChecked(i int, a string) []string {
	var sel []string
	for _, f := range []string{"a", "b"} {
		col := fmt.Sprintf("%s.f%d_%s", a, i, f)
		if views[i].ttl > 0 {
			col = fmt.Sprintf("CASE WHEN %s.event_timestamp >= e.event_timestamp - INTERVAL '%d seconds' THEN %s END", a, int(views[i].ttl.Seconds()), col)
		}
		sel = append(sel, fmt.Sprintf("%s AS f%d_%s", col, i, f))
	}
	return sel
}

// handwrittenSQL is what a user would write by hand: chained ASOF joins
// with the ttl checked on the matched row. It does not break event-time
// ties by created timestamp and does not promise row order.
func handwrittenSQL(dir string) string {
	var sel, joins []string
	for i, v := range views {
		a := fmt.Sprintf("f%d", i)
		sel = append(sel, ttlChecked(i, a)...)
		joins = append(joins, fmt.Sprintf("ASOF LEFT JOIN read_parquet('%s') %s ON e.%s = %s.%s AND e.event_timestamp >= %s.event_timestamp",
			filepath.Join(dir, v.name+".parquet"), a, v.key, a, v.key, a))
	}
	return fmt.Sprintf("SELECT e.*, %s FROM read_parquet('%s') e %s", strings.Join(sel, ", "), filepath.Join(dir, "entities.parquet"), strings.Join(joins, " "))
}

// exactSQL is a hand-written query with ours' semantics: event-time ties
// broken by the latest created timestamp (a STRUCT ASOF key, when there is
// a created column) and rows in entity order. It is how one would write
// the point-in-time join by hand in one query.
func exactSQL(dir string, created bool) string {
	var sel, joins []string
	probe := "e.event_timestamp"
	ents := fmt.Sprintf("read_parquet('%s', file_row_number = true)", filepath.Join(dir, "entities.parquet"))
	if created {
		ents = fmt.Sprintf("(SELECT *, {'t': event_timestamp, 'c': 'infinity'::TIMESTAMPTZ} AS probe FROM %s)", ents)
		probe = "e.probe"
	}
	for i, v := range views {
		a := fmt.Sprintf("f%d", i)
		sel = append(sel, ttlChecked(i, a)...)
		src := fmt.Sprintf("read_parquet('%s')", filepath.Join(dir, v.name+".parquet"))
		key := a + ".event_timestamp"
		if created {
			src = fmt.Sprintf("(SELECT *, {'t': event_timestamp, 'c': coalesce(created, '-infinity'::TIMESTAMPTZ)} AS ord FROM %s)", src)
			key = a + ".ord"
		}
		joins = append(joins, fmt.Sprintf("ASOF LEFT JOIN %s %s ON e.%s = %s.%s AND %s >= %s", src, a, v.key, a, v.key, probe, key))
	}
	return fmt.Sprintf("SELECT e.driver_id, e.customer_id, e.event_timestamp, %s FROM %s e %s ORDER BY e.file_row_number",
		strings.Join(sel, ", "), ents, strings.Join(joins, " "))
}

func runSide(mode, dir string, created bool, memLimit string) error {
	ctx := context.Background()
	out := filepath.Join(dir, "out-"+mode+".parquet")
	start := time.Now()
	var db *sql.DB
	switch mode {
	case "ours":
		s, err := duckdb.OpenOptions(ctx, duckdb.Options{TempDir: filepath.Join(dir, "tmp"), MemoryLimit: memLimit})
		if err != nil {
			return err
		}
		defer s.Close()
		job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{
			Entities: offline.EntitySource{Path: filepath.Join(dir, "entities.parquet")}, Views: featureViews(dir, created)})
		if err != nil {
			return err
		}
		if err := job.WriteParquet(ctx, out); err != nil {
			return err
		}
		if err := job.Close(); err != nil {
			return err
		}
		db = s.DB()
	case "handwritten", "exact":
		c, err := duckdbdriver.NewConnector("", nil)
		if err != nil {
			return err
		}
		db = sql.OpenDB(c)
		defer db.Close()
		settings := []string{"SET TimeZone = 'UTC'", "SET temp_directory = '" + filepath.Join(dir, "tmp-hand") + "'"}
		if memLimit != "" {
			settings = append(settings, "SET memory_limit = '"+memLimit+"'")
		}
		for _, stmt := range settings {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		q := handwrittenSQL(dir)
		if mode == "exact" {
			q = exactSQL(dir, created)
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO '%s' (FORMAT parquet, COMPRESSION zstd)", q, out)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	elapsed := time.Since(start)
	var rows int64
	if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", out)).Scan(&rows); err != nil {
		return err
	}
	if mode == "handwritten" {
		os.Remove(out) // the others are compared by the parent
	}
	return json.NewEncoder(os.Stdout).Encode(result{Mode: mode, Seconds: elapsed.Seconds(), PeakRSS: peakRSS(), Rows: rows})
}
