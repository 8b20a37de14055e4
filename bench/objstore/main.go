// Command objstore benchmarks file sources in object storage against the
// same Parquet on local disk, on the DuckDB offline store, with an S3
// stand-in (gofakes3, in memory) served by this process on loopback.
//
// Part 1, local vs S3: feature rows over -drivers drivers in -files Parquet
// files, uploaded under one prefix. Materialization (PullLatest over the
// whole range, every result row streamed) and historical retrieval (-entities
// entity rows, written to Parquet) each run in a subprocess of their own per
// side, so wall time, CPU and peak RSS (VmHWM) are the side's own
// and the S3 side starts with an empty staging cache (downloads included).
// Each pair runs -rounds times interleaved; the best round is reported.
//
// Part 2, incremental materialization: -days daily partitions
// (dt=YYYY-MM-DD/), one day pulled as materialize-incremental pulls it;
// prints the bytes read through the blob layer as a fraction of the dataset,
// with date_partition_column set (partition pruning) and without it (footer
// statistics only), and with the same rows in one object of one row group per
// day (row-group pruning: ranged reads of that day's row groups).
//
//	go run -tags duckdb_arrow ./bench/objstore                   # 10M feature rows, 1M entities, 365 days
//	go run -tags duckdb_arrow ./bench/objstore -rows 1000000 -entities 100000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/duckdb"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

var (
	rows      = flag.Int("rows", 10_000_000, "feature rows of part 1")
	drivers   = flag.Int("drivers", 1_000_000, "distinct drivers of part 1")
	files     = flag.Int("files", 10, "Parquet files of part 1")
	entities  = flag.Int("entities", 1_000_000, "entity rows of part 1's historical retrieval")
	rounds    = flag.Int("rounds", 2, "rounds of part 1")
	days      = flag.Int("days", 365, "daily partitions of part 2")
	dayRows   = flag.Int("day-rows", 10_000, "rows per daily partition of part 2")
	memLimit  = flag.String("memory-limit", config.DefaultDuckDBMemoryLimit, "offline_store memory_limit")
	childMode = flag.String("child", "", "internal: run one measurement (pull or hist) on -source")
	source    = flag.String("source", "", "internal: the source path of a child")
	entityArg = flag.String("entity-file", "", "internal: the entity rows of a child")
)

var start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const span = 30 * 24 * time.Hour // part 1's feature rows cover 30 days

func main() {
	flag.Parse()
	if *childMode != "" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "conv_rate", Type: arrow.PrimitiveTypes.Float64},
	{Name: "trips", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// writeRows writes n rows with timestamps from ts(i) to a Parquet file.
func writeRows(path string, n int, seed uint64, ts func(i int) time.Time) (int64, error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var batches []arrow.RecordBatch
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(rng.IntN(*drivers)))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts(i).UnixMicro()))
		b.Field(2).(*array.Float64Builder).Append(rng.Float64())
		b.Field(3).(*array.Int64Builder).Append(int64(rng.IntN(500)))
		if (i+1)%(1<<16) == 0 || i == n-1 {
			batches = append(batches, b.NewRecordBatch())
		}
	}
	rr, err := array.NewRecordReader(schema, batches)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	for _, r := range batches {
		r.Release()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	if _, err := offline.WriteParquet(context.Background(), rr, path); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// writeEntities writes -entities entity rows (driver_id, event_timestamp)
// in the last 7 days of part 1's range.
func writeEntities(path string) error {
	es := arrow.NewSchema(schema.Fields()[:2], nil)
	rng := rand.New(rand.NewPCG(99, 7))
	b := array.NewRecordBuilder(memory.DefaultAllocator, es)
	defer b.Release()
	var batches []arrow.RecordBatch
	for i := range *entities {
		b.Field(0).(*array.Int64Builder).Append(int64(rng.IntN(*drivers)))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(start.Add(span - time.Duration(rng.Int64N(int64(7*24*time.Hour)))).UnixMicro()))
		if (i+1)%(1<<16) == 0 || i == *entities-1 {
			batches = append(batches, b.NewRecordBatch())
		}
	}
	rr, err := array.NewRecordReader(es, batches)
	if err != nil {
		return err
	}
	defer rr.Release()
	for _, r := range batches {
		r.Release()
	}
	_, err = offline.WriteParquet(context.Background(), rr, path)
	return err
}

func view(path, partition string) *model.FeatureView {
	src := &model.DataSource{Name: "driver_stats", Kind: model.SourceFile, Path: path, TimestampField: "event_timestamp", DatePartitionColumn: partition}
	return &model.FeatureView{Name: "driver_stats", TTL: 7 * 24 * time.Hour, Source: src,
		EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
		Features:      []model.Field{{Name: "conv_rate", Type: model.Double}, {Name: "trips", Type: model.Int64}}}
}

