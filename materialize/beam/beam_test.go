package beam

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/redis/rueidis"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/onlinestore"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/duckdb"
	offlinepg "github.com/feastgo/feast/offline/postgres"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/sqlite"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

// dataset is generated Parquet data: several files, several row groups per
// file, each entity's rows scattered across files in random order, some
// pairs sharing an event timestamp (created timestamp decides, a missing
// one losing), rows outside the interval and rows with a null key.
type dataset struct {
	dir        string
	start, end time.Time
	entities   int // entities with at least one row in [start, end]
	rows       int64
}

func genDataset(t testing.TB, dir string, files, groupsPerFile, rowsPerGroup, entities int) dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := dataset{dir: dir, start: base.Add(time.Hour), end: base.Add(24 * time.Hour)}
	type row struct {
		id      int64
		nullKey bool
		ets     time.Time
		cts     time.Time
		noCTS   bool
		conv    float32
		acc     float64
		trips   int64
		name    string
		noName  bool
	}
	total := files * groupsPerFile * rowsPerGroup
	rows := make([]row, 0, total)
	for len(rows) < total {
		id := int64(rng.IntN(entities))
		// Microsecond timestamps, unique per (entity, event ts) pair below.
		ets := base.Add(time.Duration(rng.Int64N(int64(26*time.Hour/time.Microsecond))) * time.Microsecond)
		r := row{id: id, ets: ets, cts: ets.Add(time.Duration(rng.IntN(1000)) * time.Millisecond),
			conv: rng.Float32(), acc: rng.Float64(), trips: rng.Int64N(1000), name: fmt.Sprintf("n%d", rng.IntN(50)), noName: rng.IntN(10) == 0}
		rows = append(rows, r)
		if rng.IntN(4) == 0 { // a twin with the same event ts, other created ts
			tw := r
			tw.cts = r.cts.Add(time.Duration(1+rng.IntN(1000)) * time.Millisecond)
			tw.conv, tw.trips = rng.Float32(), rng.Int64N(1000)
			if rng.IntN(3) == 0 {
				r.noCTS = true // the original loses: a missing created ts sorts last
				rows[len(rows)-1] = r
			}
			rows = append(rows, tw)
		}
		if rng.IntN(50) == 0 {
			rows = append(rows, row{id: id, nullKey: true, ets: ets, cts: ets, conv: 1})
		}
	}
	rows = rows[:total]
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	seen := map[int64]bool{}
	for _, r := range rows {
		if !r.nullKey && !r.ets.Before(ds.start) && !r.ets.After(ds.end) {
			seen[r.id] = true
			ds.rows++
		}
	}
	ds.entities = len(seen)

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
	per := groupsPerFile * rowsPerGroup
	for f := 0; f < files; f++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for _, r := range rows[f*per : (f+1)*per] {
			if r.nullKey {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.Int64Builder).Append(r.id)
			}
			b.Field(1).(*array.Float32Builder).Append(r.conv)
			b.Field(2).(*array.Float64Builder).Append(r.acc)
			b.Field(3).(*array.Int64Builder).Append(r.trips)
			if r.noName {
				b.Field(4).AppendNull()
			} else {
				b.Field(4).(*array.StringBuilder).Append(r.name)
			}
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ets.UnixMicro()))
			if r.noCTS {
				b.Field(6).AppendNull()
			} else {
				b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(r.cts.UnixMicro()))
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%03d.parquet", f)))
		if err != nil {
			t.Fatal(err)
		}
		w, err := pqarrow.NewFileWriter(schema, out, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rowsPerGroup))), pqarrow.DefaultWriterProps())
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
	return ds
}

func testView(dir string) *model.FeatureView {
	return &model.FeatureView{
		Name:          "driver_stats",
		Entities:      []string{"driver"},
		EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
		Features: []model.Field{
			{Name: "conv_rate", Type: model.Float},
			{Name: "acc_rate", Type: model.Double},
			{Name: "avg_daily_trips", Type: model.Int64},
			{Name: "name", Type: model.String},
		},
		Online: true,
		Source: &model.DataSource{
			Name: "driver_stats_source", Kind: model.SourceFile, Path: dir, FileFormat: "parquet",
			TimestampField: "event_timestamp", CreatedTimestampColumn: "created",
			FieldMapping: map[string]string{"acc": "acc_rate"},
		},
	}
}

