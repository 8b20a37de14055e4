package values

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

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
func byt(b []byte) *types.Value  { return &types.Value{Val: &types.Value_BytesVal{BytesVal: b}} }
func ts(s int64) *types.Value {
	return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: s}}
}
func null() *types.Value { return &types.Value{} }

func equalValue(t *testing.T, ctx string, got, want *types.Value) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", ctx, got, want)
	}
}

func TestFromJSON(t *testing.T) {
	const sec2022 = 1652439582 // 2022-05-13T10:59:42Z
	tests := []struct {
		raw  string
		vt   model.ValueType
		want *types.Value
	}{
		{`1001`, model.Int64, i64(1001)},
		{` -9223372036854775808 `, model.Int64, i64(math.MinInt64)},
		{`9223372036854775807`, model.Int64, i64(math.MaxInt64)},
		{`"1002"`, model.Int64, i64(1002)},
		{`1.0`, model.Int64, i64(1)},
		{`1e3`, model.Int64, i64(1000)},
		{`1001`, model.Int32, i32(1001)},
		{`-2147483648`, model.Int32, i32(math.MinInt32)},
		{`0.5`, model.Double, f64(0.5)},
		{`3`, model.Double, f64(3)},
		{`-1.5e-7`, model.Double, f64(-1.5e-7)},
		{`"NaN"`, model.Double, f64(math.NaN())},
		{`"-Infinity"`, model.Double, f64(math.Inf(-1))},
		{`0.7`, model.Float, f32(0.7)},
		{`true`, model.Bool, bol(true)},
		{`false`, model.Bool, bol(false)},
		{`"héllo \"x\"\n\u00e9\ud83d\ude00"`, model.String, str("héllo \"x\"\né😀")},
		{`""`, model.String, str("")},
		{`"aGVsbG8="`, model.Bytes, byt([]byte("hello"))},
		{`"aGVsbG8"`, model.Bytes, byt([]byte("hello"))},
		{`"_-8="`, model.Bytes, byt([]byte{0xff, 0xef})},
		{`1652439582`, model.UnixTimestamp, ts(sec2022)},
		{`1652439582.9`, model.UnixTimestamp, ts(sec2022)},
		{`-1.5`, model.UnixTimestamp, ts(-2)},
		{`"2022-05-13T10:59:42Z"`, model.UnixTimestamp, ts(sec2022)},
		{`"2022-05-13T10:59:42.123456+00:00"`, model.UnixTimestamp, ts(sec2022)},
		{`"2022-05-13 12:59:42+02:00"`, model.UnixTimestamp, ts(sec2022)},
		{`"2022-05-13 10:59:42"`, model.UnixTimestamp, ts(sec2022)},
		{`"2022-05-13"`, model.UnixTimestamp, ts(sec2022 - (10*3600 + 59*60 + 42))},
		{`"8b9c3c1e-4f1c-4b1a-9e5c-3f8f7a1c2d3e"`, model.UUID,
			&types.Value{Val: &types.Value_UuidVal{UuidVal: "8b9c3c1e-4f1c-4b1a-9e5c-3f8f7a1c2d3e"}}},
		{`12.50`, types.ValueType_DECIMAL, &types.Value{Val: &types.Value_DecimalVal{DecimalVal: "12.50"}}},
		{`"12.50"`, types.ValueType_DECIMAL, &types.Value{Val: &types.Value_DecimalVal{DecimalVal: "12.50"}}},
		{`{"a": [1, 2]}`, model.JSON, &types.Value{Val: &types.Value_JsonVal{JsonVal: `{"a": [1, 2]}`}}},
		{`"{\"a\":1}"`, model.JSON, &types.Value{Val: &types.Value_JsonVal{JsonVal: `{"a":1}`}}},
		{`null`, model.Int64, null()},
		{`null`, model.Int64List, null()},
		{`[1, 2, 3]`, model.Int64List, &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1, 2, 3}}}}},
		{`[]`, model.Int64List, &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{}}}},
		{`[1, 2]`, model.Int32List, &types.Value{Val: &types.Value_Int32ListVal{Int32ListVal: &types.Int32List{Val: []int32{1, 2}}}}},
		{`[0.5, 1]`, model.DoubleList, &types.Value{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{0.5, 1}}}}},
		{`[0.5]`, model.FloatList, &types.Value{Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: []float32{0.5}}}}},
		{`[true,false]`, model.BoolList, &types.Value{Val: &types.Value_BoolListVal{BoolListVal: &types.BoolList{Val: []bool{true, false}}}}},
		{`["a","b"]`, model.StringList, &types.Value{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a", "b"}}}}},
		{`["aGk="]`, model.BytesList, &types.Value{Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: [][]byte{[]byte("hi")}}}}},
		{`[0, "1970-01-01T00:00:01Z"]`, model.UnixTimestampList,
			&types.Value{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{0, 1}}}}},
		{`["a"]`, types.ValueType_STRING_SET, &types.Value{Val: &types.Value_StringSetVal{StringSetVal: &types.StringSet{Val: []string{"a"}}}}},
		{`[7]`, types.ValueType_INT64_SET, &types.Value{Val: &types.Value_Int64SetVal{Int64SetVal: &types.Int64Set{Val: []int64{7}}}}},
		{`{"n": 1, "x": 1.5, "s": "a", "b": true, "z": null, "l": [1], "m": {"k": "v"}}`, types.ValueType_MAP,
			&types.Value{Val: &types.Value_MapVal{MapVal: &types.Map{Val: map[string]*types.Value{
				"n": i64(1), "x": f64(1.5), "s": str("a"), "b": bol(true), "z": null(),
				"l": {Val: &types.Value_ListVal{ListVal: &types.RepeatedValue{Val: []*types.Value{i64(1)}}}},
				"m": {Val: &types.Value_MapVal{MapVal: &types.Map{Val: map[string]*types.Value{"k": str("v")}}}},
			}}}}},
		{`[{"a": 1}]`, types.ValueType_STRUCT_LIST, &types.Value{Val: &types.Value_StructListVal{StructListVal: &types.MapList{
			Val: []*types.Map{{Val: map[string]*types.Value{"a": i64(1)}}}}}}},
	}
	for _, tc := range tests {
		got, err := FromJSON([]byte(tc.raw), tc.vt)
		if err != nil {
			t.Errorf("FromJSON(%s, %s): %v", tc.raw, tc.vt, err)
			continue
		}
		equalValue(t, "FromJSON("+tc.raw+", "+tc.vt.String()+")", got, tc.want)
	}
}