type measure struct {
	Seconds  float64 `json:"seconds"`
	Rows     int64   `json:"rows"`
	Bytes    int64   `json:"bytes_read"`
	Objects  int64   `json:"objects_read"`
	CPU      float64 `json:"-"`
	PeakRSS  int64   `json:"peak_rss_kib"`
	Side     string  `json:"-"`
	Workload string  `json:"-"`
}

// child runs one measurement and prints it as JSON.
func child() error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "objstore-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := duckdb.OpenOptions(ctx, duckdb.Options{MemoryLimit: *memLimit, TempDir: dir})
	if err != nil {
		return err
	}
	defer s.Close()
	fv := view(*source, "")
	t0 := time.Now()
	var m measure
	switch *childMode {
	case "pull":
		rr, err := s.PullLatest(ctx, fv, start, start.Add(span))
		if err != nil {
			return err
		}
		for rr.Next() {
			m.Rows += rr.RecordBatch().NumRows()
		}
		err = rr.Err()
		rr.Release()
		if err != nil {
			return err
		}
	case "hist":
		job, err := s.GetHistoricalFeatures(ctx, offline.HistoricalRequest{
			Entities: offline.EntitySource{Path: *entityArg}, Views: []offline.ViewRequest{{View: fv}}})
		if err != nil {
			return err
		}
		out := filepath.Join(dir, "out.parquet")
		if err := job.WriteParquet(ctx, out); err != nil {
			return err
		}
		job.Close()
		st, _ := os.Stat(out)
		m.Rows = st.Size()
	default:
		return fmt.Errorf("unknown child mode %s", *childMode)
	}
	m.Seconds = time.Since(t0).Seconds()
	st := s.ObjectStats()
	m.Bytes, m.Objects = st.BytesRead, st.ObjectsRead
	m.PeakRSS = peakRSS()
	return json.NewEncoder(os.Stdout).Encode(m)
}

