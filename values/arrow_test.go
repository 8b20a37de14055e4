package values

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// buildArrow builds a one-column array of dt from Go values (nil = null).
func buildArrow(t *testing.T, mem memory.Allocator, dt arrow.DataType, vals ...any) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
			continue
		}
		appendGo(t, b, v)
	}
	return b.NewArray()
}

func appendGo(t *testing.T, b array.Builder, v any) {
	t.Helper()
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(int8(v.(int)))
	case *array.Int16Builder:
		b.Append(int16(v.(int)))
	case *array.Int32Builder:
		b.Append(int32(v.(int)))
	case *array.Int64Builder:
		b.Append(int64(v.(int)))
	case *array.Uint8Builder:
		b.Append(uint8(v.(int)))
	case *array.Uint16Builder:
		b.Append(uint16(v.(int)))
	case *array.Uint32Builder:
		b.Append(uint32(v.(int)))
	case *array.Uint64Builder:
		b.Append(v.(uint64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.LargeStringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.(int)))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.(int)))
	case *array.Date64Builder:
		b.Append(arrow.Date64(v.(int)))
	case *array.ListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			if e == nil {
				b.ValueBuilder().AppendNull()
			} else {
				appendGo(t, b.ValueBuilder(), e)
			}
		}
	case *array.LargeListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			appendGo(t, b.ValueBuilder(), e)
		}
	case *array.FixedSizeListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			appendGo(t, b.ValueBuilder(), e)
		}
	default:
		t.Fatalf("appendGo: unhandled builder %T", b)
	}
}

