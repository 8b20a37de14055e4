// Package onlinetest is the conformance suite every online.Store backend
// runs: round trips of every value type, missing entities, partial feature
// lists, views sharing an entity, multi-key entities, out-of-order and
// duplicate writes, Update and Teardown, a large batch and concurrent
// writers.
//
// The suite uses whole-second event timestamps: SQLite stores epoch seconds
// (Feast's layout), so finer precision is not comparable across backends.
package onlinetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// Base is the event timestamp the suite's rows are written around.
var base = time.Unix(1_700_000_000, 0).UTC()

// Run runs the conformance suite. open returns a fresh store for one
// subtest and registers its Close with t.Cleanup. Project and view names are
// unique per subtest (testenv.UniqueName), so servers may be shared.
func Run(t *testing.T, open func(t *testing.T) online.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s online.Store)
	}{
		{"RoundTripTypes", testRoundTripTypes},
		{"Missing", testMissing},
		{"PartialFeatures", testPartialFeatures},
		{"SharedEntity", testSharedEntity},
		{"MultiKey", testMultiKey},
		{"OutOfOrder", testOutOfOrder},
		{"WithinBatch", testWithinBatch},
		{"UpdateIdempotent", testUpdate},
		{"Teardown", testTeardown},
		{"LargeBatch", testLargeBatch},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ReadManyRequests", testReadManyRequests},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// testPing: a store that serves answers Ping, also under a short deadline
// of the caller, and a cancelled caller's Ping fails without being taken
// for an outage.
func testPing(t *testing.T, s online.Store) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Ping(cctx); err != nil && errors.Is(err, online.ErrUnavailable) {
		t.Fatalf("Ping with a cancelled context: %v is not an outage", err)
	}
}

// DriverKey is the entity key driver_id=<id> (INT64).
func DriverKey(t testing.TB, id int64) []byte {
	t.Helper()
	b, err := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{Int64(id)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// View returns a feature view keyed by driver_id with the given features.
func View(name string, features ...model.Field) *model.FeatureView {
	return &model.FeatureView{
		Name:          name,
		Entities:      []string{"driver"},
		EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
		Features:      features,
		Online:        true,
	}
}

// Int64, Float64 and String build scalar values.
func Int64(v int64) *types.Value     { return &types.Value{Val: &types.Value_Int64Val{Int64Val: v}} }
func Float64(v float64) *types.Value { return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: v}} }
func String(v string) *types.Value   { return &types.Value{Val: &types.Value_StringVal{StringVal: v}} }

// Setup creates a unique project and unique views with the given features
// (Int64 each), calls Update and registers a Teardown.
func Setup(t testing.TB, s online.Store, nviews int, features ...string) (string, []*model.FeatureView) {
	t.Helper()
	project := testenv.UniqueName("proj")
	var fields []model.Field
	for _, f := range features {
		fields = append(fields, model.Field{Name: f, Type: model.Int64})
	}
	views := make([]*model.FeatureView, nviews)
	for i := range views {
		views[i] = View(testenv.UniqueName("fv"), fields...)
	}
	mustUpdate(t, s, project, views)
	return project, views
}

