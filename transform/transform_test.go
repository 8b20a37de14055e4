package transform

import (
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

func i64(n int64) *types.Value   { return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}} }
func i32(n int32) *types.Value   { return &types.Value{Val: &types.Value_Int32Val{Int32Val: n}} }
func f64(f float64) *types.Value { return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}} }
func f32(f float32) *types.Value { return &types.Value{Val: &types.Value_FloatVal{FloatVal: f}} }
func str(s string) *types.Value  { return &types.Value{Val: &types.Value_StringVal{StringVal: s}} }
func bol(b bool) *types.Value    { return &types.Value{Val: &types.Value_BoolVal{BoolVal: b}} }
func ts(s int64) *types.Value {
	return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: s}}
}
func null() *types.Value { return &types.Value{} }

// inputs is the input set most tests use: two feature views sharing a
// feature name (trips) and a request source.
var inputs = []model.Field{
	{Name: "driver_hourly_stats:conv_rate", Type: model.Float},
	{Name: "driver_hourly_stats:acc_rate", Type: model.Double},
	{Name: "driver_hourly_stats:avg_daily_trips", Type: model.Int64},
	{Name: "driver_hourly_stats:trips", Type: model.Int64},
	{Name: "customer_stats:trips", Type: model.Int32},
	{Name: "customer_stats:name", Type: model.String},
	{Name: "customer_stats:tags", Type: model.StringList},
	{Name: "customer_stats:scores", Type: model.DoubleList},
	{Name: "customer_stats:signup", Type: model.UnixTimestamp},
	{Name: "customer_stats:active", Type: model.Bool},
	{Name: "val_to_add", Type: model.Int64},
	{Name: "name", Type: model.String}, // request field shadowing customer_stats:name
}

func odfv(features ...model.Field) *model.OnDemandFeatureView {
	return &model.OnDemandFeatureView{
		Name: "transformed",
		Sources: []model.ODFVSource{
			{FeatureView: "driver_hourly_stats"}, {FeatureView: "customer_stats"},
			{Request: &model.DataSource{Name: "vals_to_add", Kind: model.SourceRequest}},
		},
		Features: features,
	}
}

func feat(name, dtype, expr string) model.Field {
	vt, err := model.ParseDType(dtype)
	if err != nil {
		panic(err)
	}
	return model.Field{Name: name, Type: vt, Expression: expr}
}