func TestFromJSONErrors(t *testing.T) {
	tests := []struct {
		raw  string
		vt   model.ValueType
		want string
		typ  bool // a TypeError (errors.Is ErrType)
	}{
		{`"abc"`, model.Int64, `expected INT64, got string "abc"`, true},
		{`1.5`, model.Int64, `expected INT64, got non-integral number 1.5`, true},
		{`9223372036854775808`, model.Int64, `expected INT64, got number 9223372036854775808 (out of range)`, true},
		{`1e19`, model.Int64, `expected INT64, got number 1e19 (out of range)`, true},
		{`2147483648`, model.Int32, `expected INT32, got number 2147483648 (out of range)`, true},
		{`"2147483648"`, model.Int32, `expected INT32, got string "2147483648" (out of range)`, true},
		{`true`, model.Int64, `expected INT64, got bool true`, true},
		{`[1]`, model.Int64, `expected INT64, got array`, true},
		{`{"a":1}`, model.Double, `expected DOUBLE, got object`, true},
		{`"x"`, model.Double, `expected DOUBLE, got string "x"`, true},
		{`1e39`, model.Float, `expected FLOAT, got number 1e39 (out of range)`, true},
		{`1001`, model.String, `expected STRING, got number 1001`, true},
		{`"yes"`, model.Bool, `expected BOOL, got string "yes"`, true},
		{`"!!"`, model.Bytes, `expected BYTES, got string "!!" (not base64)`, true},
		{`"tomorrow"`, model.UnixTimestamp, `expected UNIX_TIMESTAMP, got string "tomorrow"`, true},
		{`[1, null]`, model.Int64List, `element 1: null is not allowed in INT64_LIST`, false},
		{`[1, "a"]`, model.Int64List, `element 1: expected INT64, got string "a"`, true},
		{`1`, model.Int64List, `expected INT64_LIST, got number 1`, true},
		{`1`, types.ValueType_SCALAR_MAP, `unsupported value type`, false},
		{``, model.Int64, `invalid JSON: empty input`, false},
		{`1 2`, model.Int64, `invalid JSON: unexpected data after value at offset 2`, false},
		{`01`, model.Int64, `invalid JSON`, false},
		{`-`, model.Int64, `invalid JSON: invalid number`, false},
		{`"abc`, model.String, `invalid JSON: unterminated string`, false},
		{"\"a\x01\"", model.String, `invalid JSON: control character`, false},
		{`[1,`, model.Int64List, `invalid JSON`, false},
		{`nul`, model.Int64, `invalid JSON: invalid literal`, false},
	}
	for _, tc := range tests {
		_, err := FromJSON([]byte(tc.raw), tc.vt)
		if err == nil {
			t.Errorf("FromJSON(%q, %s): no error, want %q", tc.raw, tc.vt, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromJSON(%q, %s): error %q, want it to contain %q", tc.raw, tc.vt, err, tc.want)
		}
		if got := errors.Is(err, ErrType); got != tc.typ {
			t.Errorf("FromJSON(%q, %s): errors.Is(err, ErrType) = %v, want %v", tc.raw, tc.vt, got, tc.typ)
		}
	}
}

func TestDecodeColumn(t *testing.T) {
	tests := []struct {
		raw  string
		vt   model.ValueType
		want []*types.Value
	}{
		{`[1001, 1002, null, "1003"]`, model.Int64, []*types.Value{i64(1001), i64(1002), null(), i64(1003)}},
		{` [ 1001 , 1002 ] `, model.Int32, []*types.Value{i32(1001), i32(1002)}},
		{`[]`, model.Int64, []*types.Value{}},
		{`[0.5, 2, null]`, model.Double, []*types.Value{f64(0.5), f64(2), null()}},
		{`[0.25]`, model.Float, []*types.Value{f32(0.25)}},
		{`["a", "\u00e9", "\"q\""]`, model.String, []*types.Value{str("a"), str("é"), str(`"q"`)}},
		{`[true, null, false]`, model.Bool, []*types.Value{bol(true), null(), bol(false)}},
		{`[0, "1970-01-01T00:01:00Z"]`, model.UnixTimestamp, []*types.Value{ts(0), ts(60)}},
		{`["aGk="]`, model.Bytes, []*types.Value{byt([]byte("hi"))}},
		{`[[1, 2], null, []]`, model.Int64List, []*types.Value{
			{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1, 2}}}},
			null(),
			{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{}}},
		}},
	}
	for _, tc := range tests {
		got, err := DecodeColumn([]byte(tc.raw), tc.vt)
		if err != nil {
			t.Errorf("DecodeColumn(%s, %s): %v", tc.raw, tc.vt, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("DecodeColumn(%s, %s): %d values, want %d", tc.raw, tc.vt, len(got), len(tc.want))
			continue
		}
		for i := range got {
			equalValue(t, "DecodeColumn("+tc.raw+")["+string(rune('0'+i))+"]", got[i], tc.want[i])
		}
	}
}