// countingProgress records what the engine reports.
type countingProgress struct {
	started, done                atomic.Int32
	read, written, skipped, adds atomic.Int64
}

func (p *countingProgress) Start(string, int64) { p.started.Add(1) }
func (p *countingProgress) Add(_ string, r, w, s int64) {
	p.adds.Add(1)
	p.read.Add(r)
	p.written.Add(w)
	p.skipped.Add(s)
}
func (p *countingProgress) Done(string, materialize.Stats, error) { p.done.Add(1) }

func runLocal(t *testing.T, ds dataset, project string, dst online.Writer) materialize.Stats {
	t.Helper()
	ctx := context.Background()
	src, err := duckdb.Open(ctx, config.OfflineStoreConfig{Type: "duckdb"}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st, err := materialize.NewLocal(src, dst, materialize.LocalOptions{BatchSize: 500}).
		Materialize(ctx, materialize.Task{Project: project, View: testView(ds.dir), Start: ds.start, End: ds.end}, &countingProgress{})
	if err != nil {
		t.Fatalf("local engine: %v", err)
	}
	return st
}

func runBeam(t *testing.T, e *Engine, ds dataset, project string) (materialize.Stats, *countingProgress) {
	t.Helper()
	p := &countingProgress{}
	st, err := e.Materialize(context.Background(), materialize.Task{Project: project, View: testView(ds.dir), Start: ds.start, End: ds.end}, p)
	if err != nil {
		t.Fatalf("beam engine: %v", err)
	}
	if p.started.Load() != 1 || p.done.Load() != 1 {
		t.Errorf("progress: %d starts, %d dones; want 1 and 1", p.started.Load(), p.done.Load())
	}
	if p.read.Load() != st.RowsRead || p.written.Load() != st.RowsWritten || p.skipped.Load() != st.RowsSkipped {
		t.Errorf("progress totals read=%d written=%d skipped=%d, stats %+v", p.read.Load(), p.written.Load(), p.skipped.Load(), st)
	}
	return st, p
}

// Shared by the tests of this package: generating once keeps the suite fast.
var (
	testData     dataset
	testDataOnce atomic.Bool
)

func data(t *testing.T) dataset {
	t.Helper()
	if !testDataOnce.Load() {
		dir, err := os.MkdirTemp("", "feast-beam-data-")
		if err != nil {
			t.Fatal(err)
		}
		testData = genDataset(t, dir, 3, 4, 2500, 4000)
		testDataOnce.Store(true)
	}
	return testData
}

func dumpSQLite(t *testing.T, path, table string) [][]any {
	t.Helper()
	// The SQLite library the store uses (mattn's "sqlite3"): a second
	// library in this process would not see the stores' locks, and closing
	// its last connection would truncate the shared-memory file their
	// connections have mapped (SIGBUS in the store's checkpointer).
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT entity_key, feature_name, value, value_text, vector_value, event_ts, created_ts FROM "` + table + `" ORDER BY entity_key, feature_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		r := make([]any, 7)
		ptrs := make([]any, 7)
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openSQLite(t *testing.T, path, project string, fv *model.FeatureView) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), config.SQLiteOnlineConfig{Path: path}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), project, []*model.FeatureView{fv}, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func checkSameStats(t *testing.T, ds dataset, local, beamSt materialize.Stats) {
	t.Helper()
	if local.RowsWritten != int64(ds.entities) {
		t.Errorf("local engine wrote %d rows, want one per entity in the interval (%d)", local.RowsWritten, ds.entities)
	}
	if beamSt.RowsWritten != local.RowsWritten || beamSt.RowsSkipped != 0 {
		t.Errorf("beam stats %+v, want %d written and none skipped", beamSt, local.RowsWritten)
	}
	if beamSt.RowsRead != ds.rows {
		t.Errorf("beam read %d rows in the interval, want %d", beamSt.RowsRead, ds.rows)
	}
}