// peakRSS reads VmHWM from /proc/self/status, in KiB. (getrusage's maxrss
// of a child would include the parent's pages, which the fork shares
// until exec.)
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func runChild(mode, src, entityFile string) (measure, error) {
	cmd := exec.Command(os.Args[0], "-child", mode, "-source", src, "-entity-file", entityFile, "-memory-limit", *memLimit, "-drivers", fmt.Sprint(*drivers))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return measure{}, fmt.Errorf("%s %s: %w", mode, src, err)
	}
	var m measure
	if err := json.Unmarshal(out, &m); err != nil {
		return m, fmt.Errorf("%s: %q: %w", mode, out, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	m.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return m, nil
}

func run() error {
	for k, v := range fakes3.Env() {
		os.Setenv(k, v)
	}
	srv, err := fakes3.StartServer("bench")
	if err != nil {
		return err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "objstore-bench-data-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// Part 1.
	local := filepath.Join(dir, "stats")
	var total int64
	per := *rows / *files
	for f := range *files {
		p := filepath.Join(local, fmt.Sprintf("part-%03d.parquet", f))
		n, err := writeRows(p, per, uint64(f), func(i int) time.Time {
			return start.Add(time.Duration(rand.Int64N(int64(span))))
		})
		if err != nil {
			return err
		}
		total += n
		if err := srv.PutFile("bench", fmt.Sprintf("stats/part-%03d.parquet", f), p); err != nil {
			return err
		}
	}
	entityFile := filepath.Join(dir, "entities.parquet")
	if err := writeEntities(entityFile); err != nil {
		return err
	}
	fmt.Printf("part 1: %d feature rows in %d files (%.1f MiB Parquet), %d drivers, %d entity rows, memory_limit %s\n",
		*rows, *files, float64(total)/(1<<20), *drivers, *entities, *memLimit)
	sides := []struct{ name, path string }{{"local", local}, {"s3", srv.URL("bench", "stats/")}}
	best := map[string]measure{}
	for r := range *rounds {
		for _, mode := range []string{"pull", "hist"} {
			for _, side := range sides {
				m, err := runChild(mode, side.path, entityFile)
				if err != nil {
					return err
				}
				fmt.Printf("  round %d %-4s %-5s %6.2f s wall %6.2f s CPU %5d MiB peak RSS, %d MiB read from the bucket\n",
					r+1, mode, side.name, m.Seconds, m.CPU, m.PeakRSS>>10, m.Bytes>>20)
				key := mode + "/" + side.name
				if b, ok := best[key]; !ok || m.Seconds < b.Seconds {
					best[key] = m
				}
			}
		}
	}
	for _, mode := range []string{"pull", "hist"} {
		l, s := best[mode+"/local"], best[mode+"/s3"]
		fmt.Printf("%s: local %.2f s (%d MiB RSS), s3 %.2f s (%d MiB RSS): s3/local time %.2fx, RSS %.2fx\n",
			mode, l.Seconds, l.PeakRSS>>10, s.Seconds, s.PeakRSS>>10, s.Seconds/l.Seconds, float64(s.PeakRSS)/float64(l.PeakRSS))
	}

	// Part 2.
	var dataset int64
	for d := range *days {
		day := start.AddDate(0, 0, d)
		p := filepath.Join(dir, "daily", fmt.Sprintf("%d.parquet", d))
		n, err := writeRows(p, *dayRows, uint64(1000+d), func(i int) time.Time {
			return day.Add(time.Duration(i) * (24 * time.Hour / time.Duration(*dayRows)))
		})
		if err != nil {
			return err
		}
		dataset += n
		if err := srv.PutFile("bench", "daily/dt="+day.Format("2006-01-02")+"/part-0.parquet", p); err != nil {
			return err
		}
		os.Remove(p)
	}
	fmt.Printf("part 2: %d daily partitions of %d rows (%.1f MiB Parquet)\n", *days, *dayRows, float64(dataset)/(1<<20))
	day := start.AddDate(0, 0, *days/2)
	for _, partition := range []string{"dt", ""} {
		ctx := context.Background()
		s, err := duckdb.OpenOptions(ctx, duckdb.Options{MemoryLimit: *memLimit})
		if err != nil {
			return err
		}
		t0 := time.Now()
		rr, err := s.PullLatest(ctx, view(srv.URL("bench", "daily/"), partition), day, day.Add(24*time.Hour))
		if err != nil {
			s.Close()
			return err
		}
		var n int64
		for rr.Next() {
			n += rr.RecordBatch().NumRows()
		}
		rr.Release()
		st := s.ObjectStats()
		s.Close()
		label := "date_partition_column dt"
		if partition == "" {
			label = "no partition column (footers only)"
		}
		fmt.Printf("  one day, %s: %d rows in %.2f s; %d objects listed, %d footers and %d objects read, %d bytes = %.3f%% of the dataset\n",
			label, n, time.Since(t0).Seconds(), st.Listed, st.FootersRead, st.ObjectsRead, st.BytesRead, 100*float64(st.BytesRead)/float64(dataset))
	}

	// Part 3: the same days as row groups of one object.
	one := filepath.Join(dir, "year.parquet")
	size, err := writeRowGroupPerDay(one)
	if err != nil {
		return err
	}
	if err := srv.PutFile("bench", "year/year.parquet", one); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := duckdb.OpenOptions(ctx, duckdb.Options{MemoryLimit: *memLimit})
	if err != nil {
		return err
	}
	defer s.Close()
	t0 := time.Now()
	rr, err := s.PullLatest(ctx, view(srv.URL("bench", "year/year.parquet"), ""), day, day.Add(24*time.Hour))
	if err != nil {
		return err
	}
	var n int64
	for rr.Next() {
		n += rr.RecordBatch().NumRows()
	}
	rr.Release()
	st := s.ObjectStats()
	fmt.Printf("part 3: one object of %d row groups (one a day, %.1f MiB); one day: %d rows in %.2f s; %d row groups skipped, %d bytes read = %.3f%% of the object\n",
		*days, float64(size)/(1<<20), n, time.Since(t0).Seconds(), st.PrunedRowGroups, st.BytesRead, 100*float64(st.BytesRead)/float64(size))
	return nil
}

// writeRowGroupPerDay writes part 2's days to one Parquet file, one row
// group a day.
func writeRowGroupPerDay(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return 0, err
	}
	for d := range *days {
		day := start.AddDate(0, 0, d)
		rng := rand.New(rand.NewPCG(uint64(1000+d), 7))
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := range *dayRows {
			b.Field(0).(*array.Int64Builder).Append(int64(rng.IntN(*drivers)))
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(day.Add(time.Duration(i) * (24 * time.Hour / time.Duration(*dayRows))).UnixMicro()))
			b.Field(2).(*array.Float64Builder).Append(rng.Float64())
			b.Field(3).(*array.Int64Builder).Append(int64(rng.IntN(500)))
		}
		rec := b.NewRecordBatch()
		b.Release()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			return 0, err
		}
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
