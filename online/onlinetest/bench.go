package onlinetest

import (
	"context"
	"fmt"
	"math/bits"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// BenchFeatures is the number of features of the benchmark view.
const BenchFeatures = 10

// BenchView creates a unique project and a view with BenchFeatures Double
// features (f0..f9) for benchmarks, and returns the feature names.
func BenchView(tb testing.TB, s online.Store) (string, *model.FeatureView, []string) {
	tb.Helper()
	project, views := Setup(tb, s, 1)
	fv := views[0]
	feats := make([]string, BenchFeatures)
	for i := range feats {
		feats[i] = fmt.Sprintf("f%d", i)
		fv.Features = append(fv.Features, model.Field{Name: feats[i], Type: model.Double})
	}
	return project, fv, feats
}

// BenchRows returns n rows of BenchFeatures double values at ts.
func BenchRows(tb testing.TB, n int, ts time.Time) []online.Row {
	tb.Helper()
	rows := make([]online.Row, n)
	for i := range rows {
		vals := make([]*types.Value, BenchFeatures)
		for f := range vals {
			vals[f] = Float64(float64(i*BenchFeatures + f))
		}
		rows[i] = online.Row{EntityKey: DriverKey(tb, int64(i)), Values: vals, EventTS: ts, CreatedTS: ts}
	}
	return rows
}

// Bench runs the standard online-store benchmarks: Write of 10k rows x 10
// features per op (each op newer than the last, so nothing is skipped), and
// Read of 1, 10 and 100 entities x 10 features per op.
func Bench(b *testing.B, open func(b *testing.B) online.Store) {
	ctx := context.Background()
	b.Run("Write10kx10", func(b *testing.B) {
		s := open(b)
		project, fv, feats := BenchView(b, s)
		rows := BenchRows(b, 10_000, base)
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			ts := base.Add(time.Duration(i+1) * time.Second)
			for r := range rows {
				rows[r].EventTS = ts
			}
			st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: feats, Rows: rows})
			if err != nil {
				b.Fatal(err)
			}
			if st.Written != len(rows) {
				b.Fatalf("stats %+v", st)
			}
		}
		b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
	})
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("Read%dx10", n), func(b *testing.B) {
			s := open(b)
			project, fv, feats := BenchView(b, s)
			rows := BenchRows(b, 100, base)
			if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: feats, Rows: rows}); err != nil {
				b.Fatal(err)
			}
			keys := make([][]byte, n)
			for i := range keys {
				keys[i] = rows[i].EntityKey
			}
			reqs := []online.ReadRequest{{Project: project, View: fv, Features: feats, EntityKeys: keys}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := s.Read(ctx, reqs)
				if err != nil {
					b.Fatal(err)
				}
				if !res[0][n-1][BenchFeatures-1].Found {
					b.Fatal("not found")
				}
			}
		})
	}
}

// BulkLoad writes batches of 5,000 new entities × BenchFeatures double
// features, the shape the in-process materialization engine sends: each op
// is one batch into the same table, so the table grows with b.N. The
// entities come in hash order, as the latest-row query returns them (ids
// scattered by a multiplicative hash), or in the byte order of their serialized keys, as
// materialization pulls them for stores that prefer it
// (online.KeyOrderWriter).
func BulkLoad(b *testing.B, open func(b *testing.B) online.Store) {
	b.Run("order=hash", func(b *testing.B) {
		bulkLoad(b, open(b), func(i int64) int64 { return int64(uint32(i) * 2654435761) })
	})
	b.Run("order=key", func(b *testing.B) {
		// The serialization writes an int64 little-endian: byte-reversed
		// counting makes the keys' bytes count up.
		bulkLoad(b, open(b), func(i int64) int64 { return int64(bits.ReverseBytes64(uint64(i))) })
	})
}

func bulkLoad(b *testing.B, s online.Store, id func(i int64) int64) {
	const batch = 5000
	ctx := context.Background()
	project, fv, feats := BenchView(b, s)
	rows := make([]online.Row, batch)
	vals := make([]types.Value, batch*len(feats))
	for i := range rows {
		rows[i].Values = make([]*types.Value, len(feats))
		for f := range feats {
			v := &vals[i*len(feats)+f]
			v.Val = &types.Value_DoubleVal{DoubleVal: float64(i) + float64(f)/10}
			rows[i].Values[f] = v
		}
		rows[i].EventTS, rows[i].CreatedTS = base, base
	}
	next := int64(0)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i := range rows {
			rows[i].EntityKey = DriverKey(b, id(next))
			next++
		}
		b.StartTimer()
		st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: feats, Rows: rows})
		if err != nil {
			b.Fatal(err)
		}
		if st.Written != batch {
			b.Fatalf("stats %+v", st)
		}
	}
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "entities/s")
	b.ReportMetric(float64(next)*float64(len(feats))/b.Elapsed().Seconds(), "sqlrows/s")
}
