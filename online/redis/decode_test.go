package redis

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/feastgo/feast/proto/feast/types"
)

// everyKind returns serialized Values of every kind of the Value oneof:
// for the number and bool kinds the edges of their ranges, for the other
// scalar kinds a typical and an empty value, for message kinds an empty
// and a one-element message; then hand-made encodings the fast path must
// leave to proto.Unmarshal (two fields, non-minimal tags, overlong and
// truncated varints, wrong wire types, unknown fields).
func everyKind(t testing.TB) [][]byte {
	var out [][]byte
	add := func(v *types.Value) {
		b, err := proto.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	md := (&types.Value{}).ProtoReflect().Descriptor()
	fields := md.Oneofs().ByName("val").Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		var samples []protoreflect.Value
		switch fd.Kind() {
		case protoreflect.Int32Kind:
			samples = []protoreflect.Value{protoreflect.ValueOfInt32(0), protoreflect.ValueOfInt32(-1), protoreflect.ValueOfInt32(math.MinInt32), protoreflect.ValueOfInt32(math.MaxInt32), protoreflect.ValueOfInt32(300)}
		case protoreflect.Int64Kind:
			samples = []protoreflect.Value{protoreflect.ValueOfInt64(0), protoreflect.ValueOfInt64(-1), protoreflect.ValueOfInt64(math.MinInt64), protoreflect.ValueOfInt64(math.MaxInt64), protoreflect.ValueOfInt64(1 << 40)}
		case protoreflect.DoubleKind:
			samples = []protoreflect.Value{protoreflect.ValueOfFloat64(0), protoreflect.ValueOfFloat64(math.Copysign(0, -1)), protoreflect.ValueOfFloat64(3.25), protoreflect.ValueOfFloat64(math.Inf(-1)), protoreflect.ValueOfFloat64(math.NaN())}
		case protoreflect.FloatKind:
			samples = []protoreflect.Value{protoreflect.ValueOfFloat32(0), protoreflect.ValueOfFloat32(-0.5), protoreflect.ValueOfFloat32(math.MaxFloat32), protoreflect.ValueOfFloat32(float32(math.Inf(1)))}
		case protoreflect.BoolKind:
			samples = []protoreflect.Value{protoreflect.ValueOfBool(false), protoreflect.ValueOfBool(true)}
		case protoreflect.StringKind:
			samples = []protoreflect.Value{protoreflect.ValueOfString(""), protoreflect.ValueOfString("héllo")}
		case protoreflect.BytesKind:
			samples = []protoreflect.Value{protoreflect.ValueOfBytes(nil), protoreflect.ValueOfBytes([]byte{0, 0xff})}
		case protoreflect.EnumKind:
			samples = []protoreflect.Value{protoreflect.ValueOfEnum(0), protoreflect.ValueOfEnum(1)}
		case protoreflect.MessageKind:
			m := &types.Value{}
			samples = []protoreflect.Value{m.ProtoReflect().NewField(fd)}
		default:
			t.Fatalf("field %s: kind %s not covered", fd.Name(), fd.Kind())
		}
		for _, s := range samples {
			v := &types.Value{}
			v.ProtoReflect().Set(fd, s)
			add(v)
		}
	}
	add(&types.Value{Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: []float32{1, 2}}}})
	add(&types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{-1, 5}}}})
	out = append(out,
		[]byte{}, []byte{tagFloat}, []byte{tagFloat, 0, 0, 0x80}, []byte{tagFloat, 0, 0, 0x80, 0x3f, 0},
		[]byte{tagDouble, 1, 2, 3, 4, 5, 6, 7}, []byte{tagInt64}, []byte{tagInt64, 0x80},
		[]byte{tagInt64, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, // 11-byte varint
		[]byte{tagInt64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},       // 10th byte > 1
		[]byte{tagInt32, 0x80, 0x80, 0x80, 0x80, 0x10}, []byte{tagBool, 2}, []byte{tagBool, 0x80, 0x00},
		[]byte{tagUnixTS, 0x7f}, []byte{tagInt64, 1, tagInt64, 2}, []byte{tagInt64, 1, tagFloat, 0, 0, 0, 0},
		[]byte{tagFloat | 0x80, 0x00, 0, 0, 0x80, 0x3f}, // field 6 with a two-byte tag
		[]byte{4<<3 | 2, 1, 7}, []byte{6 << 3, 1}, []byte{15 << 3, 1}, []byte{0x98, 0x06, 1}, []byte{0, 1},
	)
	return out
}

// checkLikeProto decodes b with a fresh slab and with proto.Unmarshal and
// fails unless both fail or both give equal Values.
func checkLikeProto(t *testing.T, b []byte) {
	t.Helper()
	want := &types.Value{}
	wantErr := proto.Unmarshal(b, want)
	got := &types.Value{}
	s := valueSlab{size: 2}
	gotErr := s.unmarshal(b, got)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("% x: error %v, proto.Unmarshal's %v", b, gotErr, wantErr)
	}
	if wantErr == nil && !proto.Equal(got, want) {
		t.Fatalf("% x: decoded %v, proto.Unmarshal %v", b, got, want)
	}
}

func TestValueSlabLikeProtoUnmarshal(t *testing.T) {
	for _, b := range everyKind(t) {
		checkLikeProto(t, b)
	}
}

// TestValueSlabShares checks that values decoded from one slab do not
// share a wrapper: each keeps its own number after the next is decoded.
func TestValueSlabShares(t *testing.T) {
	s := valueSlab{size: 2}
	vs := make([]types.Value, 5)
	for i := range vs {
		b, _ := proto.Marshal(&types.Value{Val: &types.Value_Int64Val{Int64Val: int64(i + 1)}})
		if err := s.unmarshal(b, &vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range vs {
		if got := vs[i].GetInt64Val(); got != int64(i+1) {
			t.Fatalf("value %d is %d after later decodes", i, got)
		}
	}
}

func FuzzValueSlab(f *testing.F) {
	for _, b := range everyKind(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkLikeProto(t, b) })
}
