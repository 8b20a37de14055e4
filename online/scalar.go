package online

import (
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/feastgo/feast/proto/feast/types"
)

// Scalar is a stored value that is null or holds one scalar, decoded
// without allocating (ParseScalar).
type Scalar struct {
	// Kind is the kind of the value: types.ValueType_NULL for null, else
	// INT32, INT64, UNIX_TIMESTAMP, BOOL, DOUBLE, FLOAT, STRING or BYTES.
	Kind types.ValueType_Enum
	// Bits holds numbers and bools: the varint of an integer kind (its
	// two's complement; INT32 keeps the low 32 bits), 0 or 1 for BOOL,
	// the IEEE 754 bits of DOUBLE and FLOAT.
	Bits uint64
	// Bytes is the content of a STRING (valid UTF-8) or BYTES value. It
	// aliases the parsed bytes.
	Bytes []byte
}

// Int returns the value of an INT32, INT64 or UNIX_TIMESTAMP scalar.
func (s Scalar) Int() int64 {
	if s.Kind == types.ValueType_INT32 {
		return int64(int32(s.Bits))
	}
	return int64(s.Bits)
}

// Float64 returns the value of a DOUBLE scalar.
func (s Scalar) Float64() float64 { return math.Float64frombits(s.Bits) }

// Float32 returns the value of a FLOAT scalar.
func (s Scalar) Float32() float32 { return math.Float32frombits(uint32(s.Bits)) }

// ParseScalar decodes b, a stored value (a serialized feast.types.Value),
// when UnmarshalValue decodes it by hand: empty bytes (null) or a message
// of exactly one scalar field. ok is false for anything else (lists, maps,
// several fields, invalid UTF-8 in a string, malformed bytes), which
// UnmarshalValue leaves to proto.Unmarshal. For ok results, UnmarshalValue
// gives the Value of the same kind and content.
func ParseScalar(b []byte) (s Scalar, ok bool) {
	if len(b) == 0 {
		return Scalar{Kind: types.ValueType_NULL}, true
	}
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return Scalar{}, false
	}
	rest := b[n:]
	switch typ {
	case protowire.VarintType:
		x, m := protowire.ConsumeVarint(rest)
		if m != len(rest) {
			return Scalar{}, false
		}
		switch num {
		case 3:
			return Scalar{Kind: types.ValueType_INT32, Bits: x}, true
		case 4:
			return Scalar{Kind: types.ValueType_INT64, Bits: x}, true
		case 7:
			if x != 0 {
				x = 1
			}
			return Scalar{Kind: types.ValueType_BOOL, Bits: x}, true
		case 8:
			return Scalar{Kind: types.ValueType_UNIX_TIMESTAMP, Bits: x}, true
		}
	case protowire.Fixed64Type:
		if num == 5 && len(rest) == 8 {
			x, _ := protowire.ConsumeFixed64(rest)
			return Scalar{Kind: types.ValueType_DOUBLE, Bits: x}, true
		}
	case protowire.Fixed32Type:
		if num == 6 && len(rest) == 4 {
			x, _ := protowire.ConsumeFixed32(rest)
			return Scalar{Kind: types.ValueType_FLOAT, Bits: uint64(x)}, true
		}
	case protowire.BytesType:
		x, m := protowire.ConsumeBytes(rest)
		if m != len(rest) {
			return Scalar{}, false
		}
		switch num {
		case 1:
			return Scalar{Kind: types.ValueType_BYTES, Bytes: x}, true
		case 2:
			if utf8.Valid(x) {
				return Scalar{Kind: types.ValueType_STRING, Bytes: x}, true
			}
		}
	}
	return Scalar{}, false
}
