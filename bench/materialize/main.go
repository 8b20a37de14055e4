// Command materialize benchmarks materialization: it generates a Parquet
// source with one row per entity and 10 features, applies a repository
// using it, materializes it into Redis, SQLite or PostgreSQL with the
// in-process engine,
// and reports rows/s and peak RSS. For Redis it also runs
// `redis-benchmark -P 16` HSET in the same run as the store's write limit.
//
//	go run ./bench/materialize -rows 1000000 -store redis
//	go run ./bench/materialize -rows 10000000 -entities 1000000 -store redis
//	go run ./bench/materialize -rows 10000000 -store sqlite
//	go run ./bench/materialize -rows 1000000 -store postgres
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jackc/pgx/v5"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/materialize"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "source rows")
	entities := flag.Int("entities", 0, "distinct entities (row r has entity r mod entities); default one row per entity")
	store := flag.String("store", "sqlite", "online store: sqlite, redis or postgres")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "redis address")
	pgDSN := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "with -store postgres: the database (a schema named after the project, dropped afterwards)")
	keep := flag.Bool("keep", false, "keep the generated repository")
	memLimit := flag.String("duckdb-memory", "", "offline_store memory_limit (default: the store's default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of materialization to this file")
	update := flag.Bool("update", false, "then rewrite the source an hour later (new values for every entity) and materialize again: every row an update, as an hourly materialize-incremental")
	flag.Parse()

	dir, err := os.MkdirTemp("", "feast-bench-materialize-")
	if err != nil {
		log.Fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	end := time.Now().UTC().Truncate(time.Hour)
	t0 := time.Now()
	if *entities <= 0 {
		*entities = *rows
	}
	if err := generate(filepath.Join(dir, "data", "source.parquet"), *rows, *entities, end); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("generated %d rows of %d entities in %s\n", *rows, *entities, time.Since(t0).Round(time.Millisecond))
	project := fmt.Sprintf("bench_%d", os.Getpid())
	online := "online_store: {type: sqlite, path: data/online.db}"
	switch *store {
	case "redis":
		online = fmt.Sprintf("online_store: {type: redis, connection_string: %q}", *redisAddr)
	case "postgres":
		online = fmt.Sprintf("online_store: {type: postgres, dsn: %q, db_schema: %s}", *pgDSN, project)
	}
	offlineYAML := ""
	if *memLimit != "" {
		offlineYAML = fmt.Sprintf("offline_store: {type: duckdb, memory_limit: %q}\n", *memLimit)
	}
	os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte("project: "+project+"\nregistry: data/registry.db\n"+online+"\n"+offlineYAML), 0o644)
	var schema strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&schema, "      - {name: f%d, dtype: Float64}\n", i)
	}
	os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(`entities:
  - {name: entity, join_keys: [entity_id], value_type: INT64}
data_sources:
  - {name: src, type: file, path: data/source.parquet, timestamp_field: event_timestamp}
feature_views:
  - name: bench
    entities: [entity]
    ttl: 2d
    source: src
    schema:
`+schema.String()), 0o644)

	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer fs.Close()
	p, err := fs.Plan(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		log.Fatal(err)
	}
	// Peak RSS counts from here: materialization only, not the generator.
	fmt.Printf("rss before materialize: %s (peak so far %s)\n", rss("VmRSS:"), peakRSS())
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		log.Printf("cannot reset the peak RSS counter: %v", err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	var walPeak atomic.Int64
	stopWAL := make(chan struct{})
	if *store == "sqlite" {
		// The WAL's largest size during the run (sampled every 50ms).
		go func() {
			for {
				if fi, err := os.Stat(filepath.Join(dir, "data", "online.db-wal")); err == nil && fi.Size() > walPeak.Load() {
					walPeak.Store(fi.Size())
				}
				select {
				case <-stopWAL:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	// round materializes [end-24h, to] and prints its rate, labelled.
	round := func(label string, to time.Time) float64 {
		start := time.Now()
		ph := &phases{start: start}
		res, err := fs.Materialize(ctx, end.Add(-24*time.Hour), to, feast.MaterializeOptions{Progress: ph})
		if err != nil {
			log.Fatal(err)
		}
		took := time.Since(start)
		st := res[0].Stats
		rate := float64(st.RowsWritten) / took.Seconds()
		fmt.Printf("%sstore=%s rows=%d written=%d skipped=%d time=%s rate=%.0f rows/s peak_rss=%s\n",
			label, *store, st.RowsRead, st.RowsWritten, st.RowsSkipped, took.Round(time.Millisecond), rate, peakRSS())
		ph.print(took, st.RowsWritten)
		return rate
	}
	rate := round("", end)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *update {
		later := end.Add(time.Hour)
		if err := generate(filepath.Join(dir, "data", "source.parquet"), *rows, *entities, later); err != nil {
			log.Fatal(err)
		}
		round("update: ", later)
	}
	close(stopWAL)
	if *store == "sqlite" {
		fmt.Printf("largest online.db-wal seen: %d MiB\n", walPeak.Load()>>20)
	}
	if *store == "redis" {
		if base, err := redisBaseline(*redisAddr, 200_000); err == nil {
			fmt.Printf("redis-benchmark -P 16 HSET (10 fields): %.0f requests/s; materialize/baseline = %.2f\n", base, rate/base)
		} else {
			fmt.Printf("redis baseline unavailable: %v\n", err)
		}
	}
	if *store != "sqlite" {
		if err := fs.Teardown(ctx); err != nil {
			log.Printf("teardown: %v", err)
		}
	}
	if *store == "postgres" {
		if conn, err := pgx.Connect(ctx, *pgDSN); err != nil {
			log.Printf("drop schema %s: %v", project, err)
		} else {
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+project); err != nil {
				log.Printf("drop schema %s: %v", project, err)
			}
			conn.Close(ctx)
		}
	}
}

// generate writes n rows (row r has entity_id r mod entities, 10 float
// features) in row groups of 128k rows, never holding more than one group
// in memory.
func generate(path string, n, entities int, end time.Time) error {
	os.MkdirAll(filepath.Dir(path), 0o755)
	fields := []arrow.Field{{Name: "entity_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}}
	for i := 0; i < 10; i++ {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("f%d", i), Type: arrow.PrimitiveTypes.Float64})
	}
	schema := arrow.NewSchema(fields, nil)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(128*1024)), pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(end.Unix()), 2))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	const group = 128 * 1024
	for s := 0; s < n; s += group {
		for r := s; r < min(n, s+group); r++ {
			b.Field(0).(*array.Int64Builder).Append(int64(r % entities))
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(end.Add(-time.Duration(1+rng.IntN(3600)) * time.Second).UnixMicro()))
			for i := 0; i < 10; i++ {
				b.Field(2 + i).(*array.Float64Builder).Append(rng.Float64())
			}
		}
		rec := b.NewRecordBatch()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return w.Close()
}

