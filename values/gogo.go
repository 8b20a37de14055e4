package values

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// ToGo returns v as a plain Go value, the form the library's column-map
// records hand to users:
//
//   - null: nil
//   - INT64: int64, INT32: int32, DOUBLE: float64, FLOAT: float32, BOOL: bool
//   - STRING, JSON (its text), UUID, TIME_UUID, DECIMAL: string; BYTES: []byte
//   - UNIX_TIMESTAMP: time.Time in UTC; ZONED_TIMESTAMP: time.Time in its zone
//   - lists and sets: []int64, []int32, []float64, []float32, []bool,
//     []string, [][]byte, []time.Time
//   - MAP and STRUCT: map[string]any; their lists: []map[string]any;
//     list_val and set_val: []any
//
// Slices and byte slices alias v's storage.
func ToGo(v *types.Value) any {
	if v == nil {
		return nil
	}
	switch x := v.Val.(type) {
	case *types.Value_Int64Val:
		return x.Int64Val
	case *types.Value_Int32Val:
		return x.Int32Val
	case *types.Value_DoubleVal:
		return x.DoubleVal
	case *types.Value_FloatVal:
		return x.FloatVal
	case *types.Value_BoolVal:
		return x.BoolVal
	case *types.Value_StringVal:
		return x.StringVal
	case *types.Value_BytesVal:
		return x.BytesVal
	case *types.Value_UnixTimestampVal:
		return time.Unix(x.UnixTimestampVal, 0).UTC()
	case *types.Value_JsonVal:
		return x.JsonVal
	case *types.Value_UuidVal:
		return x.UuidVal
	case *types.Value_TimeUuidVal:
		return x.TimeUuidVal
	case *types.Value_DecimalVal:
		return x.DecimalVal
	case *types.Value_ZonedTimestampVal:
		return time.Unix(x.ZonedTimestampVal.GetUnixTimestamp(), 0).In(zoneLocation(x.ZonedTimestampVal.GetZone()))
	case *types.Value_Int64ListVal:
		return x.Int64ListVal.GetVal()
	case *types.Value_Int64SetVal:
		return x.Int64SetVal.GetVal()
	case *types.Value_Int32ListVal:
		return x.Int32ListVal.GetVal()
	case *types.Value_Int32SetVal:
		return x.Int32SetVal.GetVal()
	case *types.Value_DoubleListVal:
		return x.DoubleListVal.GetVal()
	case *types.Value_DoubleSetVal:
		return x.DoubleSetVal.GetVal()
	case *types.Value_FloatListVal:
		return x.FloatListVal.GetVal()
	case *types.Value_FloatSetVal:
		return x.FloatSetVal.GetVal()
	case *types.Value_BoolListVal:
		return x.BoolListVal.GetVal()
	case *types.Value_BoolSetVal:
		return x.BoolSetVal.GetVal()
	case *types.Value_StringListVal:
		return x.StringListVal.GetVal()
	case *types.Value_StringSetVal:
		return x.StringSetVal.GetVal()
	case *types.Value_JsonListVal:
		return x.JsonListVal.GetVal()
	case *types.Value_UuidListVal:
		return x.UuidListVal.GetVal()
	case *types.Value_UuidSetVal:
		return x.UuidSetVal.GetVal()
	case *types.Value_TimeUuidListVal:
		return x.TimeUuidListVal.GetVal()
	case *types.Value_TimeUuidSetVal:
		return x.TimeUuidSetVal.GetVal()
	case *types.Value_DecimalListVal:
		return x.DecimalListVal.GetVal()
	case *types.Value_DecimalSetVal:
		return x.DecimalSetVal.GetVal()
	case *types.Value_BytesListVal:
		return x.BytesListVal.GetVal()
	case *types.Value_BytesSetVal:
		return x.BytesSetVal.GetVal()
	case *types.Value_UnixTimestampListVal:
		return toTimes(x.UnixTimestampListVal.GetVal())
	case *types.Value_UnixTimestampSetVal:
		return toTimes(x.UnixTimestampSetVal.GetVal())
	case *types.Value_MapVal:
		return mapToGo(x.MapVal)
	case *types.Value_StructVal:
		return mapToGo(x.StructVal)
	case *types.Value_MapListVal:
		return mapListToGo(x.MapListVal)
	case *types.Value_StructListVal:
		return mapListToGo(x.StructListVal)
	case *types.Value_ListVal:
		return repeatedToGo(x.ListVal)
	case *types.Value_SetVal:
		return repeatedToGo(x.SetVal)
	}
	return nil
}

func toTimes(secs []int64) []time.Time {
	out := make([]time.Time, len(secs))
	for i, s := range secs {
		out[i] = time.Unix(s, 0).UTC()
	}
	return out
}

func mapToGo(m *types.Map) map[string]any {
	out := make(map[string]any, len(m.GetVal()))
	for k, v := range m.GetVal() {
		out[k] = ToGo(v)
	}
	return out
}

