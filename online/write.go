package online

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/types"
)

// NewestPerEntity returns, for each distinct entity key in rows, the index
// of the row that wins within the batch: the first row with the greatest
// event timestamp (a later row with an equal timestamp is not strictly newer
// and loses). Indexes are in order of each entity's first appearance. Every
// other row is skipped by Writer.Write.
func NewestPerEntity(rows []Row) []int {
	winners := make([]int, 0, len(rows))
	seen := make(map[string]int, len(rows)) // entity key -> position in winners
	for i := range rows {
		if pos, ok := seen[string(rows[i].EntityKey)]; ok {
			if rows[i].EventTS.After(rows[winners[pos]].EventTS) {
				winners[pos] = i
			}
			continue
		}
		seen[string(rows[i].EntityKey)] = len(winners)
		winners = append(winners, i)
	}
	return winners
}

// IsNull reports whether v is Feast's null: nil or a Value with no field set.
// A Value holding null_val is a typed null and is stored as such.
func IsNull(v *types.Value) bool {
	return v == nil || v.Val == nil
}

// ValueText is the value_text column of Feast's SQL online stores: the
// string form of string, integer, floating-point and boolean scalars (as
// Python's str() prints them), and ok=false for every other kind.
func ValueText(v *types.Value) (text string, ok bool) {
	if x, isString := v.GetVal().(*types.Value_StringVal); isString {
		return x.StringVal, true
	}
	b, ok := AppendValueText(nil, v)
	return string(b), ok
}

// AppendValueText appends ValueText(v) to dst, formatting numbers in place
// (a bulk write formats one per cell); ok=false appends nothing.
func AppendValueText(dst []byte, v *types.Value) (_ []byte, ok bool) {
	switch x := v.GetVal().(type) {
	case *types.Value_StringVal:
		return append(dst, x.StringVal...), true
	case *types.Value_Int32Val:
		return strconv.AppendInt(dst, int64(x.Int32Val), 10), true
	case *types.Value_Int64Val:
		return strconv.AppendInt(dst, x.Int64Val, 10), true
	case *types.Value_UnixTimestampVal:
		return strconv.AppendInt(dst, x.UnixTimestampVal, 10), true
	case *types.Value_DoubleVal:
		return appendPyFloat(dst, x.DoubleVal), true
	case *types.Value_FloatVal:
		// Python widens float32 to a double before printing it.
		return appendPyFloat(dst, float64(x.FloatVal)), true
	case *types.Value_BoolVal:
		if x.BoolVal {
			return append(dst, "True"...), true
		}
		return append(dst, "False"...), true
	default:
		return dst, false
	}
}

// appendPyFloat appends f as Python's repr prints it: the shortest digits
// that round-trip, positional for decimal exponents in [-4, 16) with ".0"
// on integral values, scientific ("1e-05", "1e+16") otherwise. It formats
// once, in scientific form, and moves the same digits into positional form
// when the exponent calls for it.
func appendPyFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	sci := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	e := bytes.LastIndexByte(sci, 'e')
	exp, err := strconv.Atoi(string(sci[e+1:]))
	if err != nil || exp < -4 || exp >= 16 {
		return append(dst, sci...)
	}
	mant := sci[:e]
	if mant[0] == '-' {
		dst = append(dst, '-')
		mant = mant[1:]
	}
	// The digits without the point: d.ddd -> dddd.
	var dbuf [24]byte
	digits := append(dbuf[:0], mant[0])
	if len(mant) > 2 {
		digits = append(digits, mant[2:]...)
	}
	if exp < 0 {
		dst = append(dst, "0."...)
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	if len(digits) > exp+1 {
		dst = append(dst, digits[:exp+1]...)
		dst = append(dst, '.')
		return append(dst, digits[exp+1:]...)
	}
	dst = append(dst, digits...)
	for range exp + 1 - len(digits) {
		dst = append(dst, '0')
	}
	return append(dst, ".0"...)
}

