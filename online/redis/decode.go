package redis

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// The first byte of a serialized feast.types.Value holding one scalar of
// these kinds: the field's tag (field number << 3 | wire type).
const (
	tagInt32  = 3<<3 | byte(protowire.VarintType)
	tagInt64  = 4<<3 | byte(protowire.VarintType)
	tagDouble = 5<<3 | byte(protowire.Fixed64Type)
	tagFloat  = 6<<3 | byte(protowire.Fixed32Type)
	tagBool   = 7<<3 | byte(protowire.VarintType)
	tagUnixTS = 8<<3 | byte(protowire.VarintType)
)

// valueSlab decodes the stored values of one Read. The Value of a number
// or bool needs a oneof wrapper (*types.Value_FloatVal, ...): the slab
// takes them from one slice per kind, allocated when the kind is first
// seen, instead of allocating one per value (a read of 100 entities × 10
// features decoded 1,000 of them). Every value of a Read shares the slices,
// so a value kept alive keeps its kind's slice alive: a few KB, for as long
// as the caller holds the result. Other kinds go through
// online.UnmarshalValue.
type valueSlab struct {
	size  int // wrappers per slice
	f32   []types.Value_FloatVal
	f64   []types.Value_DoubleVal
	i64   []types.Value_Int64Val
	i32   []types.Value_Int32Val
	bools []types.Value_BoolVal
	tss   []types.Value_UnixTimestampVal
}

// take returns the next wrapper of *s, allocating a slice of size when it
// is empty.
func take[T any](s *[]T, size int) *T {
	if len(*s) == 0 {
		*s = make([]T, max(size, 1))
	}
	w := &(*s)[0]
	*s = (*s)[1:]
	return w
}

// unmarshal decodes b (a serialized feast.types.Value) into v, a zero
// Value, with the result and errors of proto.Unmarshal: what
// online.ParseScalar reads (null or one scalar field) is decoded here, a
// number or bool into a wrapper of the slab; any other goes to
// online.UnmarshalValue.
func (s *valueSlab) unmarshal(b []byte, v *types.Value) error {
	sc, ok := online.ParseScalar(b)
	if !ok {
		return online.UnmarshalValue(b, v)
	}
	switch sc.Kind {
	case types.ValueType_FLOAT:
		w := take(&s.f32, s.size)
		w.FloatVal = sc.Float32()
		v.Val = w
	case types.ValueType_DOUBLE:
		w := take(&s.f64, s.size)
		w.DoubleVal = sc.Float64()
		v.Val = w
	case types.ValueType_INT64:
		w := take(&s.i64, s.size)
		w.Int64Val = sc.Int()
		v.Val = w
	case types.ValueType_INT32:
		w := take(&s.i32, s.size)
		w.Int32Val = int32(sc.Int())
		v.Val = w
	case types.ValueType_BOOL:
		w := take(&s.bools, s.size)
		w.BoolVal = sc.Bits != 0
		v.Val = w
	case types.ValueType_UNIX_TIMESTAMP:
		w := take(&s.tss, s.size)
		w.UnixTimestampVal = sc.Int()
		v.Val = w
	case types.ValueType_STRING:
		v.Val = &types.Value_StringVal{StringVal: string(sc.Bytes)}
	case types.ValueType_BYTES:
		v.Val = &types.Value_BytesVal{BytesVal: append([]byte{}, sc.Bytes...)}
	}
	return nil
}
