package online

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/types"
)

var appendCases = []*types.Value{
	{Val: &types.Value_DoubleVal{DoubleVal: 0}},
	{Val: &types.Value_DoubleVal{DoubleVal: -1.25}},
	{Val: &types.Value_DoubleVal{DoubleVal: math.NaN()}},
	{Val: &types.Value_FloatVal{FloatVal: 0}},
	{Val: &types.Value_FloatVal{FloatVal: 3.5}},
	{Val: &types.Value_Int64Val{Int64Val: 0}},
	{Val: &types.Value_Int64Val{Int64Val: -1}},
	{Val: &types.Value_Int64Val{Int64Val: math.MaxInt64}},
	{Val: &types.Value_Int32Val{Int32Val: -5}},
	{Val: &types.Value_Int32Val{Int32Val: math.MaxInt32}},
	{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: -3}},
	{Val: &types.Value_BoolVal{BoolVal: false}},
	{Val: &types.Value_BoolVal{BoolVal: true}},
	{Val: &types.Value_StringVal{StringVal: ""}},
	{Val: &types.Value_StringVal{StringVal: "héllo"}},
	{Val: &types.Value_BytesVal{BytesVal: nil}},
	{Val: &types.Value_BytesVal{BytesVal: bytes.Repeat([]byte{7}, 300)}},
	{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: []float64{1, 2}}}},
	{Val: &types.Value_NullVal{}},
	{},
	nil,
}

func TestAppendValueMatchesProto(t *testing.T) {
	for _, v := range appendCases {
		want, err := proto.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendValue([]byte{0xaa}, v)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != 0xaa || !bytes.Equal(got[1:], want) {
			t.Errorf("%v: got %x, want %x", v, got[1:], want)
		}
	}
}

func TestNewestPerEntity(t *testing.T) {
	ts := func(s int64) time.Time { return time.Unix(s, 0) }
	rows := []Row{
		{EntityKey: []byte("a"), EventTS: ts(5)},
		{EntityKey: []byte("b"), EventTS: ts(1)},
		{EntityKey: []byte("a"), EventTS: ts(7)},
		{EntityKey: []byte("a"), EventTS: ts(7)},
		{EntityKey: []byte("c"), EventTS: ts(1)},
		{EntityKey: []byte("b"), EventTS: ts(0)},
	}
	got := NewestPerEntity(rows)
	want := []int{2, 1, 4}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestValueText(t *testing.T) {
	tests := []struct {
		v    *types.Value
		want string
		ok   bool
	}{
		{&types.Value{Val: &types.Value_StringVal{StringVal: "x"}}, "x", true},
		{&types.Value{Val: &types.Value_Int64Val{Int64Val: -3}}, "-3", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: 1}}, "1.0", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: 0.1}}, "0.1", true},
		{&types.Value{Val: &types.Value_FloatVal{FloatVal: 0.1}}, "0.10000000149011612", true},
		{&types.Value{Val: &types.Value_FloatVal{FloatVal: 0.5}}, "0.5", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: 123456789.5}}, "123456789.5", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: 1e16}}, "1e+16", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: 1e15}}, "1000000000000000.0", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: 0.0001}}, "0.0001", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: -2.5e-7}}, "-2.5e-07", true},
		{&types.Value{Val: &types.Value_DoubleVal{DoubleVal: 1e-5}}, "1e-05", true},
		{&types.Value{Val: &types.Value_BoolVal{BoolVal: true}}, "True", true},
		{&types.Value{Val: &types.Value_BytesVal{BytesVal: []byte("x")}}, "", false},
		{nil, "", false},
	}
	for _, tt := range tests {
		got, ok := ValueText(tt.v)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ValueText(%v) = %q, %v; want %q, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

// pyFloatReference is Python's repr of a float spelled out the long way
// (two formattings), the reference appendPyFloat is checked against.
func pyFloatReference(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(sci[strings.LastIndexByte(sci, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return sci
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// appendPyFloat moves digits around by hand; every exponent band, sign and
// digit count must match the two-formatting reference.
func TestAppendPyFloatMatchesReference(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		want := pyFloatReference(f)
		if got := string(appendPyFloat([]byte("x"), f)); got != "x"+want {
			t.Fatalf("appendPyFloat(%v) = %q, want %q", f, got[1:], want)
		}
	}
	for e := -330; e <= 310; e++ {
		for _, m := range []float64{1, 1.5, 9.999999999999999, 1.2345678901234567, 3, 7.25} {
			f := m * math.Pow(10, float64(e))
			check(f)
			check(-f)
			check(math.Nextafter(f, 0))
			check(float64(float32(f)))
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1e16, 1e16 - 2, 1e-4, 9.999999999999999e-5, 123456789.5} {
		check(f)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		f := math.Float64frombits(rng.Uint64())
		check(f)
		check(float64(math.Float32frombits(rng.Uint32())))
	}
}

// UnmarshalValue gives what proto.Unmarshal gives, on every encoding
// AppendValue writes and on inputs its fast path must hand over: several
// fields, unknown fields, invalid UTF-8, truncated data.
func TestUnmarshalValueMatchesProto(t *testing.T) {
	var inputs [][]byte
	for _, v := range appendCases {
		b, err := AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	str := func(s string) []byte {
		b, _ := AppendValue(nil, &types.Value{Val: &types.Value_StringVal{StringVal: s}})
		return b
	}
	i64 := func(n int64) []byte {
		b, _ := AppendValue(nil, &types.Value{Val: &types.Value_Int64Val{Int64Val: n}})
		return b
	}
	inputs = append(inputs,
		append(i64(1), i64(2)...),      // the last field wins
		append(i64(1), str("x")...),    // another oneof member wins
		[]byte{0x12, 0x02, 0xff, 0xfe}, // string_val with invalid UTF-8
		[]byte{0x08, 0x01},             // unknown field 1 as varint (field 1 is bytes)
		[]byte{0xa8, 0x1f, 0x01},       // unknown field 501
		[]byte{0x20},                   // truncated varint
		[]byte{0x29, 0x00, 0x00},       // truncated fixed64
		[]byte{0x12, 0x05, 'a'},        // truncated string
		[]byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // int32 -1 as ten bytes
		[]byte{0x38, 0x02}, // bool from varint 2
	)
	for _, b := range inputs {
		checkUnmarshal(t, b)
	}
}

func checkUnmarshal(t *testing.T, b []byte) {
	t.Helper()
	var want, got types.Value
	werr := proto.Unmarshal(b, &want)
	gerr := UnmarshalValue(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%x: error %v, proto.Unmarshal %v", b, gerr, werr)
	}
	if werr == nil && !proto.Equal(&got, &want) {
		t.Fatalf("%x: got %v, want %v", b, &got, &want)
	}
}

func FuzzUnmarshalValue(f *testing.F) {
	for _, v := range appendCases {
		b, _ := AppendValue(nil, v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkUnmarshal(t, b) })
}

func BenchmarkUnmarshalValue(b *testing.B) {
	data, _ := AppendValue(nil, &types.Value{Val: &types.Value_FloatVal{FloatVal: 0.5}})
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v types.Value
			if err := UnmarshalValue(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proto.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v types.Value
			if err := proto.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
