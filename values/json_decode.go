package values

// JSON decoding of typed values: the entry points (FromJSON, DecodeColumn,
// CountArray, ObjectMembers) and value, which dispatches on the declared type.
// The syntax scanner is in json_scan.go, scalar readers (numbers, bools,
// strings, timestamps, bytes) in json_scalar.go, and lists, maps and inferred
// values in json_compound.go.

import (
	"fmt"
	"math"
	"strconv"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// TypeError reports a value whose type does not match the declared one. Its
// message names both: `expected INT64, got string "abc"`.
type TypeError struct {
	// Expected is the declared type.
	Expected model.ValueType
	// Got describes what was found, for example `string "abc"` or `number 1.5`.
	Got string
}

func (e *TypeError) Error() string { return "expected " + e.Expected.String() + ", got " + e.Got }

// Unwrap makes errors.Is(err, ErrType) true for every TypeError.
func (e *TypeError) Unwrap() error { return ErrType }

func mismatch(vt model.ValueType, got string) error { return &TypeError{Expected: vt, Got: got} }

// FromJSON converts one JSON value to a Value of the declared type vt.
//
// Accepted shapes: JSON null for any type (an empty Value); numbers for
// INT32, INT64, DOUBLE and FLOAT (integers must be integral and in range;
// decimal strings such as "1001" are also accepted, as clients that cannot
// represent 64-bit integers send them); strings for STRING, UUID, TIME_UUID
// and DECIMAL (DECIMAL also takes a number, kept as written); base64 strings
// for BYTES; RFC 3339 strings (also "2006-01-02 15:04:05+00:00", naive
// times as UTC, and bare dates) or epoch seconds for UNIX_TIMESTAMP
// (fractional seconds are floored); true/false for BOOL; any JSON for JSON
// (a string is kept as is, anything else as its JSON text); objects for MAP
// and STRUCT (member types inferred); arrays for list and set types, whose
// elements follow the scalar rules and may not be null. "NaN", "Infinity"
// and "-Infinity" strings are accepted for floating types.
func FromJSON(raw []byte, vt model.ValueType) (*types.Value, error) {
	d := decoder{data: raw}
	d.skipWS()
	if d.pos >= len(d.data) {
		return nil, fmt.Errorf("%w: empty input", errSyntax)
	}
	v, err := d.value(vt, 0)
	if err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeColumn decodes a JSON array of values of type vt, the column-major
// shape of the serving and push APIs ({"driver_id": [1001, 1002]}). Elements
// follow FromJSON's rules; errors name the element index. The decoder scans
// the bytes directly (no intermediate []any) and allocates the Values of a
// column in a few slabs.
func DecodeColumn(raw []byte, vt model.ValueType) ([]*types.Value, error) {
	d := decoder{data: raw}
	d.skipWS()
	if d.peek() != '[' {
		got, err := d.describe()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("expected an array of %s, got %s", vt, got)
	}
	n, err := d.countArray()
	if err != nil {
		return nil, err
	}
	d.pos++ // '['
	out := make([]*types.Value, n)
	slab := make([]types.Value, n)
	var (
		i64s []types.Value_Int64Val
		i32s []types.Value_Int32Val
		f64s []types.Value_DoubleVal
		f32s []types.Value_FloatVal
		strs []types.Value_StringVal
		bols []types.Value_BoolVal
		tss  []types.Value_UnixTimestampVal
	)
	switch vt {
	case model.Int64:
		i64s = make([]types.Value_Int64Val, n)
	case model.Int32:
		i32s = make([]types.Value_Int32Val, n)
	case model.Double:
		f64s = make([]types.Value_DoubleVal, n)
	case model.Float:
		f32s = make([]types.Value_FloatVal, n)
	case model.String:
		strs = make([]types.Value_StringVal, n)
	case model.Bool:
		bols = make([]types.Value_BoolVal, n)
	case model.UnixTimestamp:
		tss = make([]types.Value_UnixTimestampVal, n)
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			d.skipWS()
			if d.peek() != ',' {
				return nil, d.syntax("expected ',' in array")
			}
			d.pos++
		}
		d.skipWS()
		out[i] = &slab[i]
		if d.peek() == 'n' {
			if err := d.literal("null"); err != nil {
				return nil, err
			}
			continue
		}
		var err error
		switch vt {
		case model.Int64:
			i64s[i].Int64Val, err = d.int(vt, math.MinInt64, math.MaxInt64)
			slab[i].Val = &i64s[i]
		case model.Int32:
			var x int64
			x, err = d.int(vt, math.MinInt32, math.MaxInt32)
			i32s[i].Int32Val = int32(x)
			slab[i].Val = &i32s[i]
		case model.Double:
			f64s[i].DoubleVal, err = d.float(vt, 64)
			slab[i].Val = &f64s[i]
		case model.Float:
			var x float64
			x, err = d.float(vt, 32)
			f32s[i].FloatVal = float32(x)
			slab[i].Val = &f32s[i]
		case model.String:
			strs[i].StringVal, err = d.str(vt)
			slab[i].Val = &strs[i]
		case model.Bool:
			bols[i].BoolVal, err = d.bool(vt)
			slab[i].Val = &bols[i]
		case model.UnixTimestamp:
			tss[i].UnixTimestampVal, err = d.timestamp(vt)
			slab[i].Val = &tss[i]
		default:
			out[i], err = d.value(vt, 1)
		}
		if err != nil {
			return nil, &IndexError{Index: i, Err: err}
		}
	}
	d.skipWS()
	if d.peek() != ']' {
		return nil, d.syntax("expected ']' after array")
	}
	d.pos++
	if err := d.end(); err != nil {
		return nil, err
	}
	return out, nil
}

// value decodes one value of type vt (the caller has skipped whitespace).
func (d *decoder) value(vt model.ValueType, depth int) (*types.Value, error) {
	d.skipWS()
	if d.peek() == 'n' {
		if err := d.literal("null"); err != nil {
			return nil, err
		}
		return &types.Value{}, nil
	}
	switch vt {
	case model.Int64:
		n, err := d.int(vt, math.MinInt64, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}}, nil
	case model.Int32:
		n, err := d.int(vt, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_Int32Val{Int32Val: int32(n)}}, nil
	case model.Double:
		f, err := d.float(vt, 64)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}}, nil
	case model.Float:
		f, err := d.float(vt, 32)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_FloatVal{FloatVal: float32(f)}}, nil
	case model.Bool:
		b, err := d.bool(vt)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_BoolVal{BoolVal: b}}, nil
	case model.UnixTimestamp:
		n, err := d.timestamp(vt)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: n}}, nil
	case model.String, model.UUID, types.ValueType_TIME_UUID:
		s, err := d.str(vt)
		if err != nil {
			return nil, err
		}
		return newString(vt, s), nil
	case types.ValueType_DECIMAL:
		if c := d.peek(); c == '-' || isDigit(c) {
			tok, _, err := d.scanNumber()
			if err != nil {
				return nil, err
			}
			return newString(vt, string(tok)), nil
		}
		s, err := d.str(vt)
		if err != nil {
			return nil, err
		}
		return newString(vt, s), nil
	case model.JSON:
		if d.peek() == '"' {
			s, err := d.readString()
			if err != nil {
				return nil, err
			}
			return newString(vt, s), nil
		}
		start := d.pos
		if err := d.skipValue(depth); err != nil {
			return nil, err
		}
		return newString(vt, string(d.data[start:d.pos])), nil
	case model.Bytes:
		if d.peek() != '"' {
			return nil, d.mismatchNext(vt)
		}
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		b, err := decodeBase64(s)
		if err != nil {
			return nil, mismatch(vt, "string "+strconv.Quote(truncate(s))+" (not base64)")
		}
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: b}}, nil
	case types.ValueType_MAP, types.ValueType_STRUCT:
		if d.peek() != '{' {
			return nil, d.mismatchNext(vt)
		}
		m, err := d.object(depth + 1)
		if err != nil {
			return nil, err
		}
		if vt == types.ValueType_STRUCT {
			return &types.Value{Val: &types.Value_StructVal{StructVal: m}}, nil
		}
		return &types.Value{Val: &types.Value_MapVal{MapVal: m}}, nil
	case types.ValueType_MAP_LIST, types.ValueType_STRUCT_LIST:
		return d.mapList(vt, depth+1)
	}
	if elem, ok := elemOf(vt); ok {
		return d.list(vt, elem)
	}
	return nil, unsupported(vt, "decode JSON as")
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// CountArray counts the elements of a JSON array without decoding them,
// checking its syntax on the way.
func CountArray(raw []byte) (int, error) {
	d := decoder{data: raw}
	d.skipWS()
	if d.peek() != '[' {
		return 0, d.syntax("expected an array")
	}
	return d.countArray()
}