func mapListToGo(ml *types.MapList) []map[string]any {
	out := make([]map[string]any, len(ml.GetVal()))
	for i, m := range ml.GetVal() {
		out[i] = mapToGo(m)
	}
	return out
}

func repeatedToGo(rv *types.RepeatedValue) []any {
	out := make([]any, len(rv.GetVal()))
	for i, v := range rv.GetVal() {
		out[i] = ToGo(v)
	}
	return out
}

// FromGo converts a Go value to a Value of type vt. It accepts what ToGo
// returns, plus the other Go forms a caller naturally has: any integer or
// float kind (integers must be in range, floats integral for integer types),
// json.Number, decimal strings for numeric types, time.Time (or a string
// ParseTime accepts, or epoch seconds) for UNIX_TIMESTAMP, []byte or string
// (its raw bytes, not base64) for BYTES, any slice or array for list and
// set types (nil elements are an error), map[string]any for MAP and STRUCT,
// and a *types.Value of the same type (returned as is). nil gives an empty
// Value.
func FromGo(x any, vt model.ValueType) (*types.Value, error) {
	if x == nil {
		return &types.Value{}, nil
	}
	if v, ok := x.(*types.Value); ok {
		if v == nil {
			return &types.Value{}, nil
		}
		if got := TypeOf(v); got != vt && got != types.ValueType_NULL {
			return nil, mismatch(vt, got.String())
		}
		return v, nil
	}
	switch vt {
	case model.Int64:
		n, err := goInt(x, vt, math.MinInt64, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}}, nil
	case model.Int32:
		n, err := goInt(x, vt, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_Int32Val{Int32Val: int32(n)}}, nil
	case model.Double:
		f, err := goFloat(x, vt, 64)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}}, nil
	case model.Float:
		f, err := goFloat(x, vt, 32)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_FloatVal{FloatVal: float32(f)}}, nil
	case model.Bool:
		b, ok := x.(bool)
		if !ok {
			return nil, goMismatch(vt, x)
		}
		return &types.Value{Val: &types.Value_BoolVal{BoolVal: b}}, nil
	case model.UnixTimestamp:
		s, err := goSeconds(x, vt)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: s}}, nil
	case model.Bytes:
		switch b := x.(type) {
		case []byte:
			return &types.Value{Val: &types.Value_BytesVal{BytesVal: b}}, nil
		case string:
			return &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte(b)}}, nil
		}
		return nil, goMismatch(vt, x)
	case model.String, model.UUID, types.ValueType_TIME_UUID:
		s, ok := x.(string)
		if !ok {
			return nil, goMismatch(vt, x)
		}
		return newString(vt, s), nil
	case types.ValueType_DECIMAL:
		switch s := x.(type) {
		case string:
			return newString(vt, s), nil
		case json.Number:
			return newString(vt, s.String()), nil
		}
		if f, err := goFloat(x, vt, 64); err == nil {
			return newString(vt, strconv.FormatFloat(f, 'f', -1, 64)), nil
		}
		return nil, goMismatch(vt, x)
	case model.JSON:
		switch s := x.(type) {
		case string:
			return newString(vt, s), nil
		case json.RawMessage:
			return newString(vt, string(s)), nil
		case []byte:
			return newString(vt, string(s)), nil
		}
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("encode %T as JSON: %w", x, err)
		}
		return newString(vt, string(b)), nil
	case types.ValueType_MAP, types.ValueType_STRUCT:
		m, ok := x.(map[string]any)
		if !ok {
			return nil, goMismatch(vt, x)
		}
		pm, err := goMap(m, 0)
		if err != nil {
			return nil, err
		}
		if vt == types.ValueType_STRUCT {
			return &types.Value{Val: &types.Value_StructVal{StructVal: pm}}, nil
		}
		return &types.Value{Val: &types.Value_MapVal{MapVal: pm}}, nil
	}
	if elem, ok := elemOf(vt); ok {
		return goList(x, vt, elem)
	}
	return nil, unsupported(vt, "convert Go value to")
}

func goMismatch(vt model.ValueType, x any) error {
	if s, ok := x.(string); ok {
		return mismatch(vt, "string "+strconv.Quote(truncate(s)))
	}
	return mismatch(vt, fmt.Sprintf("%T %v", x, x))
}