func TestDecodeColumnErrors(t *testing.T) {
	tests := []struct {
		raw, want string
		vt        model.ValueType
	}{
		{`[1, "x"]`, `index 1: expected INT64, got string "x"`, model.Int64},
		{`[1, 2.5]`, `index 1: expected INT32, got non-integral number 2.5`, model.Int32},
		{`[1, 3000000000]`, `index 1: expected INT32, got number 3000000000 (out of range)`, model.Int32},
		{`1001`, `expected an array of INT64, got number 1001`, model.Int64},
		{`{"a": 1}`, `expected an array of INT64, got object`, model.Int64},
		{`[1, 2`, `invalid JSON`, model.Int64},
		{`[1 2]`, `invalid JSON: expected ',' or ']' in array`, model.Int64},
		{`[1] x`, `invalid JSON: unexpected data after value`, model.Int64},
		{`[[1, null]]`, `index 0: element 1: null is not allowed in INT64_LIST`, model.Int64List},
	}
	for _, tc := range tests {
		_, err := DecodeColumn([]byte(tc.raw), tc.vt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeColumn(%s, %s): error %v, want %q", tc.raw, tc.vt, err, tc.want)
		}
	}
}

func TestAppendJSONGolden(t *testing.T) {
	tests := []struct {
		v    *types.Value
		want string
	}{
		{nil, `null`},
		{null(), `null`},
		{&types.Value{Val: &types.Value_NullVal{}}, `null`},
		{i64(1001), `1001`},
		{i64(math.MinInt64), `-9223372036854775808`},
		{i32(-7), `-7`},
		{ts(1640991600), `1640991600`},
		{f64(0.7), `0.7`},
		{f64(1), `1.0`},
		{f64(-2), `-2.0`},
		{f64(0), `0.0`},
		{f64(0.0001), `0.0001`},
		{f64(0.00001), `1e-05`},
		{f64(1.5e-7), `1.5e-07`},
		{f64(1234567890123456), `1234567890123456.0`},
		{f64(1e16), `1e+16`},
		{f64(1.5e300), `1.5e+300`},
		{f64(123.456), `123.456`},
		{f64(math.NaN()), `"NaN"`},
		{f64(math.Inf(1)), `"Infinity"`},
		{f64(math.Inf(-1)), `"-Infinity"`},
		{f32(float32(math.Inf(-1))), `"-Infinity"`},
		{f32(0.7), `0.7`},
		{f32(0.1), `0.1`},
		{f32(3), `3.0`},
		{bol(true), `true`},
		{str(`a"b\c` + "\n\t\x01é<>&"), `"a\"b\\c\n\t\u0001é<>&"`},
		{str("bad\xffutf8"), "\"bad\ufffdutf8\""},
		{byt([]byte("hello")), `"aGVsbG8="`},
		{byt(nil), `""`},
		{&types.Value{Val: &types.Value_JsonVal{JsonVal: `{"a": 1}`}}, `{"a": 1}`},
		{&types.Value{Val: &types.Value_JsonVal{JsonVal: `not json`}}, `"not json"`},
		{&types.Value{Val: &types.Value_UuidVal{UuidVal: "u"}}, `"u"`},
		{&types.Value{Val: &types.Value_DecimalVal{DecimalVal: "12.50"}}, `"12.50"`},
		{&types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1, 2}}}}, `[1,2]`},
		{&types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{}}}, `[]`},
		{&types.Value{Val: &types.Value_Int32SetVal{Int32SetVal: &types.Int32Set{Val: []int32{3}}}}, `[3]`},
		{&types.Value{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{1, 0.5}}}}, `[1.0,0.5]`},
		{&types.Value{Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: []float32{0.7}}}}, `[0.7]`},
		{&types.Value{Val: &types.Value_BoolListVal{BoolListVal: &types.BoolList{Val: []bool{true, false}}}}, `[true,false]`},
		{&types.Value{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a", "b"}}}}, `["a","b"]`},
		{&types.Value{Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: [][]byte{[]byte("hi")}}}}, `["aGk="]`},
		{&types.Value{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{0, 60}}}}, `[0,60]`},
		{&types.Value{Val: &types.Value_MapVal{MapVal: &types.Map{Val: map[string]*types.Value{"b": i64(1), "a": str("x"), "c": null()}}}}, `{"a":"x","b":1,"c":null}`},
		{&types.Value{Val: &types.Value_StructListVal{StructListVal: &types.MapList{Val: []*types.Map{{Val: map[string]*types.Value{"k": bol(false)}}}}}}, `[{"k":false}]`},
		{&types.Value{Val: &types.Value_ListVal{ListVal: &types.RepeatedValue{Val: []*types.Value{i64(1), str("a"), null()}}}}, `[1,"a",null]`},
		{&types.Value{Val: &types.Value_ZonedTimestampVal{ZonedTimestampVal: &types.ZonedTimestamp{UnixTimestamp: 0, Zone: "-07:00"}}}, `"1969-12-31T17:00:00-07:00"`},
		{&types.Value{Val: &types.Value_ZonedTimestampVal{ZonedTimestampVal: &types.ZonedTimestamp{UnixTimestamp: 0}}}, `"1970-01-01T00:00:00+00:00"`},
		{&types.Value{Val: &types.Value_ScalarMapVal{ScalarMapVal: &types.ScalarMap{}}}, `null`},
	}
	for _, tc := range tests {
		got := string(AppendJSON(nil, tc.v))
		if got != tc.want {
			t.Errorf("AppendJSON(%v) = %s, want %s", tc.v, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("AppendJSON(%v) = %s is not valid JSON", tc.v, got)
		}
	}
}