func baseRow() map[string]*types.Value {
	return map[string]*types.Value{
		"driver_hourly_stats:conv_rate":       f32(0.5),
		"driver_hourly_stats:acc_rate":        f64(0.25),
		"driver_hourly_stats:avg_daily_trips": i64(10),
		"driver_hourly_stats:trips":           i64(3),
		"customer_stats:trips":                i32(4),
		"customer_stats:name":                 str("Ada"),
		"customer_stats:tags":                 {Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a", "b"}}}},
		"customer_stats:scores":               {Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{1, 2.5}}}},
		"customer_stats:signup":               ts(1652439582),
		"customer_stats:active":               bol(true),
		"val_to_add":                          i64(2),
		"name":                                str("request"),
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		name string
		f    model.Field
		row  func(map[string]*types.Value)
		want *types.Value
	}{
		{"double plus int (design example)", feat("x", "Float64", "conv_rate + val_to_add"), nil, f64(2.5)},
		{"int plus double", feat("x", "Float64", "val_to_add + conv_rate"), nil, f64(2.5)},
		{"int minus double", feat("x", "Float64", "val_to_add - acc_rate"), nil, f64(1.75)},
		{"double times int", feat("x", "Float64", "acc_rate * avg_daily_trips"), nil, f64(2.5)},
		{"int divided by double", feat("x", "Float64", "avg_daily_trips / acc_rate"), nil, f64(40)},
		{"nested mixing", feat("x", "Float64", "(conv_rate + 1) * (val_to_add - 0.5) / 2"), nil, f64(1.125)},
		{"int arithmetic stays int", feat("x", "Int64", "avg_daily_trips * val_to_add + 1"), nil, i64(21)},
		{"int division truncates", feat("x", "Int64", "avg_daily_trips / 3"), nil, i64(3)},
		{"int into Float64", feat("x", "Float64", "avg_daily_trips + val_to_add"), nil, f64(12)},
		{"Float32 narrowing", feat("x", "Float32", "acc_rate * 2.0"), nil, f32(0.5)},
		{"Int32 from int", feat("x", "Int32", "customer_stats.trips + 1"), nil, i32(5)},
		{"qualified names", feat("x", "Int64", "driver_hourly_stats.trips + customer_stats.trips"), nil, i64(7)},
		{"request field wins bare name", feat("x", "String", "name + '/' + customer_stats.name"), nil, str("request/Ada")},
		{"string ops", feat("x", "String", "customer_stats.name.upperAscii() + '-' + string(val_to_add)"), nil, str("ADA-2")},
		{"string size and contains", feat("x", "Bool", "size(name) == 7 && name.contains('que')"), nil, bol(true)},
		{"conditional", feat("x", "String", "conv_rate > 0.4 ? 'high' : 'low'"), nil, str("high")},
		{"cross-type comparison", feat("x", "Bool", "avg_daily_trips > 9.5 && conv_rate < 1"), nil, bol(true)},
		{"equality", feat("x", "Bool", "acc_rate == 0.0 || avg_daily_trips == 10"), nil, bol(true)},
		{"mixing inside a macro", feat("x", "Float64", "scores.exists(s, s + val_to_add > 4) ? 1.0 : 0.0"), nil, f64(1)},
		{"math extension", feat("x", "Float64", "math.greatest(acc_rate, conv_rate)"), nil, f64(0.5)},
		{"double to int", feat("x", "Int64", "int(acc_rate * 10.0)"), nil, i64(2)},
		{"list size and index", feat("x", "Float64", "scores[1] + double(size(tags))"), nil, f64(4.5)},
		{"list macro", feat("x", "Array(Float64)", "scores.map(s, s * val_to_add)"), nil,
			&types.Value{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{2, 5}}}}},
		{"list filter", feat("x", "Array(String)", "tags.filter(t, t != 'a')"), nil,
			&types.Value{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"b"}}}}},
		{"list literal", feat("x", "Array(Int64)", "[val_to_add, avg_daily_trips]"), nil,
			&types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{2, 10}}}}},
		{"timestamp", feat("x", "UnixTimestamp", "signup + duration('60s')"), nil, ts(1652439642)},
		{"timestamp as int", feat("x", "Int64", "int(signup)"), nil, i64(1652439582)},
		{"bool", feat("x", "Bool", "active && !(val_to_add == 3)"), nil, bol(true)},
		{"null propagates", feat("x", "Float64", "conv_rate * 2.0"),
			func(r map[string]*types.Value) { r["driver_hourly_stats:conv_rate"] = null() }, null()},
		{"nil propagates", feat("x", "Float64", "conv_rate + val_to_add"),
			func(r map[string]*types.Value) { r["val_to_add"] = nil }, null()},
		{"null propagates through string ops", feat("x", "String", "name + 'x'"),
			func(r map[string]*types.Value) { r["name"] = null() }, null()},
		{"null handled explicitly", feat("x", "Float64", "conv_rate == null ? 0.0 : conv_rate * 2.0"),
			func(r map[string]*types.Value) { r["driver_hourly_stats:conv_rate"] = null() }, f64(0)},
		{"null not taken", feat("x", "Float64", "conv_rate == null ? 0.0 : conv_rate * 2.0"), nil, f64(1)},
		{"null result", feat("x", "Int64", "val_to_add > 100 ? val_to_add : null"), nil, null()},
		{"short circuit skips null", feat("x", "Bool", "active || conv_rate > 1.0"),
			func(r map[string]*types.Value) { r["driver_hourly_stats:conv_rate"] = null() }, bol(true)},
		{"null list propagates", feat("x", "Int64", "size(tags)"),
			func(r map[string]*types.Value) { r["customer_stats:tags"] = null() }, null()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(odfv(tc.f), inputs)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			row := baseRow()
			if tc.row != nil {
				tc.row(row)
			}
			got, err := p.Eval(row)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if len(got) != 1 || !proto.Equal(got[0], tc.want) {
				t.Fatalf("Eval(%s) = %v, want %v", tc.f.Expression, got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		f    model.Field
		want []string
	}{
		{"unknown identifier", feat("bad", "Float64", "conv_rte * 2.0"), []string{
			"transformed: feature bad:", "undeclared reference to 'conv_rte'",
			"available inputs: acc_rate, active, avg_daily_trips, conv_rate,", "driver_hourly_stats.conv_rate",
		}},
		{"ambiguous bare name", feat("bad", "Int64", "trips + 1"), []string{
			"undeclared reference to 'trips'",
			"trips is ambiguous, use one of driver_hourly_stats.trips, customer_stats.trips",
		}},
		{"syntax error", feat("bad", "Float64", "conv_rate +* 2"), []string{"transformed: feature bad:", "Syntax error"}},
		{"int output declared Float64 is fine but string is not", feat("bad", "Float64", "name"), []string{
			"expression returns string, but the feature is declared Float64 (expected double)",
		}},
		{"double into Int64", feat("bad", "Int64", "conv_rate * 2.0"), []string{
			"expression returns double, but the feature is declared Int64 (expected int; convert with int(...))",
		}},
		{"list element mismatch", feat("bad", "Array(Int64)", "scores"), []string{
			"expression returns list(double), but the feature is declared Array(Int64)",
		}},
		{"no overload", feat("bad", "String", "name - 1"), []string{"no matching overload"}},
		{"empty expression", feat("bad", "Float64", " "), []string{"transformed: feature bad: no expression"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(odfv(feat("ok", "Float64", "conv_rate"), tc.f), inputs)
			if err == nil {
				t.Fatal("Compile: no error")
			}
			if !errors.Is(err, ErrCompile) {
				t.Errorf("error %v does not wrap ErrCompile", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Compile(odfv(feat("x", "Float64", "1.0")), []model.Field{{Name: "a", Type: model.Int64}, {Name: "a", Type: model.Int64}}); err == nil {
		t.Error("Compile with a duplicate input: no error")
	}
	if _, err := Compile(odfv(feat("x", "Float64", "1.0")), []model.Field{{Name: "m", Type: types.ValueType_SCALAR_MAP}}); err == nil ||
		!strings.Contains(err.Error(), "not supported in expressions") {
		t.Errorf("Compile with a SCALAR_MAP input: error %v", err)
	}
}

func TestEvalErrors(t *testing.T) {
	p, err := Compile(odfv(feat("q", "Int64", "avg_daily_trips / (val_to_add - 2)")), inputs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(baseRow()); err == nil || !strings.Contains(err.Error(), "evaluate transformed:q: division by zero") {
		t.Errorf("division by zero: error %v", err)
	}
	row := baseRow()
	delete(row, "val_to_add")
	if _, err := p.Eval(row); err == nil || !strings.Contains(err.Error(), "missing input val_to_add") {
		t.Errorf("missing input: error %v", err)
	}

	p, err = Compile(odfv(feat("n", "Int32", "avg_daily_trips * 1000000000")), inputs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(baseRow()); err == nil || !strings.Contains(err.Error(), "out of Int32 range") {
		t.Errorf("Int32 overflow: error %v", err)
	}
}

func TestInputs(t *testing.T) {
	p, err := Compile(odfv(
		feat("a", "Float64", "conv_rate + val_to_add"),
		feat("b", "String", "customer_stats.name"),
	), inputs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range p.Inputs() {
		names = append(names, in.Name)
	}
	want := "driver_hourly_stats:conv_rate,customer_stats:name,val_to_add"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("Inputs() = %s, want %s", got, want)
	}
	if fs := p.Features(); len(fs) != 2 || fs[0].Name != "a" || fs[1].Name != "b" {
		t.Errorf("Features() = %v", fs)
	}
	// Only referenced inputs are required.
	row := map[string]*types.Value{
		"driver_hourly_stats:conv_rate": f32(1), "customer_stats:name": str("n"), "val_to_add": i64(1),
	}
	got, err := p.Eval(row)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got[0], f64(2)) || !proto.Equal(got[1], str("n")) {
		t.Errorf("Eval = %v", got)
	}
}

func TestEvalColumns(t *testing.T) {
	p, err := Compile(odfv(
		feat("plus", "Float64", "conv_rate + val_to_add"),
		feat("label", "String", "conv_rate > 0.5 ? 'high' : 'low'"),
	), inputs)
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string][]*types.Value{
		"driver_hourly_stats:conv_rate": {f32(0.25), f32(0.75), null(), f32(1)},
		"val_to_add":                    {i64(1), i64(2), i64(3), nil},
	}
	got, err := p.EvalColumns(cols, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]*types.Value{
		{f64(1.25), f64(2.75), null(), null()},
		{str("low"), str("high"), null(), str("high")},
	}
	for f := range want {
		for r := range want[f] {
			if !proto.Equal(got[f][r], want[f][r]) {
				t.Errorf("feature %d row %d = %v, want %v", f, r, got[f][r], want[f][r])
			}
		}
	}
	if _, err := p.EvalColumns(map[string][]*types.Value{"val_to_add": {i64(1)}}, 1); err == nil ||
		!strings.Contains(err.Error(), "missing input column driver_hourly_stats:conv_rate") {
		t.Errorf("missing column: error %v", err)
	}
	if _, err := p.EvalColumns(cols, 5); err == nil || !strings.Contains(err.Error(), "has 4 rows, want 5") {
		t.Errorf("short column: error %v", err)
	}
	q, err := Compile(odfv(feat("q", "Int64", "10 / val_to_add")), inputs)
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.EvalColumns(map[string][]*types.Value{"val_to_add": {i64(1), i64(0)}}, 2)
	if err == nil || !strings.Contains(err.Error(), "row 1: evaluate transformed:q: division by zero") {
		t.Errorf("row error: %v", err)
	}
}

func TestConcurrentEval(t *testing.T) {
	p, err := Compile(odfv(feat("x", "Float64", "conv_rate * val_to_add")), inputs)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; i < 200; i++ {
				out, err := p.Eval(map[string]*types.Value{"driver_hourly_stats:conv_rate": f32(0.5), "val_to_add": i64(int64(g))})
				if err != nil {
					done <- err
					return
				}
				if got := out[0].GetDoubleVal(); math.Abs(got-0.5*float64(g)) > 1e-12 {
					done <- errors.New("wrong result under concurrency")
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkEval(b *testing.B) {
	p, err := Compile(odfv(
		feat("conv_rate_plus_val", "Float64", "conv_rate + val_to_add"),
		feat("trips_per_acc", "Float64", "avg_daily_trips / acc_rate"),
		feat("bucket", "String", "conv_rate > 0.4 ? 'high' : 'low'"),
	), inputs)
	if err != nil {
		b.Fatal(err)
	}
	row := baseRow()
	b.Run("row", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Eval(row); err != nil {
				b.Fatal(err)
			}
		}
	})
	const n = 1000
	cols := map[string][]*types.Value{}
	for _, in := range p.Inputs() {
		col := make([]*types.Value, n)
		for i := range col {
			col[i] = row[in.Name]
		}
		cols[in.Name] = col
	}
	b.Run("columns-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.EvalColumns(cols, n); err != nil {
				b.Fatal(err)
			}
		}
	})
}
