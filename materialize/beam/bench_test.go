package beam

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/onlinestore"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

// TestEngineBenchmark compares the in-process engine and the Beam engine on
// prism materializing the same generated Parquet data into Redis. It runs
// one step per process so that peak memory (VmHWM) is the engine's own:
//
//	D=/tmp/feast-beam-bench
//	FEAST_BEAM_BENCH=gen   FEAST_BEAM_BENCH_DIR=$D go test -run EngineBenchmark -v ./materialize/beam
//	FEAST_BEAM_BENCH=local FEAST_BEAM_BENCH_DIR=$D go test -run EngineBenchmark -v ./materialize/beam
//	FEAST_BEAM_BENCH=beam  FEAST_BEAM_BENCH_DIR=$D go test -run EngineBenchmark -v ./materialize/beam
//
// FEAST_BEAM_BENCH_ROWS sets the row count of gen (default 1,000,000).
// FEAST_BEAM_BENCH_SOURCE=s3 makes local and beam read the same files from
// the S3 stand-in started in the process (uploaded before the clock starts).
func TestEngineBenchmark(t *testing.T) {
	step := os.Getenv("FEAST_BEAM_BENCH")
	if step == "" {
		t.Skip("set FEAST_BEAM_BENCH=gen|local|beam to run the engine benchmark")
	}
	dir := os.Getenv("FEAST_BEAM_BENCH_DIR")
	if dir == "" {
		t.Fatal("set FEAST_BEAM_BENCH_DIR")
	}
	meta := filepath.Join(dir, "dataset.json")
	if step == "gen" {
		rows := 1_000_000
		if s := os.Getenv("FEAST_BEAM_BENCH_ROWS"); s != "" {
			if err := json.Unmarshal([]byte(s), &rows); err != nil {
				t.Fatal(err)
			}
		}
		data := filepath.Join(dir, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		files, groups := 8, 5
		ds := genDataset(t, data, files, groups, rows/(files*groups), rows/10)
		b, _ := json.Marshal(map[string]any{"dir": ds.dir, "start": ds.start, "end": ds.end, "entities": ds.entities, "rows": ds.rows})
		if err := os.WriteFile(meta, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("generated %d rows (%d in the interval, %d entities) in %s", rows, ds.rows, ds.entities, data)
		return
	}
	var m struct {
		Dir        string
		Start, End time.Time
		Entities   int
		Rows       int64
	}
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	addr := testenv.RedisAddr(t)
	ctx := context.Background()
	project := testenv.UniqueName("beambench")
	cfg := config.OnlineStoreConfig{Type: "redis", Redis: config.RedisOnlineConfig{ConnectionString: addr}}
	c := redisClient(t, addr)
	t.Cleanup(func() {
		for k := range redisHashes(t, c, project) {
			redisDel(c, k+project)
		}
		c.Close()
	})
	ds := dataset{dir: m.Dir, start: m.Start, end: m.End, entities: m.Entities, rows: m.Rows}
	source := "files"
	var s3 *fakes3.Server
	if os.Getenv("FEAST_BEAM_BENCH_SOURCE") == "s3" {
		source = "s3"
		s3 = fakes3.Start(t, "bench")
		uploadDir(t, s3, "bench", "data/", m.Dir)
		ds.dir = s3.URL("bench", "data/")
	}
	began := time.Now()
	var st materialize.Stats
	switch step {
	case "local":
		s, err := onlinestore.Open(ctx, cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		st = runLocal(t, ds, project, s)
		s.Close()
	case "beam":
		e, err := New(BeamConfig{Runner: RunnerPrism}, Stores{Online: cfg})
		if err != nil {
			t.Fatal(err)
		}
		st, _ = runBeam(t, e, ds, project)
	default:
		t.Fatalf("unknown step %q", step)
	}
	d := time.Since(began)
	if st.RowsWritten != int64(m.Entities) {
		t.Errorf("wrote %d rows, want %d", st.RowsWritten, m.Entities)
	}
	t.Logf("engine=%s source=%s source_rows_in_interval=%d written=%d duration=%s rows/s(source)=%.0f peak_rss=%s",
		step, source, m.Rows, st.RowsWritten, d.Round(time.Millisecond), float64(m.Rows)/d.Seconds(), peakRSS())
	if s3 != nil {
		t.Logf("s3 GET requests=%d", s3.Gets())
	}
}

// peakRSS reads the process's peak resident set size (Linux).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}
