package online

import (
	"bytes"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/types"
)

// scalarSeeds are stored values ParseScalar must read (every scalar kind
// at the edges of its range) and ones it must leave to UnmarshalValue
// (lists, null_val, several fields, non-minimal and unknown tags,
// truncated and overlong varints, invalid UTF-8).
func scalarSeeds(t testing.TB) [][]byte {
	vals := append([]*types.Value{}, appendCases...)
	vals = append(vals,
		&types.Value{Val: &types.Value_Int64Val{Int64Val: math.MinInt64}},
		&types.Value{Val: &types.Value_Int32Val{Int32Val: math.MinInt32}},
		&types.Value{Val: &types.Value_DoubleVal{DoubleVal: math.Inf(-1)}},
		&types.Value{Val: &types.Value_DoubleVal{DoubleVal: math.Copysign(0, -1)}},
		&types.Value{Val: &types.Value_FloatVal{FloatVal: float32(math.NaN())}},
		&types.Value{Val: &types.Value_StringVal{StringVal: "a\"b\\c\n\u2028"}},
		&types.Value{Val: &types.Value_NullVal{}},
		&types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{1, -2}}}},
	)
	var out [][]byte
	for _, v := range vals {
		b, err := proto.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out,
		[]byte{},
		[]byte{4 << 3, 0x80, 0x80, 0x00},             // non-minimal varint
		[]byte{4<<3 | 0x80, 0x00, 0x01},              // two-byte tag of field 4
		[]byte{7 << 3, 2},                            // bool 2
		[]byte{4 << 3, 1, 4 << 3, 2},                 // two fields
		[]byte{4 << 3, 0x80},                         // truncated varint
		[]byte{2<<3 | 2, 2, 0xff, 0xfe},              // invalid UTF-8 string
		[]byte{1<<3 | 2, 3, 0, 1},                    // bytes shorter than their length
		[]byte{6<<3 | 5, 0, 0, 0x80},                 // short float
		[]byte{15 << 3, 1},                           // unknown field
		[]byte{3 << 3, 0xff, 0xff, 0xff, 0xff, 0x0f}, // int32 above 2^31
	)
}

// checkScalar fails unless ParseScalar agrees with UnmarshalValue on b:
// a parsed scalar is the value UnmarshalValue decodes, bit for bit.
func checkScalar(t *testing.T, b []byte) {
	t.Helper()
	sc, ok := ParseScalar(b)
	if !ok {
		return
	}
	want := &types.Value{}
	if err := UnmarshalValue(b, want); err != nil {
		t.Fatalf("% x: ParseScalar read %+v but UnmarshalValue fails: %v", b, sc, err)
	}
	got := &types.Value{}
	switch sc.Kind {
	case types.ValueType_NULL:
	case types.ValueType_INT32:
		got.Val = &types.Value_Int32Val{Int32Val: int32(sc.Int())}
	case types.ValueType_INT64:
		got.Val = &types.Value_Int64Val{Int64Val: sc.Int()}
	case types.ValueType_UNIX_TIMESTAMP:
		got.Val = &types.Value_UnixTimestampVal{UnixTimestampVal: sc.Int()}
	case types.ValueType_BOOL:
		if sc.Bits > 1 {
			t.Fatalf("% x: bool with bits %d", b, sc.Bits)
		}
		got.Val = &types.Value_BoolVal{BoolVal: sc.Bits == 1}
	case types.ValueType_DOUBLE:
		got.Val = &types.Value_DoubleVal{DoubleVal: sc.Float64()}
	case types.ValueType_FLOAT:
		got.Val = &types.Value_FloatVal{FloatVal: sc.Float32()}
	case types.ValueType_STRING:
		got.Val = &types.Value_StringVal{StringVal: string(sc.Bytes)}
	case types.ValueType_BYTES:
		got.Val = &types.Value_BytesVal{BytesVal: sc.Bytes}
	default:
		t.Fatalf("% x: ParseScalar returned kind %v", b, sc.Kind)
	}
	gb, err := AppendValue(nil, got)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := AppendValue(nil, want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gb, wb) {
		t.Fatalf("% x: ParseScalar read %v (%+v), UnmarshalValue %v", b, got, sc, want)
	}
}

func TestParseScalar(t *testing.T) {
	for _, b := range scalarSeeds(t) {
		checkScalar(t, b)
	}
	// The kinds read and left, spelled out.
	for _, c := range []struct {
		b    []byte
		kind types.ValueType_Enum
		ok   bool
	}{
		{nil, types.ValueType_NULL, true},
		{[]byte{5<<3 | 1, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f}, types.ValueType_DOUBLE, true},
		{[]byte{8 << 3, 1}, types.ValueType_UNIX_TIMESTAMP, true},
		{[]byte{1<<3 | 2, 0}, types.ValueType_BYTES, true},
		{[]byte{2<<3 | 2, 2, 0xff, 0xfe}, 0, false},
		{[]byte{19 << 3, 0}, 0, false}, // null_val: proto.Unmarshal's
		{[]byte{4 << 3, 1, 4 << 3, 2}, 0, false},
	} {
		sc, ok := ParseScalar(c.b)
		if ok != c.ok || (ok && sc.Kind != c.kind) {
			t.Errorf("ParseScalar(% x) = %v, %v; want %v, %v", c.b, sc.Kind, ok, c.kind, c.ok)
		}
	}
}

func FuzzParseScalar(f *testing.F) {
	for _, b := range scalarSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(checkScalar)
}