// AppendValue appends the protobuf serialization of v (Feast's stored value
// bytes) to dst; null values append nothing. Scalars are encoded by hand,
// byte-identical to proto.Marshal and without reflection; other kinds go
// through proto.MarshalAppend.
func AppendValue(dst []byte, v *types.Value) ([]byte, error) {
	switch x := v.GetVal().(type) {
	case nil:
		return dst, nil
	case *types.Value_DoubleVal:
		dst = protowire.AppendTag(dst, 5, protowire.Fixed64Type)
		return protowire.AppendFixed64(dst, math.Float64bits(x.DoubleVal)), nil
	case *types.Value_FloatVal:
		dst = protowire.AppendTag(dst, 6, protowire.Fixed32Type)
		return protowire.AppendFixed32(dst, math.Float32bits(x.FloatVal)), nil
	case *types.Value_Int64Val:
		dst = protowire.AppendTag(dst, 4, protowire.VarintType)
		return protowire.AppendVarint(dst, uint64(x.Int64Val)), nil
	case *types.Value_Int32Val:
		dst = protowire.AppendTag(dst, 3, protowire.VarintType)
		return protowire.AppendVarint(dst, uint64(int64(x.Int32Val))), nil
	case *types.Value_UnixTimestampVal:
		dst = protowire.AppendTag(dst, 8, protowire.VarintType)
		return protowire.AppendVarint(dst, uint64(x.UnixTimestampVal)), nil
	case *types.Value_BoolVal:
		dst = protowire.AppendTag(dst, 7, protowire.VarintType)
		return protowire.AppendVarint(dst, protowire.EncodeBool(x.BoolVal)), nil
	case *types.Value_StringVal:
		dst = protowire.AppendTag(dst, 2, protowire.BytesType)
		return protowire.AppendString(dst, x.StringVal), nil
	case *types.Value_BytesVal:
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		return protowire.AppendBytes(dst, x.BytesVal), nil
	default:
		return proto.MarshalOptions{}.MarshalAppend(dst, v)
	}
}

// UnmarshalValue decodes a stored value (Feast's serialized
// feast.types.Value) into v, which must be a zero Value. A message of one
// scalar field (what AppendValue and Feast write for scalars) is decoded by
// hand, without reflection; anything else (lists, maps, several fields,
// invalid UTF-8) goes through proto.Unmarshal, so the result and the errors
// are proto.Unmarshal's. Bytes and strings are copied.
func UnmarshalValue(b []byte, v *types.Value) error {
	if len(b) == 0 {
		return nil
	}
	if decodeScalar(b, v) {
		return nil
	}
	return proto.Unmarshal(b, v)
}

// decodeScalar decodes b when it is exactly one scalar field and reports
// whether it did.
func decodeScalar(b []byte, v *types.Value) bool {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return false
	}
	rest := b[n:]
	switch typ {
	case protowire.VarintType:
		x, m := protowire.ConsumeVarint(rest)
		if m != len(rest) {
			return false
		}
		switch num {
		case 3:
			v.Val = &types.Value_Int32Val{Int32Val: int32(x)}
		case 4:
			v.Val = &types.Value_Int64Val{Int64Val: int64(x)}
		case 7:
			v.Val = &types.Value_BoolVal{BoolVal: protowire.DecodeBool(x)}
		case 8:
			v.Val = &types.Value_UnixTimestampVal{UnixTimestampVal: int64(x)}
		default:
			return false
		}
	case protowire.Fixed64Type:
		if num != 5 || len(rest) != 8 {
			return false
		}
		x, _ := protowire.ConsumeFixed64(rest)
		v.Val = &types.Value_DoubleVal{DoubleVal: math.Float64frombits(x)}
	case protowire.Fixed32Type:
		if num != 6 || len(rest) != 4 {
			return false
		}
		x, _ := protowire.ConsumeFixed32(rest)
		v.Val = &types.Value_FloatVal{FloatVal: math.Float32frombits(x)}
	case protowire.BytesType:
		x, m := protowire.ConsumeBytes(rest)
		if m != len(rest) {
			return false
		}
		switch num {
		case 1:
			v.Val = &types.Value_BytesVal{BytesVal: append([]byte{}, x...)}
		case 2:
			if !utf8.Valid(x) {
				return false
			}
			v.Val = &types.Value_StringVal{StringVal: string(x)}
		default:
			return false
		}
	default:
		return false
	}
	return true
}