func peakRSS() string { return rss("VmHWM:") }

// rss reads a memory line of /proc/self/status.
func rss(field string) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), field) {
			kb, _ := strconv.Atoi(strings.Fields(sc.Text())[1])
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "?"
}

var rpsRE = regexp.MustCompile(`([\d.]+) requests per second`)

// redisBaseline runs redis-benchmark with 16-deep pipelining, HSET of 10
// fields on random keys: the same command shape materialization sends.
func redisBaseline(addr string, n int) (float64, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-h", host, "-p", port, "-n", strconv.Itoa(n), "-P", "16", "-r", "1000000", "-q",
		"HSET", "feast_bench:__rand_int__", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6", "g", "7", "h", "8", "i", "9", "j", "10"}
	out, err := exec.Command("redis-benchmark", args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("unexpected output: %s", out)
	}
	exec.Command("redis-cli", "-h", host, "-p", port, "--scan", "--pattern", "feast_bench:*").Run()
	return strconv.ParseFloat(string(m[1]), 64)
}

// phases records when the offline query answered and when the first and
// last rows reached the online store, to tell the offline side's time from
// the store's.
type phases struct {
	start        time.Time
	mu           sync.Mutex
	query, first time.Duration
	firstWritten int64
	written      int64
}

func (p *phases) Start(string, int64) {
	p.mu.Lock()
	p.query = time.Since(p.start)
	p.mu.Unlock()
}

func (p *phases) Add(_ string, _, written, _ int64) {
	if written == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first == 0 {
		p.first, p.firstWritten = time.Since(p.start), written
	}
	p.written += written
}

func (p *phases) Done(string, materialize.Stats, error) {}

func (p *phases) print(total time.Duration, written int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	steady := total - p.first
	fmt.Printf("phases: offline query answered at %s, first batch written at %s; after it %.0f rows/s\n",
		p.query.Round(time.Millisecond), p.first.Round(time.Millisecond), float64(written-p.firstWritten)/steady.Seconds())
}
