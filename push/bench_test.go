package push_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/push"
)

// BenchmarkPushRedis measures rows/s through Push (online mode) into Redis
// in batches of 1, 100 and 10,000 rows. Each iteration pushes newer event
// timestamps, so every row is written.
//
//	go test -run '^$' -bench BenchmarkPushRedis -benchtime 3s ./push
func BenchmarkPushRedis(b *testing.B) {
	addr := testenv.RedisAddr(b)
	fs, _ := pushRepo(b, "  type: redis\n  connection_string: "+addr+"\n")
	b.Cleanup(func() { fs.Teardown(context.Background()) })
	p, err := push.New(fs, push.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// ts advances across every run of every sub-benchmark, so each push is
	// newer than everything before it and every row is written.
	ts := t0
	for _, size := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
			ids := make([]any, size)
			rates := make([]any, size)
			trips := make([]any, size)
			for i := range ids {
				ids[i] = int64(i)
				rates[i] = float64(i) / float64(size)
				trips[i] = int64(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ts = ts.Add(time.Second)
				tss := make([]any, size)
				for j := range tss {
					tss[j] = ts
				}
				_, err := p.Push(ctx, push.Request{Source: "stats_push", Records: push.Records{Columns: map[string][]any{
					"driver_id": ids, "event_timestamp": tss, "conv_rate": rates, "acc_rate": rates, "avg_daily_trips": trips,
				}}})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
