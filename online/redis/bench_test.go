package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
)

func BenchmarkStore(b *testing.B) {
	onlinetest.Bench(b, func(b *testing.B) online.Store { return openStore(b, config.RedisOnlineConfig{}) })
}

// BenchmarkRaw is the baseline: the same commands issued directly with
// the same client, without the store (no conditional script on writes, no
// decoding on reads).
func BenchmarkRaw(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, config.RedisOnlineConfig{})
	raw := rawClient(b).c
	project, fv, feats := onlinetest.BenchView(b, s)
	fields := make([]string, len(feats))
	for i, f := range feats {
		fields[i] = string(online.RedisFieldHash(fv.Name, f))
	}
	tsField := TimestampField(fv.Name)
	rows := onlinetest.BenchRows(b, 10_000, time.Unix(1_700_000_000, 0))
	keys := make([]string, len(rows))
	vals := make([][][]byte, len(rows))
	for i, r := range rows {
		keys[i] = string(Key(r.EntityKey, project))
		for _, v := range r.Values {
			bv, _ := proto.Marshal(v)
			vals[i] = append(vals[i], bv)
		}
	}
	b.Run("HSET10kx10", func(b *testing.B) {
		for b.Loop() {
			cmds := make(rueidis.Commands, 0, len(keys))
			for i, k := range keys {
				args := make([]string, 0, 2+2*len(fields))
				args = append(args, tsField, "ts")
				for f, field := range fields {
					args = append(args, field, rueidis.BinaryString(vals[i][f]))
				}
				cmds = append(cmds, raw.B().Arbitrary("HSET").Keys(k).Args(args...).Build())
			}
			for _, r := range raw.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(keys))/b.Elapsed().Seconds(), "rows/s")
	})
	hmgetFields := append(append([]string{}, fields...), tsField)
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("HMGET%dx10", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cmds := make(rueidis.Commands, 0, n)
				for _, k := range keys[:n] {
					cmds = append(cmds, raw.B().Hmget().Key(k).Field(hmgetFields...).Build())
				}
				resps := raw.DoMulti(ctx, cmds...)
				if vals, err := resps[n-1].ToArray(); err != nil || vals[0].IsNil() {
					b.Fatal("not found", err)
				}
			}
		})
	}
}

// BenchmarkBulkLoad: see onlinetest.BulkLoad.
func BenchmarkBulkLoad(b *testing.B) {
	onlinetest.BulkLoad(b, func(b *testing.B) online.Store { return openStore(b, config.RedisOnlineConfig{}) })
}