func TestAppendFloatMatchesShortestRoundTrip(t *testing.T) {
	// Every rendering must parse back to the same float (the repr contract).
	// -0.0 is +0 in Go: negative zero needs Copysign, and == cannot tell the
	// two zeros apart, so the sign is compared too.
	for _, f := range []float64{0.1, 1.0 / 3, 2.5e-5, 9.999999999999999e15, 1e15, 123456789.125, 5e-324, math.MaxFloat64, 0, math.Copysign(0, -1)} {
		got := AppendJSON(nil, f64(f))
		var back float64
		if err := json.Unmarshal(got, &back); err != nil || back != f || math.Signbit(back) != math.Signbit(f) {
			t.Errorf("AppendJSON(%v) = %s, parses to %v (%v)", f, got, back, err)
		}
	}
}

func TestAppendTimestampJSONGolden(t *testing.T) {
	base := time.Date(2021, 12, 31, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(0, 0), `"1970-01-01T00:00:00Z"`},
		{base, `"2021-12-31T23:00:00Z"`},
		{base.Add(500 * time.Millisecond), `"2021-12-31T23:00:00.500Z"`},
		{base.Add(1 * time.Millisecond), `"2021-12-31T23:00:00.001Z"`},
		{base.Add(1 * time.Microsecond), `"2021-12-31T23:00:00.000001Z"`},
		{base.Add(123450 * time.Microsecond), `"2021-12-31T23:00:00.123450Z"`},
		{base.Add(1), `"2021-12-31T23:00:00.000000001Z"`},
		{base.Add(999999999), `"2021-12-31T23:00:00.999999999Z"`},
		{base.In(time.FixedZone("x", -7*3600)), `"2021-12-31T23:00:00Z"`},
	}
	for _, tc := range tests {
		if got := string(AppendTimestampJSON(nil, tc.t)); got != tc.want {
			t.Errorf("AppendTimestampJSON(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}

func TestAppendJSONScalarsDoNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	vals := []*types.Value{i64(1001), i32(7), f64(0.7), f32(0.7), f64(1e-9), bol(true), str("hello \"world\""), byt([]byte("hi")), ts(1), null()}
	allocs := testing.AllocsPerRun(100, func() {
		b := buf[:0]
		for _, v := range vals {
			b = AppendJSON(b, v)
		}
		_ = AppendTimestampJSON(b, time.Unix(1640991600, 5e8))
	})
	if allocs != 0 {
		t.Errorf("AppendJSON of scalars allocates %v times per run, want 0", allocs)
	}
}

// TestJSONRoundTrip checks FromJSON(AppendJSON(v)) == v for every type whose
// JSON rendering is lossless.
func TestJSONRoundTrip(t *testing.T) {
	vals := map[model.ValueType]*types.Value{
		model.Int64:         i64(-42),
		model.Int32:         i32(math.MaxInt32),
		model.Double:        f64(0.1),
		model.Float:         f32(0.7),
		model.Bool:          bol(false),
		model.String:        str("a\"\\\n\x00é😀"),
		model.Bytes:         byt([]byte{0, 1, 2, 255}),
		model.UnixTimestamp: ts(-86400),
		model.StringList:    {Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"x", ""}}}},
		model.DoubleList:    {Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{1, 2.5}}}},
		model.BytesList:     {Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: [][]byte{{1}, {}}}}},
		types.ValueType_MAP: {Val: &types.Value_MapVal{MapVal: &types.Map{Val: map[string]*types.Value{"a": i64(1), "b": str("s")}}}},
	}
	for vt, v := range vals {
		raw := AppendJSON(nil, v)
		back, err := FromJSON(raw, vt)
		if err != nil {
			t.Errorf("%s: FromJSON(%s): %v", vt, raw, err)
			continue
		}
		equalValue(t, vt.String()+" round trip via "+string(raw), back, v)
	}
}

