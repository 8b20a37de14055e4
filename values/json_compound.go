package values

// Readers of compound values: lists and sets of scalars, objects (MAP,
// STRUCT) and lists of them, and values of undeclared type inside objects.

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// list decodes an array of scalars of type elem into a list or set of type vt.
func (d *decoder) list(vt, elem model.ValueType) (*types.Value, error) {
	if d.peek() != '[' {
		return nil, d.mismatchNext(vt)
	}
	d.pos++
	var p listParts
	d.skipWS()
	if d.peek() == ']' {
		d.pos++
		return p.value(vt), nil
	}
	for i := 0; ; i++ {
		d.skipWS()
		if d.peek() == 'n' {
			return nil, fmt.Errorf("element %d: null is not allowed in %s", i, vt)
		}
		var err error
		switch elem {
		case model.Int64, model.Int32:
			lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
			if elem == model.Int32 {
				lo, hi = math.MinInt32, math.MaxInt32
			}
			var n int64
			n, err = d.int(elem, lo, hi)
			if elem == model.Int32 {
				p.i32 = append(p.i32, int32(n))
			} else {
				p.i64 = append(p.i64, n)
			}
		case model.UnixTimestamp:
			var n int64
			n, err = d.timestamp(elem)
			p.i64 = append(p.i64, n)
		case model.Double:
			var f float64
			f, err = d.float(elem, 64)
			p.f64 = append(p.f64, f)
		case model.Float:
			var f float64
			f, err = d.float(elem, 32)
			p.f32 = append(p.f32, float32(f))
		case model.Bool:
			var b bool
			b, err = d.bool(elem)
			p.bools = append(p.bools, b)
		default:
			var v *types.Value
			v, err = d.value(elem, 1)
			if err == nil {
				p.add(v)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return p.value(vt), nil
		default:
			return nil, d.syntax("expected ',' or ']' in array")
		}
	}
}

// object decodes a JSON object with inferred member types.
func (d *decoder) object(depth int) (*types.Map, error) {
	if depth > maxDepth {
		return nil, d.syntax("nesting too deep")
	}
	d.pos++ // '{'
	m := &types.Map{Val: map[string]*types.Value{}}
	d.skipWS()
	if d.peek() == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.skipWS()
		if d.peek() != '"' {
			return nil, d.syntax("expected object key")
		}
		key, err := d.readString()
		if err != nil {
			return nil, err
		}
		d.skipWS()
		if d.peek() != ':' {
			return nil, d.syntax("expected ':' in object")
		}
		d.pos++
		v, err := d.infer(depth + 1)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		m.Val[key] = v
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, nil
		default:
			return nil, d.syntax("expected ',' or '}' in object")
		}
	}
}

// mapList decodes an array of objects.
func (d *decoder) mapList(vt model.ValueType, depth int) (*types.Value, error) {
	if d.peek() != '[' {
		return nil, d.mismatchNext(vt)
	}
	d.pos++
	ml := &types.MapList{}
	d.skipWS()
	if d.peek() != ']' {
		for i := 0; ; i++ {
			d.skipWS()
			if d.peek() != '{' {
				err := d.mismatchNext(vt)
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			m, err := d.object(depth + 1)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			ml.Val = append(ml.Val, m)
			d.skipWS()
			if d.peek() == ',' {
				d.pos++
				continue
			}
			break
		}
	}
	d.skipWS()
	if d.peek() != ']' {
		return nil, d.syntax("expected ',' or ']' in array")
	}
	d.pos++
	if vt == types.ValueType_STRUCT_LIST {
		return &types.Value{Val: &types.Value_StructListVal{StructListVal: ml}}, nil
	}
	return &types.Value{Val: &types.Value_MapListVal{MapListVal: ml}}, nil
}

// infer decodes a value whose type is not declared (map members): strings,
// integers (int64), other numbers (double), bools, null, objects (Map) and
// arrays (list_val of inferred values).
func (d *decoder) infer(depth int) (*types.Value, error) {
	if depth > maxDepth {
		return nil, d.syntax("nesting too deep")
	}
	d.skipWS()
	switch c := d.peek(); {
	case c == 'n':
		return &types.Value{}, d.literal("null")
	case c == 't' || c == 'f':
		b, err := d.bool(model.Bool)
		return &types.Value{Val: &types.Value_BoolVal{BoolVal: b}}, err
	case c == '"':
		s, err := d.readString()
		return &types.Value{Val: &types.Value_StringVal{StringVal: s}}, err
	case c == '-' || isDigit(c):
		tok, isInt, err := d.scanNumber()
		if err != nil {
			return nil, err
		}
		if isInt {
			if n, ok := parseDecimalInt(tok); ok {
				return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}}, nil
			}
		}
		f, err := strconv.ParseFloat(bytesString(tok), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, d.syntax("invalid number")
		}
		return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}}, nil
	case c == '{':
		m, err := d.object(depth + 1)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_MapVal{MapVal: m}}, nil
	case c == '[':
		d.pos++
		rv := &types.RepeatedValue{}
		d.skipWS()
		if d.peek() == ']' {
			d.pos++
			return &types.Value{Val: &types.Value_ListVal{ListVal: rv}}, nil
		}
		for {
			v, err := d.infer(depth + 1)
			if err != nil {
				return nil, err
			}
			rv.Val = append(rv.Val, v)
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return &types.Value{Val: &types.Value_ListVal{ListVal: rv}}, nil
			default:
				return nil, d.syntax("expected ',' or ']' in array")
			}
		}
	}
	return nil, d.syntax("invalid value")
}