func mustUpdate(t testing.TB, s online.Store, project string, views []*model.FeatureView) {
	t.Helper()
	ctx := context.Background()
	if err := s.Update(ctx, project, views, nil); err != nil {
		t.Fatalf("update: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Teardown(context.Background(), project, views); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
}

func write(t testing.TB, s online.Store, project string, fv *model.FeatureView, features []string, rows ...online.Row) online.WriteStats {
	t.Helper()
	st, err := s.Write(context.Background(), online.WriteBatch{Project: project, View: fv, Features: features, Rows: rows})
	if err != nil {
		t.Fatalf("write %s: %v", fv.Name, err)
	}
	if st.Written+st.Skipped != len(rows) {
		t.Fatalf("write %s: stats %+v do not add up to %d rows", fv.Name, st, len(rows))
	}
	return st
}

func read(t testing.TB, s online.Store, project string, fv *model.FeatureView, features []string, keys ...[]byte) online.ReadResult {
	t.Helper()
	res, err := s.Read(context.Background(), []online.ReadRequest{{Project: project, View: fv, Features: features, EntityKeys: keys}})
	if err != nil {
		t.Fatalf("read %s: %v", fv.Name, err)
	}
	if len(res) != 1 || len(res[0]) != len(keys) {
		t.Fatalf("read %s: got %d results", fv.Name, len(res))
	}
	for i, r := range res[0] {
		if len(r) != len(features) {
			t.Fatalf("read %s: entity %d has %d values, want %d", fv.Name, i, len(r), len(features))
		}
	}
	return res[0]
}

func row(key []byte, ts time.Time, vals ...*types.Value) online.Row {
	return online.Row{EntityKey: key, Values: vals, EventTS: ts, CreatedTS: ts.Add(time.Minute)}
}

func names(fv *model.FeatureView) []string {
	out := make([]string, len(fv.Features))
	for i, f := range fv.Features {
		out[i] = f.Name
	}
	return out
}

// wantInt checks that v is found with the int64 value want at ts.
func wantInt(t testing.TB, what string, v online.FeatureValue, want int64, ts time.Time) {
	t.Helper()
	if !v.Found {
		t.Fatalf("%s: not found, want %d", what, want)
	}
	if got, ok := v.Value.GetVal().(*types.Value_Int64Val); !ok || got.Int64Val != want {
		t.Fatalf("%s = %v, want %d", what, v.Value, want)
	}
	if !v.EventTS.Equal(ts) {
		t.Fatalf("%s: event ts %v, want %v", what, v.EventTS, ts)
	}
}

func wantMissing(t testing.TB, what string, v online.FeatureValue) {
	t.Helper()
	if v.Found {
		t.Fatalf("%s: found %v, want not found", what, v.Value)
	}
}

func testRoundTripTypes(t *testing.T, s online.Store) {
	ts := func(v int64) *types.Value {
		return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: v}}
	}
	cases := []struct {
		name string
		typ  model.ValueType
		v    *types.Value
	}{
		{"f_bytes", model.Bytes, &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte{0, 1, 0xff}}}},
		{"f_string", model.String, String("héllo")},
		{"f_int32", model.Int32, &types.Value{Val: &types.Value_Int32Val{Int32Val: -7}}},
		{"f_int64", model.Int64, Int64(1 << 40)},
		{"f_double", model.Double, Float64(0.1)},
		{"f_float", model.Float, &types.Value{Val: &types.Value_FloatVal{FloatVal: 1.5}}},
		{"f_bool", model.Bool, &types.Value{Val: &types.Value_BoolVal{BoolVal: true}}},
		{"f_bool_false", model.Bool, &types.Value{Val: &types.Value_BoolVal{BoolVal: false}}},
		{"f_unix_ts", model.UnixTimestamp, ts(1_699_999_999)},
		{"f_bytes_list", model.BytesList, &types.Value{Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: [][]byte{{1}, {}, {2, 3}}}}}},
		{"f_string_list", model.StringList, &types.Value{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a", "", "c"}}}}},
		{"f_int32_list", model.Int32List, &types.Value{Val: &types.Value_Int32ListVal{Int32ListVal: &types.Int32List{Val: []int32{1, -2}}}}},
		{"f_int64_list", model.Int64List, &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1 << 50, -3}}}}},
		{"f_double_list", model.DoubleList, &types.Value{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{0.25, -1e300}}}}},
		{"f_float_list", model.FloatList, &types.Value{Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: []float32{0.5, 2}}}}},
		{"f_bool_list", model.BoolList, &types.Value{Val: &types.Value_BoolListVal{BoolListVal: &types.BoolList{Val: []bool{true, false}}}}},
		{"f_unix_ts_list", model.UnixTimestampList, &types.Value{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{1, 2}}}}},
		{"f_empty_list", model.Int64List, &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{}}}},
		{"f_null_val", model.Int64, &types.Value{Val: &types.Value_NullVal{NullVal: types.Null_NULL}}},
		{"f_nil", model.Int64, nil},
		{"f_empty", model.String, &types.Value{}},
	}
	var fields []model.Field
	var feats []string
	var vals []*types.Value
	for _, c := range cases {
		fields = append(fields, model.Field{Name: c.name, Type: c.typ})
		feats = append(feats, c.name)
		vals = append(vals, c.v)
	}
	project := testenv.UniqueName("proj")
	fv := View(testenv.UniqueName("fv_types"), fields...)
	mustUpdate(t, s, project, []*model.FeatureView{fv})

	k := DriverKey(t, 1001)
	if st := write(t, s, project, fv, feats, row(k, base, vals...)); st.Written != 1 {
		t.Fatalf("stats %+v, want 1 written", st)
	}
	got := read(t, s, project, fv, feats, k)
	for i, c := range cases {
		v := got[0][i]
		if !v.Found {
			t.Errorf("%s: not found", c.name)
			continue
		}
		if !v.EventTS.Equal(base) {
			t.Errorf("%s: event ts %v, want %v", c.name, v.EventTS, base)
		}
		if online.IsNull(c.v) {
			if !online.IsNull(v.Value) {
				t.Errorf("%s = %v, want null", c.name, v.Value)
			}
			continue
		}
		if !proto.Equal(v.Value, c.v) {
			t.Errorf("%s = %v, want %v", c.name, v.Value, c.v)
		}
	}
}