func TestFromArrow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tsType := func(u arrow.TimeUnit) arrow.DataType { return &arrow.TimestampType{Unit: u, TimeZone: "UTC"} }
	tests := []struct {
		name string
		dt   arrow.DataType
		in   []any
		vt   model.ValueType
		want []*types.Value
	}{
		{"int64", arrow.PrimitiveTypes.Int64, []any{1001, nil, -5}, model.Int64, []*types.Value{i64(1001), null(), i64(-5)}},
		{"int64 as int32", arrow.PrimitiveTypes.Int64, []any{7}, model.Int32, []*types.Value{i32(7)}},
		{"int32", arrow.PrimitiveTypes.Int32, []any{1, nil}, model.Int32, []*types.Value{i32(1), null()}},
		{"int32 as int64", arrow.PrimitiveTypes.Int32, []any{1}, model.Int64, []*types.Value{i64(1)}},
		{"int16", arrow.PrimitiveTypes.Int16, []any{-300}, model.Int64, []*types.Value{i64(-300)}},
		{"int8", arrow.PrimitiveTypes.Int8, []any{-3}, model.Int32, []*types.Value{i32(-3)}},
		{"uint8", arrow.PrimitiveTypes.Uint8, []any{250}, model.Int64, []*types.Value{i64(250)}},
		{"uint16", arrow.PrimitiveTypes.Uint16, []any{65000}, model.Int32, []*types.Value{i32(65000)}},
		{"uint32", arrow.PrimitiveTypes.Uint32, []any{4000000000}, model.Int64, []*types.Value{i64(4000000000)}},
		{"uint64", arrow.PrimitiveTypes.Uint64, []any{uint64(1 << 40)}, model.Int64, []*types.Value{i64(1 << 40)}},
		{"int64 as double", arrow.PrimitiveTypes.Int64, []any{3}, model.Double, []*types.Value{f64(3)}},
		{"float64", arrow.PrimitiveTypes.Float64, []any{0.5, nil}, model.Double, []*types.Value{f64(0.5), null()}},
		{"float64 as float", arrow.PrimitiveTypes.Float64, []any{0.25}, model.Float, []*types.Value{f32(0.25)}},
		{"float32", arrow.PrimitiveTypes.Float32, []any{float32(0.7)}, model.Float, []*types.Value{f32(0.7)}},
		{"float32 as double", arrow.PrimitiveTypes.Float32, []any{float32(0.5)}, model.Double, []*types.Value{f64(0.5)}},
		{"integral float as int64", arrow.PrimitiveTypes.Float64, []any{1001.0, nil}, model.Int64, []*types.Value{i64(1001), null()}},
		{"string", arrow.BinaryTypes.String, []any{"a", nil, ""}, model.String, []*types.Value{str("a"), null(), str("")}},
		{"large string", arrow.BinaryTypes.LargeString, []any{"b"}, model.String, []*types.Value{str("b")}},
		{"string as uuid", arrow.BinaryTypes.String, []any{"u"}, model.UUID, []*types.Value{{Val: &types.Value_UuidVal{UuidVal: "u"}}}},
		{"string as json", arrow.BinaryTypes.String, []any{`{"a":1}`}, model.JSON, []*types.Value{{Val: &types.Value_JsonVal{JsonVal: `{"a":1}`}}}},
		{"binary", arrow.BinaryTypes.Binary, []any{[]byte("hi"), nil}, model.Bytes, []*types.Value{byt([]byte("hi")), null()}},
		{"string as bytes", arrow.BinaryTypes.String, []any{"hi"}, model.Bytes, []*types.Value{byt([]byte("hi"))}},
		{"bool", arrow.FixedWidthTypes.Boolean, []any{true, nil, false}, model.Bool, []*types.Value{bol(true), null(), bol(false)}},
		{"timestamp s", tsType(arrow.Second), []any{1652439582}, model.UnixTimestamp, []*types.Value{ts(1652439582)}},
		{"timestamp ms", tsType(arrow.Millisecond), []any{1652439582999, nil}, model.UnixTimestamp, []*types.Value{ts(1652439582), null()}},
		{"timestamp us", tsType(arrow.Microsecond), []any{1652439582000001}, model.UnixTimestamp, []*types.Value{ts(1652439582)}},
		{"timestamp ns", tsType(arrow.Nanosecond), []any{1652439582123456789}, model.UnixTimestamp, []*types.Value{ts(1652439582)}},
		{"timestamp before epoch floors", tsType(arrow.Millisecond), []any{-1}, model.UnixTimestamp, []*types.Value{ts(-1)}},
		{"naive timestamp", &arrow.TimestampType{Unit: arrow.Microsecond}, []any{1_000_000}, model.UnixTimestamp, []*types.Value{ts(1)}},
		{"date32", arrow.FixedWidthTypes.Date32, []any{1}, model.UnixTimestamp, []*types.Value{ts(86400)}},
		{"date64", arrow.FixedWidthTypes.Date64, []any{86400000}, model.UnixTimestamp, []*types.Value{ts(86400)}},
		{"int64 as timestamp", arrow.PrimitiveTypes.Int64, []any{60}, model.UnixTimestamp, []*types.Value{ts(60)}},
		{"list<int64>", arrow.ListOf(arrow.PrimitiveTypes.Int64), []any{[]any{1, 2}, nil, []any{}}, model.Int64List, []*types.Value{
			{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1, 2}}}},
			null(),
			{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{}}},
		}},
		{"list<float32> as double list", arrow.ListOf(arrow.PrimitiveTypes.Float32), []any{[]any{float32(0.5)}}, model.DoubleList, []*types.Value{
			{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{0.5}}}},
		}},
		{"large_list<string>", arrow.LargeListOf(arrow.BinaryTypes.String), []any{[]any{"a", "b"}}, model.StringList, []*types.Value{
			{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a", "b"}}}},
		}},
		{"fixed_size_list<float32>", arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float32), []any{[]any{float32(1), float32(2)}}, model.FloatList, []*types.Value{
			{Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: []float32{1, 2}}}},
		}},
		{"list<bool> as set", arrow.ListOf(arrow.FixedWidthTypes.Boolean), []any{[]any{true}}, types.ValueType_BOOL_SET, []*types.Value{
			{Val: &types.Value_BoolSetVal{BoolSetVal: &types.BoolSet{Val: []bool{true}}}},
		}},
		{"list<timestamp>", arrow.ListOf(tsType(arrow.Microsecond)), []any{[]any{2_000_000}}, model.UnixTimestampList, []*types.Value{
			{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{2}}}},
		}},
		{"list<binary>", arrow.ListOf(arrow.BinaryTypes.Binary), []any{[]any{[]byte("x")}}, model.BytesList, []*types.Value{
			{Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: [][]byte{[]byte("x")}}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			col := buildArrow(t, mem, tc.dt, tc.in...)
			defer col.Release()
			for i, want := range tc.want {
				got, err := FromArrow(col, i, tc.vt)
				if err != nil {
					t.Fatalf("FromArrow row %d: %v", i, err)
				}
				equalValue(t, "FromArrow", got, want)
			}
			all, err := ColumnFromArrow(col, tc.vt)
			if err != nil {
				t.Fatalf("ColumnFromArrow: %v", err)
			}
			if len(all) != len(tc.want) {
				t.Fatalf("ColumnFromArrow: %d values, want %d", len(all), len(tc.want))
			}
			for i := range all {
				equalValue(t, "ColumnFromArrow", all[i], tc.want[i])
			}
		})
	}
}

func TestFromArrowDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, s := range []string{"x", "y", "x"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	col := b.NewArray()
	defer col.Release()
	got, err := ColumnFromArrow(col, model.String)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []*types.Value{str("x"), str("y"), str("x"), null()} {
		equalValue(t, "dictionary", got[i], want)
	}
}

func TestFromArrowErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		dt   arrow.DataType
		in   any
		vt   model.ValueType
		want string
	}{
		{arrow.BinaryTypes.String, "a", model.Int64, "expected INT64, got arrow utf8"},
		{arrow.PrimitiveTypes.Int64, 3_000_000_000, model.Int32, "expected INT32, got arrow int64 3000000000 (out of range)"},
		{arrow.PrimitiveTypes.Uint64, uint64(1 << 63), model.Int64, "expected INT64, got arrow uint64 9223372036854775808 (out of range)"},
		{arrow.PrimitiveTypes.Float64, 1.5, model.Int64, "expected INT64, got non-integral arrow float64 1.5"},
		{arrow.PrimitiveTypes.Int64, 1, model.String, "expected STRING, got arrow int64"},
		{arrow.PrimitiveTypes.Int64, 1, model.Bool, "expected BOOL, got arrow int64"},
		{arrow.FixedWidthTypes.Boolean, true, model.Int64List, "expected INT64_LIST, got arrow bool"},
		{arrow.ListOf(arrow.PrimitiveTypes.Int64), []any{1, nil}, model.Int64List, "element 1: null is not allowed in INT64_LIST"},
		{arrow.ListOf(arrow.BinaryTypes.String), []any{"a"}, model.Int64List, "element 0: expected INT64, got arrow utf8"},
		{arrow.PrimitiveTypes.Int64, 1, types.ValueType_MAP, "unsupported value type"},
	}
	for _, tc := range tests {
		col := buildArrow(t, mem, tc.dt, tc.in)
		_, err := FromArrow(col, 0, tc.vt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromArrow(%s, %s): error %v, want %q", tc.dt, tc.vt, err, tc.want)
		}
		_, err = ColumnFromArrow(col, tc.vt)
		if err == nil || !strings.Contains(err.Error(), "row 0: "+tc.want) {
			t.Errorf("ColumnFromArrow(%s, %s): error %v, want %q", tc.dt, tc.vt, err, "row 0: "+tc.want)
		}
		col.Release()
	}
	col := buildArrow(t, mem, arrow.PrimitiveTypes.Int64, 1)
	defer col.Release()
	if _, err := FromArrow(col, 1, model.Int64); err == nil {
		t.Error("FromArrow past the end: no error")
	}
}

func TestArrowRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cols := map[model.ValueType][]*types.Value{
		model.Int64:         {i64(1), null(), i64(-1)},
		model.Int32:         {i32(1), nil},
		model.Double:        {f64(0.5), null()},
		model.Float:         {f32(0.7)},
		model.Bool:          {bol(true), bol(false), null()},
		model.String:        {str("a"), null(), str("")},
		model.Bytes:         {byt([]byte{0, 1}), null()},
		model.UnixTimestamp: {ts(1652439582), null(), ts(-5)},
		model.UUID:          {{Val: &types.Value_UuidVal{UuidVal: "u"}}},
		model.Int64List:     {{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1, 2}}}}, null()},
		model.StringList:    {{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a"}}}}},
		model.FloatList:     {{Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: []float32{0.5}}}}},
		model.BoolList:      {{Val: &types.Value_BoolListVal{BoolListVal: &types.BoolList{Val: []bool{true}}}}},
		model.BytesList:     {{Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: [][]byte{{9}}}}}},
		model.UnixTimestampList: {
			{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: []int64{0, 60}}}},
		},
		types.ValueType_INT32_SET: {{Val: &types.Value_Int32SetVal{Int32SetVal: &types.Int32Set{Val: []int32{3}}}}},
	}
	for vt, vals := range cols {
		arr, err := ToArrow(mem, vt, vals)
		if err != nil {
			t.Errorf("%s: ToArrow: %v", vt, err)
			continue
		}
		wantType, _ := ArrowType(vt)
		if !arrow.TypeEqual(arr.DataType(), wantType) {
			t.Errorf("%s: column type %s, want %s", vt, arr.DataType(), wantType)
		}
		back, err := ColumnFromArrow(arr, vt)
		arr.Release()
		if err != nil {
			t.Errorf("%s: ColumnFromArrow: %v", vt, err)
			continue
		}
		for i := range vals {
			want := vals[i]
			if want == nil {
				want = null()
			}
			equalValue(t, vt.String()+" round trip", back[i], want)
		}
	}
}

