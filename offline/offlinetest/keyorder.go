package offlinetest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// runKeyOrder checks PullLatestInKeyOrder: the rows of PullLatest, each
// view's serialized entity keys (as materialization serializes them) in
// ascending byte order, for INT64, INT32 and STRING keys alone and
// together.
func runKeyOrder(t *testing.T, b *Backend, p offline.KeyOrderedPuller) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 11))
	ints := []int64{0, 1, -1, 255, 256, 257, 65535, 65536, 1 << 40, -(1 << 40), math.MaxInt64, math.MinInt64,
		math.MaxInt32, math.MinInt32}
	names := []string{"", "a", "b", "ab", "B", "é", "ü", "z", "zz", strings.Repeat("x", 255), strings.Repeat("x", 256),
		strings.Repeat("a", 300), "日本"}
	tbl := &Table{Cols: []Col{{"id64", "int64"}, {"id32", "int32"}, {"name", "string"}, {"ts", "timestamp"}, {"f", "float64"}}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 400 {
		id64 := ints[i%len(ints)]
		if i >= 2*len(ints) {
			id64 = r.Int64() - math.MaxInt64/2
		}
		id32 := int64(int32(r.Uint32() >> (r.IntN(4) * 8)))
		name := names[r.IntN(len(names))]
		if r.IntN(2) == 0 {
			name = fmt.Sprintf("%s%d", name, r.IntN(1000))
		}
		// A few rows repeat an entity at another time: the latest wins.
		for rep := range 1 + r.IntN(2) {
			tbl.Rows = append(tbl.Rows, []any{id64, id32, name, base.Add(time.Duration(r.IntN(100)+rep) * time.Minute), r.Float64()})
		}
	}
	ds := b.CreateSource(t, "keyorder", tbl)
	ds.Name = "keyorder"
	ds.TimestampField = "ts"
	feats := []model.Field{{Name: "f", Type: model.Double}}
	id64 := model.Field{Name: "id64", Type: model.Int64}
	id32 := model.Field{Name: "id32", Type: model.Int32}
	name := model.Field{Name: "name", Type: model.String}
	for _, keys := range [][]model.Field{{id64}, {id32}, {name}, {name, id64}, {id32, name}} {
		var label []string
		for _, k := range keys {
			label = append(label, k.Name)
		}
		t.Run(strings.Join(label, "+"), func(t *testing.T) {
			fv := &model.FeatureView{Name: "ko_" + strings.Join(label, "_"), EntityColumns: keys, Features: feats, Source: ds, Online: true, Offline: true}
			start, end := base, base.Add(24*time.Hour)
			rr, err := p.PullLatestInKeyOrder(ctx, fv, start, end)
			if err != nil {
				t.Fatal(err)
			}
			got, serialized, err := renderWithKeys(rr, keys)
			rr.Release()
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(serialized); i++ {
				if bytes.Compare(serialized[i-1], serialized[i]) > 0 {
					// got[0] is the header.
					t.Fatalf("row %d (%s) comes after row %d (%s) but its serialized key is smaller", i+1, got[i+1], i, got[i])
				}
			}
			rr, err = b.Store.PullLatest(ctx, fv, start, end)
			if err != nil {
				t.Fatal(err)
			}
			want, err := RenderReader(rr)
			rr.Release()
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 100 {
				t.Fatalf("only %d rows pulled: the test table is too small to show an order", len(want))
			}
			if !slices.Equal(sortRows(got), sortRows(want)) {
				t.Fatalf("key-ordered pull has other rows than PullLatest:\n got %d rows\nwant %d rows", len(got), len(want))
			}
		})
	}
}

// renderWithKeys renders a pull's rows (RenderReader) and serializes each
// row's entity key from the columns named by keys, as materialization does.
func renderWithKeys(rr array.RecordReader, keys []model.Field) ([]string, [][]byte, error) {
	var joinKeys []string
	for _, k := range keys {
		joinKeys = append(joinKeys, k.Name)
	}
	lines := []string{readerHeader(rr)}
	var serialized [][]byte
	for rr.Next() {
		rec := rr.RecordBatch()
		cols := make([][]*types.Value, len(keys))
		for i, k := range keys {
			idx := rec.Schema().FieldIndices(k.Name)
			if len(idx) == 0 {
				return nil, nil, fmt.Errorf("no column %s", k.Name)
			}
			vs, err := values.ColumnFromArrow(rec.Column(idx[0]), k.Type)
			if err != nil {
				return nil, nil, err
			}
			cols[i] = vs
		}
		for row := range int(rec.NumRows()) {
			vals := make([]*types.Value, len(keys))
			for i := range keys {
				vals[i] = cols[i][row]
			}
			key, err := online.SerializeEntityKey(joinKeys, vals)
			if err != nil {
				return nil, nil, err
			}
			serialized = append(serialized, key)
		}
		part, err := renderRecord(rec)
		if err != nil {
			return nil, nil, err
		}
		lines = append(lines, part...)
	}
	return lines, serialized, rr.Err()
}
