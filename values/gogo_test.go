package values

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

func TestToGo(t *testing.T) {
	tests := []struct {
		v    *types.Value
		want any
	}{
		{nil, nil},
		{null(), nil},
		{i64(5), int64(5)},
		{i32(5), int32(5)},
		{f64(0.5), 0.5},
		{f32(0.5), float32(0.5)},
		{bol(true), true},
		{str("s"), "s"},
		{byt([]byte("b")), []byte("b")},
		{ts(60), time.Unix(60, 0).UTC()},
		{&types.Value{Val: &types.Value_JsonVal{JsonVal: `{"a":1}`}}, `{"a":1}`},
		{&types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1}}}}, []int64{1}},
		{&types.Value{Val: &types.Value_DoubleSetVal{DoubleSetVal: &types.DoubleSet{Val: []float64{1}}}}, []float64{1}},
		{&types.Value{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a"}}}}, []string{"a"}},
		{&types.Value{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{0}}}}, []time.Time{time.Unix(0, 0).UTC()}},
		{&types.Value{Val: &types.Value_MapVal{MapVal: &types.Map{Val: map[string]*types.Value{"a": i64(1), "n": null()}}}}, map[string]any{"a": int64(1), "n": nil}},
		{&types.Value{Val: &types.Value_ListVal{ListVal: &types.RepeatedValue{Val: []*types.Value{str("x"), i64(2)}}}}, []any{"x", int64(2)}},
	}
	for _, tc := range tests {
		got := ToGo(tc.v)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ToGo(%v) = %#v, want %#v", tc.v, got, tc.want)
		}
	}
}

func TestFromGo(t *testing.T) {
	tests := []struct {
		x    any
		vt   model.ValueType
		want *types.Value
	}{
		{nil, model.Int64, null()},
		{int64(5), model.Int64, i64(5)},
		{5, model.Int64, i64(5)},
		{uint8(5), model.Int32, i32(5)},
		{float64(1001), model.Int64, i64(1001)}, // decoded JSON numbers
		{json.Number("1001"), model.Int64, i64(1001)},
		{"1001", model.Int64, i64(1001)},
		{int32(5), model.Int32, i32(5)},
		{0.5, model.Double, f64(0.5)},
		{float32(0.5), model.Double, f64(0.5)},
		{3, model.Double, f64(3)},
		{0.7, model.Float, f32(0.7)},
		{true, model.Bool, bol(true)},
		{"s", model.String, str("s")},
		{[]byte("b"), model.Bytes, byt([]byte("b"))},
		{"b", model.Bytes, byt([]byte("b"))},
		{time.Unix(60, 5).UTC(), model.UnixTimestamp, ts(60)},
		{"1970-01-01T00:01:00Z", model.UnixTimestamp, ts(60)},
		{int64(60), model.UnixTimestamp, ts(60)},
		{60.9, model.UnixTimestamp, ts(60)},
		{map[string]any{"a": 1}, model.JSON, &types.Value{Val: &types.Value_JsonVal{JsonVal: `{"a":1}`}}},
		{[]int64{1, 2}, model.Int64List, &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1, 2}}}}},
		{[]any{1.0, 2.0}, model.Int32List, &types.Value{Val: &types.Value_Int32ListVal{Int32ListVal: &types.Int32List{Val: []int32{1, 2}}}}},
		{[3]string{"a", "b", "c"}, types.ValueType_STRING_SET, &types.Value{Val: &types.Value_StringSetVal{StringSetVal: &types.StringSet{Val: []string{"a", "b", "c"}}}}},
		{[][]byte{{1}}, model.BytesList, &types.Value{Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: [][]byte{{1}}}}}},
		{[]time.Time{time.Unix(1, 0)}, model.UnixTimestampList, &types.Value{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{1}}}}},
		{map[string]any{"a": 1, "b": "x", "c": []any{true}}, types.ValueType_MAP, &types.Value{Val: &types.Value_MapVal{MapVal: &types.Map{Val: map[string]*types.Value{
			"a": i64(1), "b": str("x"), "c": {Val: &types.Value_ListVal{ListVal: &types.RepeatedValue{Val: []*types.Value{bol(true)}}}},
		}}}}},
		{i64(9), model.Int64, i64(9)},
		{null(), model.Int64, null()},
	}
	for _, tc := range tests {
		got, err := FromGo(tc.x, tc.vt)
		if err != nil {
			t.Errorf("FromGo(%#v, %s): %v", tc.x, tc.vt, err)
			continue
		}
		equalValue(t, "FromGo", got, tc.want)
	}
}

func TestFromGoErrors(t *testing.T) {
	tests := []struct {
		x    any
		vt   model.ValueType
		want string
	}{
		{"abc", model.Int64, `expected INT64, got string "abc"`},
		{1.5, model.Int64, `expected INT64, got non-integral number 1.5`},
		{int64(math.MaxInt32) + 1, model.Int32, `expected INT32, got int64 2147483648 (out of range)`},
		{uint64(math.MaxUint64), model.Int64, `expected INT64, got uint64 18446744073709551615 (out of range)`},
		{1e300, model.Float, `expected FLOAT, got number 1e+300 (out of range)`},
		{1, model.String, `expected STRING, got int 1`},
		{"yes", model.Bool, `expected BOOL, got string "yes"`},
		{[]any{1, nil}, model.Int64List, `element 1: null is not allowed in INT64_LIST`},
		{[]any{"a"}, model.Int64List, `element 0: expected INT64, got string "a"`},
		{5, model.Int64List, `expected INT64_LIST, got int 5`},
		{str("a"), model.Int64, `expected INT64, got STRING`},
		{struct{}{}, types.ValueType_SCALAR_MAP, `unsupported value type`},
	}
	for _, tc := range tests {
		_, err := FromGo(tc.x, tc.vt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromGo(%#v, %s): error %v, want %q", tc.x, tc.vt, err, tc.want)
		}
	}
}

func TestGoRoundTrip(t *testing.T) {
	vals := map[model.ValueType]*types.Value{
		model.Int64:         i64(-1),
		model.Int32:         i32(2),
		model.Double:        f64(0.25),
		model.Float:         f32(0.7),
		model.Bool:          bol(true),
		model.String:        str("é"),
		model.Bytes:         byt([]byte{0, 255}),
		model.UnixTimestamp: ts(1652439582),
		model.Int64List:     {Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1}}}},
		model.FloatList:     {Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: []float32{0.7}}}},
		model.BoolList:      {Val: &types.Value_BoolListVal{BoolListVal: &types.BoolList{Val: []bool{false}}}},
		model.StringList:    {Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a", "b"}}}},
		model.UnixTimestampList: {
			Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{5}}},
		},
	}
	for vt, v := range vals {
		back, err := FromGo(ToGo(v), vt)
		if err != nil {
			t.Errorf("%s: %v", vt, err)
			continue
		}
		equalValue(t, vt.String()+" Go round trip", back, v)
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		v    *types.Value
		want model.ValueType
	}{
		{nil, types.ValueType_NULL},
		{null(), types.ValueType_NULL},
		{i64(1), model.Int64},
		{ts(1), model.UnixTimestamp},
		{&types.Value{Val: &types.Value_FloatListVal{}}, model.FloatList},
		{&types.Value{Val: &types.Value_ZonedTimestampVal{}}, types.ValueType_ZONED_TIMESTAMP},
	}
	for _, tc := range tests {
		if got := TypeOf(tc.v); got != tc.want {
			t.Errorf("TypeOf(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
