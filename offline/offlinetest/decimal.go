package offlinetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// runDecimals checks that decimal source columns (Spark's Parquet
// DECIMAL(p,s), PostgreSQL's NUMERIC(p,s)) reach materialization with
// their values: a DECIMAL(20,0) INT64 key above 2^53 keeps every digit
// (a float64 would round it, and the online key would name another
// entity), integral decimals read as INT64 features, and DECIMAL(10,2)
// and DECIMAL(38,18) as the nearest DOUBLE. Both PullLatest and the
// key-ordered pull (whose ORDER BY casts the key) are read.
func runDecimals(t *testing.T, b *Backend) {
	ctx := context.Background()
	tbl := &Table{Cols: []Col{{"id", "decimal(20,0)"}, {"ts", "timestamp"}, {"price", "decimal(10,2)"},
		{"qty", "decimal(18,0)"}, {"ratio", "decimal(38,18)"}}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type want struct {
		price float64
		qty   int64
		ratio float64
		null  bool
	}
	rows := []struct {
		id                string
		price, qty, ratio any
		want              want
	}{
		{"9007199254740993", "12.34", "1", "0.100000000000000000", want{12.34, 1, 0.1, false}},
		{"9007199254740992", "-0.01", "-5", "-1.000000000000000001", want{-0.01, -5, -1.000000000000000001, false}},
		{"-9007199254740993", "99999999.99", "999999999999999999", "12345678901234567890.123456789012345678", want{99999999.99, 999999999999999999, 12345678901234567890.123456789012345678, false}},
		{"9223372036854775807", nil, nil, nil, want{null: true}},
		{"1", "0.00", "0", "0.000000000000000000", want{0, 0, 0, false}},
		// Arrow renders this one "1e-18", which PostgreSQL's COPY path
		// must not see.
		{"2", "0.01", "2", "0.000000000000000001", want{0.01, 2, 1e-18, false}},
	}
	expect := map[int64]want{}
	for i, r := range rows {
		// An older row of the same entity, which the latest replaces.
		tbl.Rows = append(tbl.Rows, []any{r.id, base.Add(time.Minute), "1.00", "7", "7.000000000000000000"})
		tbl.Rows = append(tbl.Rows, []any{r.id, base.Add(time.Duration(2+i) * time.Minute), r.price, r.qty, r.ratio})
		id, err := strconv.ParseInt(r.id, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		expect[id] = r.want
	}
	ds := b.CreateSource(t, "decimals", tbl)
	ds.Name = "decimals"
	ds.TimestampField = "ts"
	fv := &model.FeatureView{Name: "decimals", EntityColumns: []model.Field{{Name: "id", Type: model.Int64}},
		Features: []model.Field{{Name: "price", Type: model.Double}, {Name: "qty", Type: model.Int64}, {Name: "ratio", Type: model.Double}},
		Source:   ds, Online: true, Offline: true}
	pulls := map[string]func() (array.RecordReader, error){
		"PullLatest": func() (array.RecordReader, error) { return b.Store.PullLatest(ctx, fv, base, base.Add(time.Hour)) },
	}
	if p, ok := b.Store.(offline.KeyOrderedPuller); ok {
		pulls["PullLatestInKeyOrder"] = func() (array.RecordReader, error) {
			return p.PullLatestInKeyOrder(ctx, fv, base, base.Add(time.Hour))
		}
	}
	for name, pull := range pulls {
		t.Run(name, func(t *testing.T) {
			rr, err := pull()
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			seen := map[int64]bool{}
			for rr.Next() {
				rec := rr.RecordBatch()
				col := func(name string, vt model.ValueType) []*types.Value {
					idx := rec.Schema().FieldIndices(name)
					if len(idx) == 0 {
						t.Fatalf("no column %s in %s", name, rec.Schema())
					}
					vs, err := values.ColumnFromArrow(rec.Column(idx[0]), vt)
					if err != nil {
						t.Fatalf("column %s (%s) as %s: %v", name, rec.Column(idx[0]).DataType(), vt, err)
					}
					return vs
				}
				ids, prices, qtys, ratios := col("id", model.Int64), col("price", model.Double), col("qty", model.Int64), col("ratio", model.Double)
				for i, id := range ids {
					key := id.GetInt64Val()
					w, ok := expect[key]
					if !ok {
						t.Fatalf("pulled id %v, which the table does not hold (a rounded id?)", id)
					}
					seen[key] = true
					got := []*types.Value{prices[i], qtys[i], ratios[i]}
					exp := []*types.Value{
						{Val: &types.Value_DoubleVal{DoubleVal: w.price}},
						{Val: &types.Value_Int64Val{Int64Val: w.qty}},
						{Val: &types.Value_DoubleVal{DoubleVal: w.ratio}},
					}
					if w.null {
						exp = []*types.Value{{}, {}, {}}
					}
					for j := range got {
						if !proto.Equal(got[j], exp[j]) {
							t.Errorf("id %d: %s = %v, want %v", key, fv.Features[j].Name, got[j], exp[j])
						}
					}
				}
			}
			if err := rr.Err(); err != nil {
				t.Fatal(err)
			}
			if len(seen) != len(expect) {
				t.Errorf("pulled %d entities, want %d", len(seen), len(expect))
			}
		})
	}
}