func TestArrowType(t *testing.T) {
	tests := map[model.ValueType]string{
		model.Bytes:                "binary",
		model.String:               "utf8",
		model.JSON:                 "utf8",
		model.Int32:                "int32",
		model.Int64:                "int64",
		model.Double:               "float64",
		model.Float:                "float32",
		model.Bool:                 "bool",
		model.UnixTimestamp:        "timestamp[us, tz=UTC]",
		model.Int64List:            "list<item: int64, nullable>",
		model.UnixTimestampList:    "list<item: timestamp[us, tz=UTC], nullable>",
		types.ValueType_STRING_SET: "list<item: utf8, nullable>",
	}
	for vt, want := range tests {
		dt, err := ArrowType(vt)
		if err != nil {
			t.Errorf("ArrowType(%s): %v", vt, err)
			continue
		}
		if dt.String() != want {
			t.Errorf("ArrowType(%s) = %s, want %s", vt, dt, want)
		}
	}
	if _, err := ArrowType(types.ValueType_SCALAR_MAP); err == nil {
		t.Error("ArrowType(SCALAR_MAP): no error")
	}
}

func TestColumnBuilderErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		vt   model.ValueType
		v    *types.Value
		want string
	}{
		{model.Int64, str("a"), "expected INT64, got STRING"},
		{model.Int32, i64(1 << 40), "expected INT32, got INT64 1099511627776 (out of range)"},
		{model.Bool, i64(1), "expected BOOL, got INT64"},
		{model.Bytes, str("a"), "expected BYTES, got STRING"},
		{model.Int64List, i64(1), "expected INT64_LIST, got INT64"},
		{model.Int64List, &types.Value{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: []string{"a"}}}}, "element 0: expected INT64, got STRING"},
	}
	for _, tc := range tests {
		_, err := ToArrow(mem, tc.vt, []*types.Value{tc.v})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ToArrow(%s, %v): error %v, want %q", tc.vt, tc.v, err, tc.want)
		}
	}
}

// decimalArray builds a one-column decimal array of dt from decimal texts
// ("" = null), through the builders' string parsing.
func decimalArray(t *testing.T, dt arrow.DataType, vals ...string) arrow.Array {
	t.Helper()
	b := array.NewBuilder(memory.DefaultAllocator, dt)
	defer b.Release()
	for _, v := range vals {
		if v == "" {
			b.AppendNull()
			continue
		}
		if err := b.AppendValueFromString(v); err != nil {
			t.Fatalf("%s %q: %v", dt, v, err)
		}
	}
	return b.NewArray()
}