// compareSQLite materializes with both engines into two SQLite files and
// compares every row of the view's table.
func compareSQLite(t *testing.T, newEngine func(t *testing.T, stores Stores) *Engine) {
	ds := data(t)
	dir := t.TempDir()
	project := "beamtest"
	fv := testView(ds.dir)
	pathA, pathB := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	a := openSQLite(t, pathA, project, fv)
	localSt := runLocal(t, ds, project, a)
	a.Close()
	b := openSQLite(t, pathB, project, fv)
	b.Close()

	e := newEngine(t, Stores{Online: config.OnlineStoreConfig{Type: "sqlite", SQLite: config.SQLiteOnlineConfig{Path: pathB}}})
	beamSt, _ := runBeam(t, e, ds, project)
	checkSameStats(t, ds, localSt, beamSt)

	table := sqlite.TableName(project, fv)
	got, want := dumpSQLite(t, pathB, table), dumpSQLite(t, pathA, table)
	if len(want) != ds.entities*len(fv.Features) {
		t.Fatalf("store A has %d rows, want %d", len(want), ds.entities*len(fv.Features))
	}
	if len(got) != len(want) {
		t.Fatalf("store B has %d rows, store A %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d differs:\nbeam  %v\nlocal %v", i, got[i], want[i])
		}
	}

	// A re-run writes nothing: every stored value is as new.
	again, _ := runBeam(t, e, ds, project)
	if again.RowsWritten != 0 || again.RowsSkipped != int64(ds.entities) {
		t.Errorf("re-run stats %+v, want 0 written and %d skipped", again, ds.entities)
	}
}

func prismEngine(t *testing.T, stores Stores) *Engine {
	t.Helper()
	e, err := New(BeamConfig{Runner: RunnerPrism, SplitRows: 5000, ReadBatchRows: 1000, WriteBatchSize: 700}, stores)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPrismMatchesLocalSQLite(t *testing.T) {
	compareSQLite(t, prismEngine)
}

// TestUniversalRunnerJobServer submits through the portable (universal)
// runner to a job server started in this process, the path Flink and Spark
// job servers take.
func TestUniversalRunnerJobServer(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	endpoint, err := StartJobServer(context.Background(), port)
	if err != nil {
		t.Fatal(err)
	}
	compareSQLite(t, func(t *testing.T, stores Stores) *Engine {
		e, err := New(BeamConfig{Runner: RunnerUniversal, Endpoint: endpoint, EnvironmentType: "LOOPBACK", SplitRows: 2500}, stores)
		if err != nil {
			t.Fatal(err)
		}
		return e
	})
}

func redisHashes(t *testing.T, c rueidis.Client, project string) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]map[string]string{}
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match("*"+project).Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range e.Elements {
			if !strings.HasSuffix(k, project) {
				continue
			}
			h, err := c.Do(ctx, c.B().Hgetall().Key(k).Build()).AsStrMap()
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimSuffix(k, project)] = h
		}
		if e.Cursor == 0 {
			return out
		}
		cursor = e.Cursor
	}
}