func testMissing(t *testing.T, s online.Store) {
	project, views := Setup(t, s, 1, "a", "b")
	fv := views[0]
	write(t, s, project, fv, names(fv), row(DriverKey(t, 1), base, Int64(1), Int64(2)))
	got := read(t, s, project, fv, names(fv), DriverKey(t, 2), DriverKey(t, 1), DriverKey(t, 3))
	wantMissing(t, "entity 2 a", got[0][0])
	wantMissing(t, "entity 2 b", got[0][1])
	wantInt(t, "entity 1 a", got[1][0], 1, base)
	wantInt(t, "entity 1 b", got[1][1], 2, base)
	wantMissing(t, "entity 3 a", got[2][0])

	// The same entity in another project is not visible.
	other := testenv.UniqueName("proj")
	mustUpdate(t, s, other, views)
	got = read(t, s, other, fv, names(fv), DriverKey(t, 1))
	wantMissing(t, "other project", got[0][0])

	// An empty request is answered with an empty result.
	res, err := s.Read(context.Background(), []online.ReadRequest{{Project: project, View: fv, Features: names(fv)}})
	if err != nil || len(res) != 1 || len(res[0]) != 0 {
		t.Fatalf("empty read = %v, %v", res, err)
	}
}

func testPartialFeatures(t *testing.T, s online.Store) {
	project, views := Setup(t, s, 1, "a", "b", "c", "d")
	fv := views[0]
	k := DriverKey(t, 7)
	write(t, s, project, fv, names(fv), row(k, base, Int64(1), Int64(2), Int64(3), Int64(4)))
	got := read(t, s, project, fv, []string{"d", "b"}, k)
	wantInt(t, "d", got[0][0], 4, base)
	wantInt(t, "b", got[0][1], 2, base)

	// A write of a subset of the features leaves the others alone.
	write(t, s, project, fv, []string{"c"}, row(k, base.Add(time.Second), Int64(30)))
	got = read(t, s, project, fv, []string{"a", "c"}, k)
	// Redis keeps one event timestamp per entity and view, so only a's
	// value is compared.
	if v := got[0][0]; !v.Found || v.Value.GetInt64Val() != 1 {
		t.Fatalf("a after subset write = %+v, want 1", v)
	}
	wantInt(t, "c after subset write", got[0][1], 30, base.Add(time.Second))
}

func testSharedEntity(t *testing.T, s online.Store) {
	project, views := Setup(t, s, 2, "x", "y")
	a, b := views[0], views[1]
	k := DriverKey(t, 42)
	write(t, s, project, a, names(a), row(k, base, Int64(1), Int64(2)))
	write(t, s, project, b, names(b), row(k, base.Add(-time.Hour), Int64(10), Int64(20)))
	// The older timestamp of view b must not be compared against view a.
	gotB := read(t, s, project, b, names(b), k)
	wantInt(t, "b.x", gotB[0][0], 10, base.Add(-time.Hour))
	wantInt(t, "b.y", gotB[0][1], 20, base.Add(-time.Hour))

	write(t, s, project, a, names(a), row(k, base.Add(time.Hour), Int64(3), Int64(4)))
	gotA := read(t, s, project, a, names(a), k)
	wantInt(t, "a.x", gotA[0][0], 3, base.Add(time.Hour))
	wantInt(t, "a.y", gotA[0][1], 4, base.Add(time.Hour))
	gotB = read(t, s, project, b, names(b), k)
	wantInt(t, "b.x after a's write", gotB[0][0], 10, base.Add(-time.Hour))
	wantInt(t, "b.y after a's write", gotB[0][1], 20, base.Add(-time.Hour))
}