// TestFromArrowDecimal reads decimal columns, as Parquet files written by
// Spark and PostgreSQL NUMERIC(p,s) columns arrive, under the numeric
// types: integers exactly (ids above 2^53 keep every digit), floats
// rounded once to the nearest.
func TestFromArrowDecimal(t *testing.T) {
	i64 := func(n int64) *types.Value { return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}} }
	tests := []struct {
		dt   arrow.DataType
		in   string
		vt   model.ValueType
		want *types.Value // nil: an error containing err
		err  string
	}{
		{&arrow.Decimal128Type{Precision: 20, Scale: 0}, "9007199254740993", model.Int64, i64(9007199254740993), ""},
		{&arrow.Decimal128Type{Precision: 20, Scale: 0}, "-9007199254740993", model.Int64, i64(-9007199254740993), ""},
		{&arrow.Decimal128Type{Precision: 20, Scale: 0}, "9223372036854775807", model.Int64, i64(9223372036854775807), ""},
		{&arrow.Decimal128Type{Precision: 20, Scale: 0}, "-9223372036854775808", model.Int64, i64(-9223372036854775808), ""},
		{&arrow.Decimal128Type{Precision: 20, Scale: 0}, "9223372036854775808", model.Int64, nil, "(out of range)"},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "12.00", model.Int64, i64(12), ""},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "12.34", model.Int64, nil, "non-integral arrow decimal(10, 2) 12.34"},
		{&arrow.Decimal64Type{Precision: 18, Scale: 0}, "2147483647", model.Int32, &types.Value{Val: &types.Value_Int32Val{Int32Val: 2147483647}}, ""},
		{&arrow.Decimal64Type{Precision: 18, Scale: 0}, "2147483648", model.Int32, nil, "(out of range)"},
		{&arrow.Decimal256Type{Precision: 40, Scale: 0}, "9007199254740993", model.Int64, i64(9007199254740993), ""},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "12.34", model.Double, &types.Value{Val: &types.Value_DoubleVal{DoubleVal: 12.34}}, ""},
		{&arrow.Decimal128Type{Precision: 38, Scale: 18}, "0.100000000000000000", model.Double, &types.Value{Val: &types.Value_DoubleVal{DoubleVal: 0.1}}, ""},
		{&arrow.Decimal128Type{Precision: 20, Scale: 0}, "9007199254740993", model.Double, &types.Value{Val: &types.Value_DoubleVal{DoubleVal: 9007199254740992}}, ""},
		{&arrow.Decimal32Type{Precision: 9, Scale: 3}, "-1.500", model.Float, &types.Value{Val: &types.Value_FloatVal{FloatVal: -1.5}}, ""},
		{&arrow.Decimal256Type{Precision: 76, Scale: 0}, "1" + strings.Repeat("0", 75), model.Double, &types.Value{Val: &types.Value_DoubleVal{DoubleVal: 1e75}}, ""},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "-0.01", types.ValueType_DECIMAL, &types.Value{Val: &types.Value_DecimalVal{DecimalVal: "-0.01"}}, ""},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "12.3", types.ValueType_DECIMAL, &types.Value{Val: &types.Value_DecimalVal{DecimalVal: "12.30"}}, ""},
		{&arrow.Decimal128Type{Precision: 10, Scale: 8}, "0.00001", model.Double, &types.Value{Val: &types.Value_DoubleVal{DoubleVal: 0.00001}}, ""},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "1.50", model.String, nil, "expected STRING, got arrow decimal(10, 2)"},
	}
	for _, tc := range tests {
		col := decimalArray(t, tc.dt, tc.in, "")
		for _, read := range []struct {
			name string
			fn   func() (*types.Value, *types.Value, error)
		}{
			{"FromArrow", func() (*types.Value, *types.Value, error) {
				v, err := FromArrow(col, 0, tc.vt)
				if err != nil {
					return nil, nil, err
				}
				null, err := FromArrow(col, 1, tc.vt)
				return v, null, err
			}},
			{"ColumnFromArrow", func() (*types.Value, *types.Value, error) {
				vs, err := ColumnFromArrow(col, tc.vt)
				if err != nil {
					return nil, nil, err
				}
				return vs[0], vs[1], nil
			}},
		} {
			got, null, err := read.fn()
			switch {
			case tc.want == nil:
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("%s(%s %s as %s): %v, %v; want an error containing %q", read.name, tc.dt, tc.in, tc.vt, got, err, tc.err)
				}
			case err != nil:
				t.Errorf("%s(%s %s as %s): %v", read.name, tc.dt, tc.in, tc.vt, err)
			case !proto.Equal(got, tc.want) || null.GetVal() != nil:
				t.Errorf("%s(%s %s as %s) = %v, null %v; want %v", read.name, tc.dt, tc.in, tc.vt, got, null, tc.want)
			}
		}
		col.Release()
	}
}

