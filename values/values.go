// Package values converts Feast values (feast.types.Value) to and from the
// representations the feature store meets at its edges: the HTTP JSON API
// (FromJSON, DecodeColumn, AppendJSON), Arrow columns read from and written
// to offline stores (FromArrow, ColumnFromArrow, ColumnBuilder), and plain
// Go values used by the library's column-map records (ToGo, FromGo).
//
// An empty Value (no oneof member set) is Feast's null, and so is a nil
// *types.Value wherever this package accepts one. Conversions are typed by
// a declared model.ValueType, never by the shape of the input: a JSON 1001
// becomes an int64_val for INT64 and an int32_val for INT32.
//
// Every function is safe for concurrent use and returns values owned by
// the caller. The column functions (DecodeColumn, ColumnFromArrow) allocate
// the Values of a column in a few shared slabs to save allocations; each
// Value is still an independent message.
package values

import (
	"errors"
	"fmt"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// ErrType is wrapped by every error reporting a value whose type does not
// match the declared one ("expected INT64, got string \"abc\"").
var ErrType = errors.New("type mismatch")

// ErrUnsupported is wrapped by errors about value types a conversion does not
// handle (for example SCALAR_MAP to Arrow).
var ErrUnsupported = errors.New("unsupported value type")

// IsNull reports whether v is Feast's null: nil, an empty Value or null_val.
func IsNull(v *types.Value) bool {
	if v == nil || v.Val == nil {
		return true
	}
	_, ok := v.Val.(*types.Value_NullVal)
	return ok
}

// TypeOf returns the value type of the oneof member set in v, or
// types.ValueType_NULL for null values. Oneof field numbers equal the
// ValueType enum numbers, so this is exact for every member.
func TypeOf(v *types.Value) model.ValueType {
	if IsNull(v) {
		return types.ValueType_NULL
	}
	m := v.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("val"))
	if fd == nil {
		return types.ValueType_NULL
	}
	return model.ValueType(fd.Number())
}

func unsupported(vt model.ValueType, what string) error {
	return fmt.Errorf("%w: %s %s", ErrUnsupported, what, vt)
}

// elemOf returns the element type of a list or set of scalars.
func elemOf(vt model.ValueType) (model.ValueType, bool) {
	switch vt {
	case model.BytesList, types.ValueType_BYTES_SET:
		return model.Bytes, true
	case model.StringList, types.ValueType_STRING_SET:
		return model.String, true
	case model.Int32List, types.ValueType_INT32_SET:
		return model.Int32, true
	case model.Int64List, types.ValueType_INT64_SET:
		return model.Int64, true
	case model.DoubleList, types.ValueType_DOUBLE_SET:
		return model.Double, true
	case model.FloatList, types.ValueType_FLOAT_SET:
		return model.Float, true
	case model.BoolList, types.ValueType_BOOL_SET:
		return model.Bool, true
	case model.UnixTimestampList, types.ValueType_UNIX_TIMESTAMP_SET:
		return model.UnixTimestamp, true
	case types.ValueType_JSON_LIST:
		return model.JSON, true
	case types.ValueType_UUID_LIST, types.ValueType_UUID_SET:
		return model.UUID, true
	case types.ValueType_TIME_UUID_LIST, types.ValueType_TIME_UUID_SET:
		return types.ValueType_TIME_UUID, true
	case types.ValueType_DECIMAL_LIST, types.ValueType_DECIMAL_SET:
		return types.ValueType_DECIMAL, true
	}
	return model.Invalid, false
}

// newString wraps s in the string-kind member for vt.
func newString(vt model.ValueType, s string) *types.Value {
	switch vt {
	case model.JSON:
		return &types.Value{Val: &types.Value_JsonVal{JsonVal: s}}
	case model.UUID:
		return &types.Value{Val: &types.Value_UuidVal{UuidVal: s}}
	case types.ValueType_TIME_UUID:
		return &types.Value{Val: &types.Value_TimeUuidVal{TimeUuidVal: s}}
	case types.ValueType_DECIMAL:
		return &types.Value{Val: &types.Value_DecimalVal{DecimalVal: s}}
	}
	return &types.Value{Val: &types.Value_StringVal{StringVal: s}}
}

// listParts collects the elements of a list or set value; exactly one of
// the slices is used, chosen by the element type.
type listParts struct {
	bytes []([]byte)
	strs  []string
	i32   []int32
	i64   []int64
	f64   []float64
	f32   []float32
	bools []bool
}