func FuzzFromJSON(f *testing.F) {
	seeds := []string{`1001`, `"abc"`, `[1, 2, null]`, `{"a": [1, {"b": null}]}`, `1.5e300`, `"2022-05-13T10:59:42Z"`,
		`"\ud83d\ude00"`, `[[1],[2,3]]`, `-0`, `"aGk="`, `[true, false]`, `[[[[[[[[[[`, `"\u"`, `1e`, `[1,]`}
	vts := []model.ValueType{model.Int64, model.Int32, model.Double, model.Float, model.Bool, model.String, model.Bytes,
		model.UnixTimestamp, model.JSON, types.ValueType_DECIMAL, types.ValueType_MAP, types.ValueType_STRUCT_LIST,
		model.Int64List, model.StringList, model.DoubleList, model.BytesList, model.UnixTimestampList, types.ValueType_BOOL_SET}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	f.Fuzz(func(t *testing.T, raw []byte, k uint8) {
		vt := vts[int(k)%len(vts)]
		v, err := FromJSON(raw, vt)
		if err == nil {
			if v == nil {
				t.Fatalf("FromJSON(%q, %s) returned nil without error", raw, vt)
			}
			if !json.Valid(raw) {
				t.Fatalf("FromJSON accepted invalid JSON %q", raw)
			}
			// What we accept renders as valid JSON.
			if out := AppendJSON(nil, v); !json.Valid(out) {
				t.Fatalf("AppendJSON(FromJSON(%q, %s)) = %q is not valid JSON", raw, vt, out)
			}
		}
		col, err := DecodeColumn(raw, vt)
		if err != nil {
			return
		}
		// A decoded column agrees element-wise with FromJSON.
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			t.Fatalf("DecodeColumn accepted %q that encoding/json rejects: %v", raw, err)
		}
		if len(elems) != len(col) {
			t.Fatalf("DecodeColumn(%q) gave %d values, want %d", raw, len(col), len(elems))
		}
		for i, e := range elems {
			one, err := FromJSON(e, vt)
			if err != nil {
				t.Fatalf("DecodeColumn accepted element %d %q that FromJSON rejects: %v", i, e, err)
			}
			if !proto.Equal(one, col[i]) && !(isNaN(one) && isNaN(col[i])) {
				t.Fatalf("element %d of %q: DecodeColumn %v, FromJSON %v", i, raw, col[i], one)
			}
		}
	})
}