// TestDecimalText checks the exact text of decimal cells where Arrow's own
// rendering switches to exponents or drops zeros.
func TestDecimalText(t *testing.T) {
	tests := []struct {
		dt   arrow.DataType
		in   string
		want string
	}{
		{&arrow.Decimal128Type{Precision: 10, Scale: 8}, "0.00001", "0.00001000"},
		{&arrow.Decimal128Type{Precision: 38, Scale: 18}, "-0.000000000000000001", "-0.000000000000000001"},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "12.3", "12.30"},
		{&arrow.Decimal128Type{Precision: 10, Scale: 2}, "0", "0.00"},
		{&arrow.Decimal128Type{Precision: 20, Scale: 0}, "9223372036854775808", "9223372036854775808"},
		{&arrow.Decimal128Type{Precision: 5, Scale: -3}, "123000", "123000"},
		{&arrow.Decimal32Type{Precision: 9, Scale: 3}, "-1.5", "-1.500"},
		{&arrow.Decimal64Type{Precision: 18, Scale: 4}, "0.0001", "0.0001"},
		{&arrow.Decimal256Type{Precision: 76, Scale: 38}, "1e-38", "0.00000000000000000000000000000000000001"},
	}
	for _, tc := range tests {
		col := decimalArray(t, tc.dt, tc.in)
		if got, ok := DecimalText(col, 0); !ok || got != tc.want {
			t.Errorf("DecimalText(%s %s) = %q, %v; want %q", tc.dt, tc.in, got, ok, tc.want)
		}
		col.Release()
	}
	col := buildArrow(t, memory.DefaultAllocator, arrow.PrimitiveTypes.Float64, 1.5)
	defer col.Release()
	if _, ok := DecimalText(col, 0); ok {
		t.Error("DecimalText of a float64 column: ok")
	}
}

// BenchmarkDecimalColumn converts 10,000 decimal cells, as materialization
// does for a Parquet DECIMAL or PostgreSQL NUMERIC(p,s) column: ids of
// DECIMAL(20,0) to INT64 and prices of DECIMAL(10,2) to DOUBLE.
func BenchmarkDecimalColumn(b *testing.B) {
	for _, tc := range []struct {
		name string
		dt   arrow.DataType
		vt   model.ValueType
		val  func(i int) string
	}{
		{"id_decimal20_0_to_int64", &arrow.Decimal128Type{Precision: 20, Scale: 0}, model.Int64, func(i int) string { return strconv.Itoa(9007199254740993 + i) }},
		{"price_decimal10_2_to_double", &arrow.Decimal128Type{Precision: 10, Scale: 2}, model.Double, func(i int) string { return strconv.Itoa(i) + "." + strconv.Itoa(i%100) }},
	} {
		bld := array.NewBuilder(memory.DefaultAllocator, tc.dt)
		for i := range 10000 {
			if err := bld.AppendValueFromString(tc.val(i)); err != nil {
				b.Fatal(err)
			}
		}
		col := bld.NewArray()
		bld.Release()
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ColumnFromArrow(col, tc.vt); err != nil {
					b.Fatal(err)
				}
			}
		})
		col.Release()
	}
}

// TestDecimalFastPathsLikeText checks the int64 fast paths of decimal
// conversion against the exact text path on random decimals: floats equal
// strconv.ParseFloat of the exact text (correct rounding), integers equal
// the text's value.
func TestDecimalFastPathsLikeText(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := range 20000 {
		scale := int32(r.IntN(23))
		prec := int32(38)
		u := r.Int64N(1<<54) - 1<<53
		if i%3 == 0 {
			u = r.Int64() // beyond 2^53: the text path for floats
		}
		if i%5 == 0 {
			scale = 0
		}
		dt := &arrow.Decimal128Type{Precision: prec, Scale: scale}
		b := array.NewDecimal128Builder(memory.DefaultAllocator, dt)
		b.Append(decimal128.FromI64(u))
		col := b.NewArray()
		b.Release()
		text, _ := DecimalText(col, 0)
		want, err := strconv.ParseFloat(text, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := arrowFloat(col, 0, model.Double)
		if err != nil || got != want {
			t.Fatalf("%s (unscaled %d, scale %d) as DOUBLE: %v, %v; want %v", text, u, scale, got, err, want)
		}
		if scale == 0 {
			n, err := arrowInt(col, 0, model.Int64, math.MinInt64, math.MaxInt64)
			if err != nil || n != u {
				t.Fatalf("%s as INT64: %d, %v; want %d", text, n, err, u)
			}
		}
		col.Release()
	}
}
