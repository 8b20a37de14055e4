package examples

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// DemoDrivers are the driver ids the demo data holds.
var DemoDrivers = []int64{1001, 1002, 1003, 1004, 1005}

// WriteRepo writes the demo repository into dir (which must not hold a
// feature_store.yaml yet): the template files and generated data with one
// row per driver per hour over the 7 days before now.
func WriteRepo(dir, project string, now time.Time) error {
	if _, err := os.Stat(filepath.Join(dir, "feature_store.yaml")); err == nil {
		return fmt.Errorf("%s already holds a feature_store.yaml; choose another directory", dir)
	}
	err := fs.WalkDir(DriverRanking, "driver_ranking", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "driver_ranking"), "/")
		target := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := DriverRanking.ReadFile(p)
		if err != nil {
			return err
		}
		data = []byte(strings.ReplaceAll(string(data), "{{PROJECT}}", project))
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("write demo repository: %w", err)
	}
	// The batch source is a folder, so offline pushes can add files to it.
	if err := os.MkdirAll(filepath.Join(dir, "data", "driver_stats"), 0o755); err != nil {
		return err
	}
	if err := WriteDriverStats(filepath.Join(dir, "data", "driver_stats", "part-00000.parquet"), DemoDrivers, now.Add(-7*24*time.Hour), now, time.Hour, 42); err != nil {
		return err
	}
	return writeEntities(filepath.Join(dir, "data", "driver_entities.csv"), now)
}

// DriverStatsSchema is the schema of the generated driver statistics.
var DriverStatsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "created", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "conv_rate", Type: arrow.PrimitiveTypes.Float32},
	{Name: "acc_rate", Type: arrow.PrimitiveTypes.Float32},
	{Name: "avg_daily_trips", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// WriteDriverStats writes one row per driver per step in [start, end) to a
// Parquet file, in row groups of bounded size, with values drawn from a
// seeded generator (the same seed gives the same values).
func WriteDriverStats(path string, drivers []int64, start, end time.Time, step time.Duration, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(DriverStatsSchema, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(1<<20)), pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := array.NewRecordBuilder(memory.DefaultAllocator, DriverStatsSchema)
	defer b.Release()
	n := 0
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		n = 0
		return w.Write(rec)
	}
	start = start.Truncate(step)
	for ts := start; ts.Before(end); ts = ts.Add(step) {
		for _, d := range drivers {
			b.Field(0).(*array.Int64Builder).Append(d)
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.Add(time.Minute).UnixMicro()))
			b.Field(3).(*array.Float32Builder).Append(rng.Float32())
			b.Field(4).(*array.Float32Builder).Append(rng.Float32())
			b.Field(5).(*array.Int64Builder).Append(int64(rng.IntN(1000)))
			n++
			if n == 64*1024 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if n > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	return w.Close()
}

func writeEntities(path string, now time.Time) error {
	var b strings.Builder
	b.WriteString("driver_id,event_timestamp,val_to_add,val_to_add_2\n")
	for i, d := range DemoDrivers {
		ts := now.Add(-time.Duration(i*6) * time.Hour).UTC().Truncate(time.Second)
		fmt.Fprintf(&b, "%d,%s,%d,%d\n", d, ts.Format("2006-01-02 15:04:05"), i+1, 10*(i+1))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