// value builds the list or set member for vt from the collected elements, or
// returns nil when vt is not a list or set of scalars.
func (p *listParts) value(vt model.ValueType) *types.Value {
	switch vt {
	case model.BytesList:
		return &types.Value{Val: &types.Value_BytesListVal{BytesListVal: &types.BytesList{Val: p.bytes}}}
	case types.ValueType_BYTES_SET:
		return &types.Value{Val: &types.Value_BytesSetVal{BytesSetVal: &types.BytesSet{Val: p.bytes}}}
	case model.StringList:
		return &types.Value{Val: &types.Value_StringListVal{StringListVal: &types.StringList{Val: p.strs}}}
	case types.ValueType_STRING_SET:
		return &types.Value{Val: &types.Value_StringSetVal{StringSetVal: &types.StringSet{Val: p.strs}}}
	case types.ValueType_JSON_LIST:
		return &types.Value{Val: &types.Value_JsonListVal{JsonListVal: &types.StringList{Val: p.strs}}}
	case types.ValueType_UUID_LIST:
		return &types.Value{Val: &types.Value_UuidListVal{UuidListVal: &types.StringList{Val: p.strs}}}
	case types.ValueType_UUID_SET:
		return &types.Value{Val: &types.Value_UuidSetVal{UuidSetVal: &types.StringSet{Val: p.strs}}}
	case types.ValueType_TIME_UUID_LIST:
		return &types.Value{Val: &types.Value_TimeUuidListVal{TimeUuidListVal: &types.StringList{Val: p.strs}}}
	case types.ValueType_TIME_UUID_SET:
		return &types.Value{Val: &types.Value_TimeUuidSetVal{TimeUuidSetVal: &types.StringSet{Val: p.strs}}}
	case types.ValueType_DECIMAL_LIST:
		return &types.Value{Val: &types.Value_DecimalListVal{DecimalListVal: &types.StringList{Val: p.strs}}}
	case types.ValueType_DECIMAL_SET:
		return &types.Value{Val: &types.Value_DecimalSetVal{DecimalSetVal: &types.StringSet{Val: p.strs}}}
	case model.Int32List:
		return &types.Value{Val: &types.Value_Int32ListVal{Int32ListVal: &types.Int32List{Val: p.i32}}}
	case types.ValueType_INT32_SET:
		return &types.Value{Val: &types.Value_Int32SetVal{Int32SetVal: &types.Int32Set{Val: p.i32}}}
	case model.Int64List:
		return &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: p.i64}}}
	case types.ValueType_INT64_SET:
		return &types.Value{Val: &types.Value_Int64SetVal{Int64SetVal: &types.Int64Set{Val: p.i64}}}
	case model.UnixTimestampList:
		return &types.Value{Val: &types.Value_UnixTimestampListVal{UnixTimestampListVal: &types.Int64List{Val: p.i64}}}
	case types.ValueType_UNIX_TIMESTAMP_SET:
		return &types.Value{Val: &types.Value_UnixTimestampSetVal{UnixTimestampSetVal: &types.Int64Set{Val: p.i64}}}
	case model.DoubleList:
		return &types.Value{Val: &types.Value_DoubleListVal{DoubleListVal: &types.DoubleList{Val: p.f64}}}
	case types.ValueType_DOUBLE_SET:
		return &types.Value{Val: &types.Value_DoubleSetVal{DoubleSetVal: &types.DoubleSet{Val: p.f64}}}
	case model.FloatList:
		return &types.Value{Val: &types.Value_FloatListVal{FloatListVal: &types.FloatList{Val: p.f32}}}
	case types.ValueType_FLOAT_SET:
		return &types.Value{Val: &types.Value_FloatSetVal{FloatSetVal: &types.FloatSet{Val: p.f32}}}
	case model.BoolList:
		return &types.Value{Val: &types.Value_BoolListVal{BoolListVal: &types.BoolList{Val: p.bools}}}
	case types.ValueType_BOOL_SET:
		return &types.Value{Val: &types.Value_BoolSetVal{BoolSetVal: &types.BoolSet{Val: p.bools}}}
	}
	return nil
}

// add appends one scalar element (already of the element type) to the parts.
func (p *listParts) add(e *types.Value) {
	switch x := e.Val.(type) {
	case *types.Value_BytesVal:
		p.bytes = append(p.bytes, x.BytesVal)
	case *types.Value_StringVal:
		p.strs = append(p.strs, x.StringVal)
	case *types.Value_JsonVal:
		p.strs = append(p.strs, x.JsonVal)
	case *types.Value_UuidVal:
		p.strs = append(p.strs, x.UuidVal)
	case *types.Value_TimeUuidVal:
		p.strs = append(p.strs, x.TimeUuidVal)
	case *types.Value_DecimalVal:
		p.strs = append(p.strs, x.DecimalVal)
	case *types.Value_Int32Val:
		p.i32 = append(p.i32, x.Int32Val)
	case *types.Value_Int64Val:
		p.i64 = append(p.i64, x.Int64Val)
	case *types.Value_UnixTimestampVal:
		p.i64 = append(p.i64, x.UnixTimestampVal)
	case *types.Value_DoubleVal:
		p.f64 = append(p.f64, x.DoubleVal)
	case *types.Value_FloatVal:
		p.f32 = append(p.f32, x.FloatVal)
	case *types.Value_BoolVal:
		p.bools = append(p.bools, x.BoolVal)
	}
}