func testMultiKey(t *testing.T, s online.Store) {
	project := testenv.UniqueName("proj")
	fv := &model.FeatureView{
		Name:     testenv.UniqueName("fv_multi"),
		Entities: []string{"driver", "customer"},
		EntityColumns: []model.Field{
			{Name: "driver_id", Type: model.Int64},
			{Name: "customer_id", Type: model.String},
		},
		Features: []model.Field{{Name: "trips", Type: model.Int64}},
		Online:   true,
	}
	mustUpdate(t, s, project, []*model.FeatureView{fv})
	key := func(d int64, c string) []byte {
		b, err := online.SerializeEntityKey(fv.JoinKeys(), []*types.Value{Int64(d), String(c)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var rows []online.Row
	for d := int64(1); d <= 3; d++ {
		for _, c := range []string{"a", "b"} {
			rows = append(rows, row(key(d, c), base, Int64(d*100+int64(c[0]))))
		}
	}
	if st := write(t, s, project, fv, []string{"trips"}, rows...); st.Written != 6 {
		t.Fatalf("stats %+v, want 6 written", st)
	}
	got := read(t, s, project, fv, []string{"trips"}, key(2, "b"), key(3, "a"), key(2, "c"), key(1, "a"))
	wantInt(t, "(2,b)", got[0][0], 200+'b', base)
	wantInt(t, "(3,a)", got[1][0], 300+'a', base)
	wantMissing(t, "(2,c)", got[2][0])
	wantInt(t, "(1,a)", got[3][0], 100+'a', base)
}

func testOutOfOrder(t *testing.T, s online.Store) {
	project, views := Setup(t, s, 1, "v")
	fv := views[0]
	k := DriverKey(t, 1)
	f := names(fv)
	steps := []struct {
		ts      time.Time
		v       int64
		written int
		want    int64
		wantTS  time.Time
	}{
		{base, 1, 1, 1, base},
		{base.Add(-time.Second), 2, 0, 1, base},                 // older: skipped
		{base, 3, 0, 1, base},                                   // equal: skipped
		{base.Add(time.Second), 4, 1, 4, base.Add(time.Second)}, // newer: written
		{base.Add(-time.Hour), 5, 0, 4, base.Add(time.Second)},
	}
	for i, st := range steps {
		stats := write(t, s, project, fv, f, row(k, st.ts, Int64(st.v)))
		if stats.Written != st.written || stats.Skipped != 1-st.written {
			t.Fatalf("step %d: stats %+v, want written=%d", i, stats, st.written)
		}
		got := read(t, s, project, fv, f, k)
		wantInt(t, fmt.Sprintf("step %d", i), got[0][0], st.want, st.wantTS)
	}
}

func testWithinBatch(t *testing.T, s online.Store) {
	project, views := Setup(t, s, 1, "v")
	fv := views[0]
	f := names(fv)
	k1, k2, k3 := DriverKey(t, 1), DriverKey(t, 2), DriverKey(t, 3)
	stats := write(t, s, project, fv, f,
		row(k1, base.Add(5*time.Second), Int64(15)),
		row(k2, base, Int64(20)),
		row(k1, base.Add(7*time.Second), Int64(17)),
		row(k1, base.Add(6*time.Second), Int64(16)),
		row(k1, base.Add(7*time.Second), Int64(170)), // equal to the winner: skipped
		row(k3, base, Int64(30)),
	)
	if stats.Written != 3 || stats.Skipped != 3 {
		t.Fatalf("stats %+v, want 3 written and 3 skipped", stats)
	}
	got := read(t, s, project, fv, f, k1, k2, k3)
	wantInt(t, "k1", got[0][0], 17, base.Add(7*time.Second))
	wantInt(t, "k2", got[1][0], 20, base)
	wantInt(t, "k3", got[2][0], 30, base)

	// A batch mixing stale and fresh rows for stored entities.
	stats = write(t, s, project, fv, f,
		row(k1, base.Add(6*time.Second), Int64(-1)),
		row(k2, base.Add(time.Second), Int64(21)),
		row(k2, base.Add(time.Second), Int64(-1)),
	)
	if stats.Written != 1 || stats.Skipped != 2 {
		t.Fatalf("second batch stats %+v, want 1 written and 2 skipped", stats)
	}
	got = read(t, s, project, fv, f, k1, k2)
	wantInt(t, "k1 after stale write", got[0][0], 17, base.Add(7*time.Second))
	wantInt(t, "k2 after fresh write", got[1][0], 21, base.Add(time.Second))
}

func testUpdate(t *testing.T, s online.Store) {
	ctx := context.Background()
	project, views := Setup(t, s, 2, "v")
	a, b := views[0], views[1]
	for range 2 {
		if err := s.Update(ctx, project, views, nil); err != nil {
			t.Fatalf("repeated update: %v", err)
		}
	}
	k := DriverKey(t, 9)
	write(t, s, project, a, names(a), row(k, base, Int64(1)))
	write(t, s, project, b, names(b), row(k, base, Int64(2)))
	if err := s.Update(ctx, project, views, nil); err != nil {
		t.Fatalf("update after write: %v", err)
	}
	wantInt(t, "a kept by update", read(t, s, project, a, names(a), k)[0][0], 1, base)

	if err := s.Update(ctx, project, []*model.FeatureView{a}, []*model.FeatureView{b}); err != nil {
		t.Fatalf("update dropping b: %v", err)
	}
	wantInt(t, "a after dropping b", read(t, s, project, a, names(a), k)[0][0], 1, base)
	if err := s.Update(ctx, project, []*model.FeatureView{a}, []*model.FeatureView{b}); err != nil {
		t.Fatalf("repeated drop: %v", err)
	}
	if err := s.Update(ctx, project, views, nil); err != nil {
		t.Fatalf("re-adding b: %v", err)
	}
	wantMissing(t, "b after drop and re-add", read(t, s, project, b, names(b), k)[0][0])
	// Writing again works and is not compared against the dropped data.
	write(t, s, project, b, names(b), row(k, base.Add(-time.Hour), Int64(3)))
	wantInt(t, "b rewritten", read(t, s, project, b, names(b), k)[0][0], 3, base.Add(-time.Hour))
}

func testTeardown(t *testing.T, s online.Store) {
	ctx := context.Background()
	project, views := Setup(t, s, 2, "v", "w")
	a, b := views[0], views[1]
	var rowsA, rowsB []online.Row
	for i := int64(0); i < 50; i++ {
		rowsA = append(rowsA, row(DriverKey(t, i), base, Int64(i), Int64(-i)))
		rowsB = append(rowsB, row(DriverKey(t, i), base, Int64(i*2), Int64(-i*2)))
	}
	// Entities only view a has.
	rowsA = append(rowsA, row(DriverKey(t, 1000), base, Int64(1), Int64(1)))
	write(t, s, project, a, names(a), rowsA...)
	write(t, s, project, b, names(b), rowsB...)

	if err := s.Teardown(ctx, project, []*model.FeatureView{a}); err != nil {
		t.Fatalf("teardown a: %v", err)
	}
	for i := int64(0); i < 50; i += 7 {
		k := DriverKey(t, i)
		wantMissing(t, fmt.Sprintf("a %d after teardown", i), read(t, s, project, a, names(a), k)[0][0])
		got := read(t, s, project, b, names(b), k)
		wantInt(t, fmt.Sprintf("b.v %d", i), got[0][0], i*2, base)
		wantInt(t, fmt.Sprintf("b.w %d", i), got[0][1], -i*2, base)
	}
	wantMissing(t, "a-only entity", read(t, s, project, a, names(a), DriverKey(t, 1000))[0][0])
	if err := s.Teardown(ctx, project, []*model.FeatureView{a}); err != nil {
		t.Fatalf("repeated teardown: %v", err)
	}
}

func testLargeBatch(t *testing.T, s online.Store) {
	const n = 20_000
	project, views := Setup(t, s, 1, "a", "b", "c")
	fv := views[0]
	rows := make([]online.Row, n)
	keys := make([][]byte, n)
	for i := range rows {
		keys[i] = DriverKey(t, int64(i))
		rows[i] = row(keys[i], base.Add(time.Duration(i%60)*time.Second), Int64(int64(i)), Int64(int64(i)+1), nil)
	}
	if st := write(t, s, project, fv, names(fv), rows...); st.Written != n {
		t.Fatalf("stats %+v, want %d written", st, n)
	}
	got := read(t, s, project, fv, names(fv), keys...)
	for i := range got {
		ts := base.Add(time.Duration(i%60) * time.Second)
		wantInt(t, fmt.Sprintf("entity %d a", i), got[i][0], int64(i), ts)
		wantInt(t, fmt.Sprintf("entity %d b", i), got[i][1], int64(i)+1, ts)
		if !got[i][2].Found || !online.IsNull(got[i][2].Value) {
			t.Fatalf("entity %d c = %+v, want found null", i, got[i][2])
		}
	}
	// Rewriting the same rows skips all of them.
	if st := write(t, s, project, fv, names(fv), rows...); st.Skipped != n {
		t.Fatalf("rewrite stats %+v, want %d skipped", st, n)
	}
}

func testConcurrentWriters(t *testing.T, s online.Store) {
	const (
		writers  = 6
		rounds   = 4
		shared   = 40
		private  = 30
		perBatch = 25
	)
	project, views := Setup(t, s, 1, "v")
	fv := views[0]
	f := names(fv)
	// Writer g writes shared entity e in round r at ts = base + r*writers + (g+e)%writers
	// seconds, so the newest row of each entity is unique: round rounds-1 of
	// the writer with (g+e)%writers == writers-1.
	tsOf := func(g, e, r int) time.Time {
		return base.Add(time.Duration(r*writers+(g+e)%writers) * time.Second)
	}
	valOf := func(g, r int) int64 { return int64(g*1000 + r) }
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			var rows []online.Row
			for r := range rounds {
				for e := range shared {
					rows = append(rows, row(DriverKey(t, int64(e)), tsOf(g, e, r), Int64(valOf(g, r))))
				}
				for e := range private {
					id := int64(10_000 + g*100 + e)
					rows = append(rows, row(DriverKey(t, id), base.Add(time.Duration(r)*time.Second), Int64(valOf(g, r))))
				}
			}
			rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			for len(rows) > 0 {
				n := min(perBatch, len(rows))
				st, err := s.Write(context.Background(), online.WriteBatch{Project: project, View: fv, Features: f, Rows: rows[:n]})
				if err != nil {
					errs <- err
					return
				}
				if st.Written+st.Skipped != n {
					errs <- fmt.Errorf("stats %+v for %d rows", st, n)
					return
				}
				rows = rows[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent write: %v", err)
	}
	for e := range shared {
		g := (2*writers - 1 - e%writers) % writers // (g+e)%writers == writers-1
		got := read(t, s, project, fv, f, DriverKey(t, int64(e)))
		wantInt(t, fmt.Sprintf("shared entity %d", e), got[0][0], valOf(g, rounds-1), tsOf(g, e, rounds-1))
	}
	for g := range writers {
		for e := range private {
			got := read(t, s, project, fv, f, DriverKey(t, int64(10_000+g*100+e)))
			wantInt(t, fmt.Sprintf("private entity %d/%d", g, e), got[0][0], valOf(g, rounds-1), base.Add(time.Duration(rounds-1)*time.Second))
		}
	}
}

func testReadManyRequests(t *testing.T, s online.Store) {
	project, views := Setup(t, s, 3, "v")
	for i, fv := range views {
		write(t, s, project, fv, names(fv), row(DriverKey(t, 1), base, Int64(int64(i))))
	}
	var reqs []online.ReadRequest
	for i := len(views) - 1; i >= 0; i-- {
		reqs = append(reqs, online.ReadRequest{Project: project, View: views[i], Features: names(views[i]), EntityKeys: [][]byte{DriverKey(t, 2), DriverKey(t, 1)}})
	}
	res, err := s.Read(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(reqs) {
		t.Fatalf("got %d results for %d requests", len(res), len(reqs))
	}
	for j, r := range res {
		i := len(views) - 1 - j
		wantMissing(t, fmt.Sprintf("request %d entity 2", j), r[0][0])
		wantInt(t, fmt.Sprintf("request %d entity 1", j), r[1][0], int64(i), base)
	}
}
