package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

// BenchmarkBulkLoad writes batches of 5,000 new entities × 10 double
// features, the shape the in-process materialization engine sends: each op
// is one batch, so the table grows with b.N (run it with -benchtime=200x
// for 1M entities, as bench/materialize -rows 1000000 does).
func BenchmarkBulkLoad(b *testing.B) {
	const batch = 5000
	ctx := context.Background()
	s := openTemp(b)
	project, fv, feats := onlinetest.BenchView(b, s)
	ts := time.Unix(1_700_000_000, 0).UTC()
	rows := make([]online.Row, batch)
	vals := make([]types.Value, batch*len(feats))
	for i := range rows {
		rows[i].Values = make([]*types.Value, len(feats))
		for f := range feats {
			v := &vals[i*len(feats)+f]
			v.Val = &types.Value_DoubleVal{DoubleVal: float64(i) + float64(f)/10}
			rows[i].Values[f] = v
		}
		rows[i].EventTS, rows[i].CreatedTS = ts, ts
	}
	next := int64(0)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i := range rows {
			rows[i].EntityKey = onlinetest.DriverKey(b, next)
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