func goInt(x any, vt model.ValueType, lo, hi int64) (int64, error) {
	var n int64
	switch v := x.(type) {
	case int:
		n = int64(v)
	case int8:
		n = int64(v)
	case int16:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case uint:
		if uint64(v) > math.MaxInt64 {
			return 0, mismatch(vt, fmt.Sprintf("uint %d (out of range)", v))
		}
		n = int64(v)
	case uint8:
		n = int64(v)
	case uint16:
		n = int64(v)
	case uint32:
		n = int64(v)
	case uint64:
		if v > math.MaxInt64 {
			return 0, mismatch(vt, fmt.Sprintf("uint64 %d (out of range)", v))
		}
		n = int64(v)
	case float32, float64:
		f := reflect.ValueOf(v).Float()
		if f != math.Trunc(f) {
			return 0, mismatch(vt, fmt.Sprintf("non-integral number %v", f))
		}
		if f < float64(lo) || f > float64(hi) || f >= -float64(math.MinInt64) {
			return 0, mismatch(vt, fmt.Sprintf("number %v (out of range)", f))
		}
		return int64(f), nil
	case json.Number:
		tok := []byte(v.String())
		if n, ok := parseDecimalInt(tok); ok {
			if n < lo || n > hi {
				return 0, mismatch(vt, "number "+v.String()+" (out of range)")
			}
			return n, nil
		}
		return intFromToken(vt, tok, false, lo, hi)
	case string:
		p, ok := parseDecimalInt([]byte(v))
		if !ok {
			return 0, goMismatch(vt, x)
		}
		n = p
	default:
		return 0, goMismatch(vt, x)
	}
	if n < lo || n > hi {
		return 0, mismatch(vt, fmt.Sprintf("%T %d (out of range)", x, n))
	}
	return n, nil
}

func goFloat(x any, vt model.ValueType, bits int) (float64, error) {
	var f float64
	switch v := x.(type) {
	case float64:
		f = v
	case float32:
		return float64(v), nil
	case int, int8, int16, int32, int64:
		f = float64(reflect.ValueOf(v).Int())
	case uint, uint8, uint16, uint32, uint64:
		f = float64(reflect.ValueOf(v).Uint())
	case json.Number:
		p, ok := specialFloat([]byte(v.String()), bits)
		if !ok {
			return 0, mismatch(vt, "number "+v.String()+" (out of range)")
		}
		return p, nil
	case string:
		p, ok := specialFloat([]byte(v), bits)
		if !ok {
			return 0, goMismatch(vt, x)
		}
		return p, nil
	default:
		return 0, goMismatch(vt, x)
	}
	if bits == 32 && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
		return 0, mismatch(vt, fmt.Sprintf("number %v (out of range)", f))
	}
	return f, nil
}

func goSeconds(x any, vt model.ValueType) (int64, error) {
	switch v := x.(type) {
	case time.Time:
		return v.Unix(), nil
	case *time.Time:
		if v == nil {
			return 0, goMismatch(vt, x)
		}
		return v.Unix(), nil
	case string:
		t, err := ParseTime(v)
		if err != nil {
			if n, ok := parseDecimalInt([]byte(v)); ok {
				return n, nil
			}
			return 0, goMismatch(vt, x)
		}
		return t.Unix(), nil
	case float32, float64:
		f := reflect.ValueOf(v).Float()
		return floorSeconds(vt, strconv.FormatFloat(f, 'g', -1, 64), f)
	}
	return goInt(x, vt, math.MinInt64, math.MaxInt64)
}

func goList(x any, vt, elem model.ValueType) (*types.Value, error) {
	rv := reflect.ValueOf(x)
	if (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, goMismatch(vt, x)
	}
	var p listParts
	for i := 0; i < rv.Len(); i++ {
		e := rv.Index(i).Interface()
		if e == nil {
			return nil, fmt.Errorf("element %d: null is not allowed in %s", i, vt)
		}
		ev, err := FromGo(e, elem)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		if IsNull(ev) {
			return nil, fmt.Errorf("element %d: null is not allowed in %s", i, vt)
		}
		p.add(ev)
	}
	return p.value(vt), nil
}

func goMap(m map[string]any, depth int) (*types.Map, error) {
	out := &types.Map{Val: make(map[string]*types.Value, len(m))}
	for k, x := range m {
		v, err := inferGo(x, depth+1)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out.Val[k] = v
	}
	return out, nil
}

// inferGo converts a Go value whose Feast type is not declared (map members).
func inferGo(x any, depth int) (*types.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nesting too deep")
	}
	switch v := x.(type) {
	case nil:
		return &types.Value{}, nil
	case *types.Value:
		return v, nil
	case bool:
		return &types.Value{Val: &types.Value_BoolVal{BoolVal: v}}, nil
	case string:
		return newString(model.String, v), nil
	case []byte:
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: v}}, nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return FromGo(x, model.Int64)
	case float32, float64:
		return FromGo(x, model.Double)
	case json.Number:
		if n, ok := parseDecimalInt([]byte(v.String())); ok {
			return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}}, nil
		}
		return FromGo(x, model.Double)
	case time.Time:
		return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: v.Unix()}}, nil
	case map[string]any:
		m, err := goMap(v, depth)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_MapVal{MapVal: m}}, nil
	}
	rv := reflect.ValueOf(x)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		out := &types.RepeatedValue{Val: make([]*types.Value, rv.Len())}
		for i := range out.Val {
			v, err := inferGo(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out.Val[i] = v
		}
		return &types.Value{Val: &types.Value_ListVal{ListVal: out}}, nil
	}
	return nil, fmt.Errorf("%w: cannot infer a Feast type for %T", ErrUnsupported, x)
}
