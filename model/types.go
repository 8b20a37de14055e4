// Package model holds the feature store's domain objects (entities, data
// sources, feature views, on-demand feature views, feature services) and
// their conversion to and from Feast's registry protobuf messages.
//
// Model values are plain data: they are built once (from definitions or from
// a registry snapshot) and then treated as immutable, so they may be shared
// between goroutines without locking.
package model

import (
	"fmt"
	"sort"
	"strings"

	"github.com/feastgo/feast/proto/feast/types"
)

// ValueType is Feast's value type enum (feast.types.ValueType.Enum).
type ValueType = types.ValueType_Enum

// Value type constants, re-exported for readability.
const (
	Invalid           = types.ValueType_INVALID
	Bytes             = types.ValueType_BYTES
	String            = types.ValueType_STRING
	Int32             = types.ValueType_INT32
	Int64             = types.ValueType_INT64
	Double            = types.ValueType_DOUBLE
	Float             = types.ValueType_FLOAT
	Bool              = types.ValueType_BOOL
	UnixTimestamp     = types.ValueType_UNIX_TIMESTAMP
	BytesList         = types.ValueType_BYTES_LIST
	StringList        = types.ValueType_STRING_LIST
	Int32List         = types.ValueType_INT32_LIST
	Int64List         = types.ValueType_INT64_LIST
	DoubleList        = types.ValueType_DOUBLE_LIST
	FloatList         = types.ValueType_FLOAT_LIST
	BoolList          = types.ValueType_BOOL_LIST
	UnixTimestampList = types.ValueType_UNIX_TIMESTAMP_LIST
	JSON              = types.ValueType_JSON
	UUID              = types.ValueType_UUID
)

// scalarDTypes maps Feast's Python type names (as used in `dtype:`) to value types.
var scalarDTypes = map[string]ValueType{
	"Bytes":          Bytes,
	"String":         String,
	"Int32":          Int32,
	"Int64":          Int64,
	"Float64":        Double,
	"Float32":        Float,
	"Bool":           Bool,
	"UnixTimestamp":  UnixTimestamp,
	"Json":           JSON,
	"Uuid":           UUID,
	"TimeUuid":       types.ValueType_TIME_UUID,
	"Decimal":        types.ValueType_DECIMAL,
	"Map":            types.ValueType_MAP,
	"Struct":         types.ValueType_STRUCT,
	"ZonedTimestamp": types.ValueType_ZONED_TIMESTAMP,
}

var listOf = map[ValueType]ValueType{
	Bytes:                     BytesList,
	String:                    StringList,
	Int32:                     Int32List,
	Int64:                     Int64List,
	Double:                    DoubleList,
	Float:                     FloatList,
	Bool:                      BoolList,
	UnixTimestamp:             UnixTimestampList,
	JSON:                      types.ValueType_JSON_LIST,
	UUID:                      types.ValueType_UUID_LIST,
	types.ValueType_TIME_UUID: types.ValueType_TIME_UUID_LIST,
	types.ValueType_DECIMAL:   types.ValueType_DECIMAL_LIST,
	types.ValueType_MAP:       types.ValueType_MAP_LIST,
	types.ValueType_STRUCT:    types.ValueType_STRUCT_LIST,
}

var setOf = map[ValueType]ValueType{
	Bytes:                     types.ValueType_BYTES_SET,
	String:                    types.ValueType_STRING_SET,
	Int32:                     types.ValueType_INT32_SET,
	Int64:                     types.ValueType_INT64_SET,
	Double:                    types.ValueType_DOUBLE_SET,
	Float:                     types.ValueType_FLOAT_SET,
	Bool:                      types.ValueType_BOOL_SET,
	UnixTimestamp:             types.ValueType_UNIX_TIMESTAMP_SET,
	UUID:                      types.ValueType_UUID_SET,
	types.ValueType_TIME_UUID: types.ValueType_TIME_UUID_SET,
	types.ValueType_DECIMAL:   types.ValueType_DECIMAL_SET,
}

// DTypeNames lists the accepted scalar dtype names, sorted, for error messages.
func DTypeNames() []string {
	names := make([]string, 0, len(scalarDTypes))
	for n := range scalarDTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseDType parses a Feast dtype name such as "Int64", "Array(Float32)" or
// "Set(String)" into a value type.
func ParseDType(s string) (ValueType, error) {
	s = strings.TrimSpace(s)
	for _, wrap := range []struct {
		prefix string
		table  map[ValueType]ValueType
	}{{"Array(", listOf}, {"List(", listOf}, {"Set(", setOf}} {
		if strings.HasPrefix(s, wrap.prefix) && strings.HasSuffix(s, ")") {
			inner, err := ParseDType(s[len(wrap.prefix) : len(s)-1])
			if err != nil {
				return Invalid, err
			}
			vt, ok := wrap.table[inner]
			if !ok {
				return Invalid, fmt.Errorf("dtype %q: %s of %s is not supported", s, strings.TrimSuffix(wrap.prefix, "("), inner)
			}
			return vt, nil
		}
	}
	if vt, ok := scalarDTypes[s]; ok {
		return vt, nil
	}
	return Invalid, fmt.Errorf("unknown dtype %q (expected one of %s, or Array(<type>) / Set(<type>))", s, strings.Join(DTypeNames(), ", "))
}

// DTypeName renders a value type with Feast's dtype name ("Array(Float32)").
func DTypeName(vt ValueType) string {
	for name, t := range scalarDTypes {
		if t == vt {
			return name
		}
	}
	for inner, t := range listOf {
		if t == vt {
			return "Array(" + DTypeName(inner) + ")"
		}
	}
	for inner, t := range setOf {
		if t == vt {
			return "Set(" + DTypeName(inner) + ")"
		}
	}
	return vt.String()
}

// ParseValueType parses a ValueType enum name such as "INT64" (the form used
// for entity value_type).
func ParseValueType(s string) (ValueType, error) {
	v, ok := types.ValueType_Enum_value[strings.ToUpper(strings.TrimSpace(s))]
	if !ok || v == 0 {
		return Invalid, fmt.Errorf("unknown value_type %q (expected a Feast ValueType such as INT64, STRING, INT32, BYTES)", s)
	}
	return ValueType(v), nil
}

// ElementType returns the element type of a list or set type, and false for scalars.
func ElementType(vt ValueType) (ValueType, bool) {
	for inner, t := range listOf {
		if t == vt {
			return inner, true
		}
	}
	for inner, t := range setOf {
		if t == vt {
			return inner, true
		}
	}
	return Invalid, false
}

// IsValidEntityKeyType reports whether values of this type can be part of a
// serialized entity key (Feast supports strings, bytes, integers and timestamps).
func IsValidEntityKeyType(vt ValueType) bool {
	switch vt {
	case String, Bytes, Int32, Int64, UnixTimestamp:
		return true
	}
	return false
}
