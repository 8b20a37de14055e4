package online

import (
	"bytes"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/types"
)

func TestAppendValueMatchesProto(t *testing.T) {
	vals := []*types.Value{
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
	for _, v := range vals {
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
