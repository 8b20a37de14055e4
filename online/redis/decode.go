package redis

import (
	"encoding/binary"
	"math"

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
// Value, with the result and errors of proto.Unmarshal: a message of
// exactly one number or bool field, with a one-byte tag, is read here; any
// other goes to online.UnmarshalValue.
func (s *valueSlab) unmarshal(b []byte, v *types.Value) error {
	if len(b) < 2 {
		return online.UnmarshalValue(b, v)
	}
	switch b[0] {
	case tagFloat:
		if len(b) == 5 {
			w := take(&s.f32, s.size)
			w.FloatVal = math.Float32frombits(binary.LittleEndian.Uint32(b[1:]))
			v.Val = w
			return nil
		}
	case tagDouble:
		if len(b) == 9 {
			w := take(&s.f64, s.size)
			w.DoubleVal = math.Float64frombits(binary.LittleEndian.Uint64(b[1:]))
			v.Val = w
			return nil
		}
	case tagInt64, tagInt32, tagBool, tagUnixTS:
		x, n := protowire.ConsumeVarint(b[1:])
		if n != len(b)-1 {
			break
		}
		switch b[0] {
		case tagInt64:
			w := take(&s.i64, s.size)
			w.Int64Val = int64(x)
			v.Val = w
		case tagInt32:
			w := take(&s.i32, s.size)
			w.Int32Val = int32(x)
			v.Val = w
		case tagBool:
			w := take(&s.bools, s.size)
			w.BoolVal = protowire.DecodeBool(x)
			v.Val = w
		default:
			w := take(&s.tss, s.size)
			w.UnixTimestampVal = int64(x)
			v.Val = w
		}
		return nil
	}
	return online.UnmarshalValue(b, v)
}