// Member is one member of a JSON object, as ObjectMembers returns it.
type Member struct {
	Key string
	// Value is the member's JSON text, a sub-slice of the input.
	Value []byte
}

// ObjectMembers splits a JSON object into its members in input order,
// duplicates included, without copying or decoding the values (each Value
// aliases raw). It is how a push's df is split into columns: a map would
// silently keep the last of two members with the same key.
func ObjectMembers(raw []byte) ([]Member, error) {
	d := decoder{data: raw}
	d.skipWS()
	if d.peek() != '{' {
		got, err := d.describe()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("expected an object, got %s", got)
	}
	d.pos++
	var out []Member
	d.skipWS()
	if d.peek() == '}' {
		d.pos++
		return out, d.end()
	}
	for {
		d.skipWS()
		if d.peek() != '"' {
			return nil, d.syntax("expected a string key in object")
		}
		key, err := d.readString()
		if err != nil {
			return nil, err
		}
		d.skipWS()
		if d.peek() != ':' {
			return nil, d.syntax("expected ':' after object key")
		}
		d.pos++
		d.skipWS()
		start := d.pos
		if err := d.skipValue(1); err != nil {
			return nil, err
		}
		out = append(out, Member{Key: key, Value: raw[start:d.pos:d.pos]})
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return out, d.end()
		default:
			return nil, d.syntax("expected ',' or '}' in object")
		}
	}
}
