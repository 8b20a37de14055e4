package values

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

func intColumn(n int) []byte {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Itoa(1000 + i)
	}
	return []byte("[" + strings.Join(parts, ", ") + "]")
}

func stringColumn(n int) []byte {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Quote("driver-" + strconv.Itoa(i))
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

func BenchmarkDecodeColumn(b *testing.B) {
	cases := []struct {
		name string
		raw  []byte
		vt   model.ValueType
	}{
		{"int64x1", intColumn(1), model.Int64},
		{"int64x100", intColumn(100), model.Int64},
		{"stringx100", stringColumn(100), model.String},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.raw)))
			for b.Loop() {
				if _, err := DecodeColumn(c.raw, c.vt); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Baseline: what a handler built on encoding/json would do.
		b.Run(c.name+"/stdlib-any", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.raw)))
			for b.Loop() {
				var xs []any
				if err := json.Unmarshal(c.raw, &xs); err != nil {
					b.Fatal(err)
				}
				out := make([]*types.Value, len(xs))
				for i, x := range xs {
					v, err := FromGo(x, c.vt)
					if err != nil {
						b.Fatal(err)
					}
					out[i] = v
				}
			}
		})
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	vals := []*types.Value{i64(1001), f64(0.7123), f32(0.25), str("driver-1"), bol(true), ts(1652439582), null(),
		f64(12345.678), i32(3), f64(1e-7)}
	buf := make([]byte, 0, 1024)
	now := time.Date(2021, 12, 31, 23, 0, 0, 123000000, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, v := range vals {
			buf = AppendJSON(buf, v)
			buf = AppendTimestampJSON(buf, now)
		}
	}
}

func BenchmarkColumnFromArrow(b *testing.B) {
	mem := memory.NewGoAllocator()
	bld := array.NewInt64Builder(mem)
	for i := 0; i < 10000; i++ {
		bld.Append(int64(i))
	}
	col := bld.NewArray()
	defer col.Release()
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	for i := 0; i < 10000; i++ {
		tb.Append(arrow.Timestamp(int64(i) * 1_000_000))
	}
	tcol := tb.NewArray()
	defer tcol.Release()
	b.Run("int64x10000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ColumnFromArrow(col, model.Int64); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("int64x10000/per-row", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := 0; i < col.Len(); i++ {
				if _, err := FromArrow(col, i, model.Int64); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("timestamp-usx10000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ColumnFromArrow(tcol, model.UnixTimestamp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