// redisClient is a raw client for checking and cleaning up what the
// engines wrote.
func redisClient(t *testing.T, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func redisDel(c rueidis.Client, key string) {
	c.Do(context.Background(), c.B().Del().Key(key).Build())
}

func TestPrismMatchesLocalRedis(t *testing.T) {
	addr := testenv.RedisAddr(t)
	ds := data(t)
	ctx := context.Background()
	projA, projB := testenv.UniqueName("beama"), testenv.UniqueName("beamb")
	cfg := config.OnlineStoreConfig{Type: "redis", Redis: config.RedisOnlineConfig{ConnectionString: addr}}
	c := redisClient(t, addr)
	t.Cleanup(c.Close)
	cleanup := func() {
		for _, p := range []string{projA, projB} {
			for k := range redisHashes(t, c, p) {
				redisDel(c, k+p)
			}
		}
	}
	t.Cleanup(cleanup)

	a, err := onlinestore.Open(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	localSt := runLocal(t, ds, projA, a)
	a.Close()
	beamSt, _ := runBeam(t, prismEngine(t, Stores{Online: cfg}), ds, projB)
	checkSameStats(t, ds, localSt, beamSt)

	want, got := redisHashes(t, c, projA), redisHashes(t, c, projB)
	if len(want) != ds.entities {
		t.Fatalf("redis A has %d entity keys, want %d", len(want), ds.entities)
	}
	if len(got) != len(want) {
		t.Fatalf("redis B has %d entity keys, A %d", len(got), len(want))
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Fatalf("entity %x differs:\nbeam  %q\nlocal %q", k, got[k], want[k])
		}
	}
}

func TestUnreachableOnlineStoreFails(t *testing.T) {
	ds := data(t)
	port, err := freePort() // nothing listens there any more
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.OnlineStoreConfig{Type: "redis", Redis: config.RedisOnlineConfig{ConnectionString: fmt.Sprintf("127.0.0.1:%d", port)}}
	e := prismEngine(t, Stores{Online: cfg})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := &countingProgress{}
	_, err = e.Materialize(ctx, materialize.Task{Project: "x", View: testView(ds.dir), Start: ds.start, End: ds.end}, p)
	if err == nil {
		t.Fatal("materialize into an unreachable redis succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("the failure was only noticed by the deadline: %v", err)
	}
	if p.done.Load() != 1 {
		t.Errorf("progress Done called %d times, want 1", p.done.Load())
	}
	t.Logf("error: %v", err)
}

func TestMissingSourceFails(t *testing.T) {
	e := prismEngine(t, Stores{Online: config.OnlineStoreConfig{Type: "sqlite"}})
	fv := testView(filepath.Join(t.TempDir(), "nothing", "*.parquet"))
	_, err := e.Materialize(context.Background(), materialize.Task{Project: "x", View: fv, Start: time.Unix(0, 0), End: time.Now()}, &countingProgress{})
	if err == nil || !strings.Contains(err.Error(), "no parquet files") {
		t.Fatalf("got %v, want a no parquet files error", err)
	}
}

// TestPostgresSplitsMatchLocal reads a PostgreSQL source in key-hash
// buckets and compares with the in-process engine over the same table.
func TestPostgresSplitsMatchLocal(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	offCfg := config.OfflineStoreConfig{Type: "postgres", Postgres: config.PostgresConfig{DSN: dsn}}
	pg, err := offlinepg.Open(ctx, offCfg.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	table := testenv.UniqueName("beam_src")
	_, err = pg.Pool().Exec(ctx, `SELECT setseed(0.42); CREATE TABLE `+table+` AS
		SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE (i * 7919) % 800 END::bigint AS driver_id,
		       random()::real AS conv_rate, random() AS acc, (random() * 1000)::bigint AS avg_daily_trips,
		       CASE WHEN i % 11 = 0 THEN NULL ELSE 'n' || (i % 37) END AS name,
		       timestamptz '2024-01-01 00:00:00+00' + (i % 5000) * interval '17 seconds' AS event_timestamp,
		       CASE WHEN i % 13 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + random() * interval '1 day' END AS created
		FROM generate_series(1, 20000) AS i`)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Pool().Exec(context.Background(), "DROP TABLE IF EXISTS "+table) })

	fv := testView("")
	fv.Source = &model.DataSource{Name: "pg_src", Kind: model.SourcePostgres, Table: table,
		TimestampField: "event_timestamp", CreatedTimestampColumn: "created", FieldMapping: map[string]string{"acc": "acc_rate"}}
	start, end := time.Date(2024, 1, 1, 2, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 20, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	project := "beampg"
	pathA, pathB := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	a := openSQLite(t, pathA, project, fv)
	localSt, err := materialize.NewLocal(pg, a, materialize.LocalOptions{}).Materialize(ctx, materialize.Task{Project: project, View: fv, Start: start, End: end}, &countingProgress{})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	openSQLite(t, pathB, project, fv).Close()
	e, err := New(BeamConfig{PostgresSplits: 5}, Stores{Online: config.OnlineStoreConfig{Type: "sqlite", SQLite: config.SQLiteOnlineConfig{Path: pathB}}, Offline: offCfg})
	if err != nil {
		t.Fatal(err)
	}
	beamSt, err := e.Materialize(ctx, materialize.Task{Project: project, View: fv, Start: start, End: end}, &countingProgress{})
	if err != nil {
		t.Fatal(err)
	}
	if localSt.RowsWritten == 0 || beamSt.RowsWritten != localSt.RowsWritten || beamSt.RowsRead != localSt.RowsRead {
		t.Fatalf("beam %+v, local %+v", beamSt, localSt)
	}
	got, want := dumpSQLite(t, pathB, sqlite.TableName(project, fv)), dumpSQLite(t, pathA, sqlite.TableName(project, fv))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stores differ: beam %d rows, local %d rows", len(got), len(want))
	}
}