func isNaN(v *types.Value) bool {
	switch x := v.GetVal().(type) {
	case *types.Value_DoubleVal:
		return math.IsNaN(x.DoubleVal)
	case *types.Value_FloatVal:
		return math.IsNaN(float64(x.FloatVal))
	}
	return false
}

// TestAppendFloatFastPathMatchesRepr checks the positional fast path of
// appendFloat against appendFloatRepr (the general rendering) for random
// float32 and float64 bit patterns and the edges of the fast range.
func TestAppendFloatFastPathMatchesRepr(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(f float64, bits int) {
		if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return
		}
		got, want := appendFloat(nil, f, bits), appendFloatRepr(nil, f, bits)
		if string(got) != string(want) {
			t.Fatalf("appendFloat(%v, %d) = %s, want %s", f, bits, got, want)
		}
	}
	edges := []float64{1e-4, 1e15, 1, 10, 0.5, 123456789, 999999999999999.9, 1e15 - 0.125}
	for _, e := range edges {
		for _, f := range []float64{e, math.Nextafter(e, 0), math.Nextafter(e, 2e15), -e} {
			check(f, 64)
			f32 := float32(f)
			check(float64(f32), 32)
			check(float64(math.Nextafter32(f32, 0)), 32)
			check(float64(math.Nextafter32(f32, 2e15)), 32)
		}
	}
	for i := 0; i < 200_000; i++ {
		check(float64(math.Float32frombits(rng.Uint32())), 32)
		check(math.Float64frombits(rng.Uint64()), 64)
		// Values in the fast range, where random bit patterns rarely land.
		x := math.Pow(10, rng.Float64()*20-5) * float64(1-2*rng.IntN(2))
		check(x, 64)
		check(float64(float32(x)), 32)
		check(math.Round(x), 64)
	}
}
