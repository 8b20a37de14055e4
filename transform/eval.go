package transform

import (
	"fmt"
	"math"
	"time"

	celtypes "cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// Eval computes the view's features for one row. row maps input names
// ("view:feature" or a request field name) to values; a nil or empty Value
// is null, and every input the expressions reference (Inputs) must be
// present. The result is aligned with Features.
func (p *Program) Eval(row map[string]*types.Value) ([]*types.Value, error) {
	act := &rowActivation{p: p}
	act.vals = act.buf[:0]
	if len(p.used) > len(act.buf) {
		act.vals = make([]ref.Val, 0, len(p.used))
	}
	// Convert each referenced input once, whatever the number of references.
	for _, i := range p.used {
		v, ok := row[p.inputs[i].Name]
		if !ok {
			return nil, fmt.Errorf("evaluate %s: missing input %s", p.view, p.inputs[i].Name)
		}
		act.vals = append(act.vals, toCEL(v))
	}
	out := make([]*types.Value, len(p.features))
	for fi := range p.features {
		act.sawNull = false
		v, err := p.evalFeature(fi, act, &act.sawNull)
		if err != nil {
			return nil, err
		}
		out[fi] = v
	}
	return out, nil
}

// EvalColumns computes the view's features over n rows given as columns
// keyed by input name (each at least n long). The result is column-major:
// result[f][r] is feature f (in Features order) of row r.
func (p *Program) EvalColumns(cols map[string][]*types.Value, n int) ([][]*types.Value, error) {
	act := &columnActivation{p: p, cols: make([][]*types.Value, len(p.used))}
	for slot, i := range p.used {
		name := p.inputs[i].Name
		col, ok := cols[name]
		if !ok {
			return nil, fmt.Errorf("evaluate %s: missing input column %s", p.view, name)
		}
		if len(col) < n {
			return nil, fmt.Errorf("evaluate %s: input column %s has %d rows, want %d", p.view, name, len(col), n)
		}
		act.cols[slot] = col
	}
	out := make([][]*types.Value, len(p.features))
	for fi := range out {
		out[fi] = make([]*types.Value, n)
	}
	for r := 0; r < n; r++ {
		act.row = r
		for fi := range p.features {
			act.sawNull = false
			v, err := p.evalFeature(fi, act, &act.sawNull)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", r, err)
			}
			out[fi][r] = v
		}
	}
	return out, nil
}

func (p *Program) evalFeature(fi int, act interpreter.Activation, sawNull *bool) (*types.Value, error) {
	f := &p.features[fi]
	res, _, err := f.prg.Eval(act)
	if err != nil {
		if *sawNull {
			return &types.Value{}, nil
		}
		return nil, fmt.Errorf("evaluate %s:%s: %w", p.view, f.field.Name, err)
	}
	v, err := fromCEL(res, f.field.Type)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s:%s: %w", p.view, f.field.Name, err)
	}
	return v, nil
}

// rowActivation resolves CEL names to the row's inputs, converted once per
// Eval call.
type rowActivation struct {
	p       *Program
	vals    []ref.Val // by slot (Program.slots)
	buf     [4]ref.Val
	sawNull bool
}

func (a *rowActivation) ResolveName(name string) (any, bool) {
	slot, ok := a.p.slots[name]
	if !ok {
		return nil, false
	}
	v := a.vals[slot]
	if v == celtypes.NullValue {
		a.sawNull = true
	}
	return v, true
}

func (a *rowActivation) Parent() interpreter.Activation { return nil }

// columnActivation resolves CEL names from one row of input columns.
type columnActivation struct {
	p       *Program
	cols    [][]*types.Value // by slot (Program.slots)
	row     int
	sawNull bool
}

func (a *columnActivation) ResolveName(name string) (any, bool) {
	slot, ok := a.p.slots[name]
	if !ok {
		return nil, false
	}
	v := toCEL(a.cols[slot][a.row])
	if v == celtypes.NullValue {
		a.sawNull = true
	}
	return v, true
}

func (a *columnActivation) Parent() interpreter.Activation { return nil }

// toCEL converts a Feast value to its CEL value (null for nil and empty).
func toCEL(v *types.Value) ref.Val {
	if v == nil {
		return celtypes.NullValue
	}
	switch x := v.Val.(type) {
	case *types.Value_Int64Val:
		return celtypes.Int(x.Int64Val)
	case *types.Value_Int32Val:
		return celtypes.Int(x.Int32Val)
	case *types.Value_DoubleVal:
		return celtypes.Double(x.DoubleVal)
	case *types.Value_FloatVal:
		return celtypes.Double(x.FloatVal)
	case *types.Value_StringVal:
		return celtypes.String(x.StringVal)
	case *types.Value_BoolVal:
		return celtypes.Bool(x.BoolVal)
	case *types.Value_BytesVal:
		return celtypes.Bytes(x.BytesVal)
	case *types.Value_UnixTimestampVal:
		return celtypes.Timestamp{Time: time.Unix(x.UnixTimestampVal, 0).UTC()}
	case *types.Value_UuidVal:
		return celtypes.String(x.UuidVal)
	case *types.Value_TimeUuidVal:
		return celtypes.String(x.TimeUuidVal)
	case *types.Value_JsonVal:
		return celtypes.String(x.JsonVal)
	case *types.Value_DecimalVal:
		return celtypes.String(x.DecimalVal)
	case nil, *types.Value_NullVal:
		return celtypes.NullValue
	}
	elems := values.ListElements(v)
	if elems == nil && values.TypeOf(v) == types.ValueType_NULL {
		return celtypes.NullValue
	}
	list := make([]ref.Val, len(elems))
	for i, e := range elems {
		list[i] = toCEL(e)
	}
	return celtypes.NewRefValList(celtypes.DefaultTypeAdapter, list)
}

// fromCEL converts an expression result to a Feast value of type vt.
func fromCEL(res ref.Val, vt model.ValueType) (*types.Value, error) {
	if res == celtypes.NullValue || res == nil {
		return &types.Value{}, nil
	}
	switch vt {
	case model.Double, model.Float:
		var f float64
		switch x := res.(type) {
		case celtypes.Double:
			f = float64(x)
		case celtypes.Int:
			f = float64(x)
		case celtypes.Uint:
			f = float64(x)
		default:
			return nil, resultMismatch(res, vt)
		}
		if vt == model.Float {
			return &types.Value{Val: &types.Value_FloatVal{FloatVal: float32(f)}}, nil
		}
		return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}}, nil
	case model.Int64, model.Int32:
		var n int64
		switch x := res.(type) {
		case celtypes.Int:
			n = int64(x)
		case celtypes.Uint:
			if uint64(x) > math.MaxInt64 {
				return nil, fmt.Errorf("result %d out of %s range", uint64(x), model.DTypeName(vt))
			}
			n = int64(x)
		default:
			return nil, resultMismatch(res, vt)
		}
		if vt == model.Int32 {
			if n < math.MinInt32 || n > math.MaxInt32 {
				return nil, fmt.Errorf("result %d out of Int32 range", n)
			}
			return &types.Value{Val: &types.Value_Int32Val{Int32Val: int32(n)}}, nil
		}
		return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}}, nil
	case model.String, model.UUID, types.ValueType_TIME_UUID, model.JSON, types.ValueType_DECIMAL:
		s, ok := res.(celtypes.String)
		if !ok {
			return nil, resultMismatch(res, vt)
		}
		if vt == model.String {
			return &types.Value{Val: &types.Value_StringVal{StringVal: string(s)}}, nil
		}
		return values.FromGo(string(s), vt)
	case model.Bytes:
		b, ok := res.(celtypes.Bytes)
		if !ok {
			return nil, resultMismatch(res, vt)
		}
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte(b)}}, nil
	case model.Bool:
		b, ok := res.(celtypes.Bool)
		if !ok {
			return nil, resultMismatch(res, vt)
		}
		return &types.Value{Val: &types.Value_BoolVal{BoolVal: bool(b)}}, nil
	case model.UnixTimestamp:
		switch x := res.(type) {
		case celtypes.Timestamp:
			return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: x.Unix()}}, nil
		case celtypes.Int:
			return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: int64(x)}}, nil
		}
		return nil, resultMismatch(res, vt)
	}
	elem, ok := model.ElementType(vt)
	if !ok {
		return nil, fmt.Errorf("type %s is not supported as an on-demand feature", model.DTypeName(vt))
	}
	l, ok := res.(traits.Lister)
	if !ok {
		return nil, resultMismatch(res, vt)
	}
	size, _ := l.Size().(celtypes.Int)
	items := make([]any, int(size))
	for i := range items {
		e := l.Get(celtypes.Int(i))
		if e == celtypes.NullValue {
			return nil, fmt.Errorf("element %d: null is not allowed in %s", i, model.DTypeName(vt))
		}
		ev, err := fromCEL(e, elem)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		items[i] = values.ToGo(ev)
	}
	return values.FromGo(items, vt)
}

func resultMismatch(res ref.Val, vt model.ValueType) error {
	return fmt.Errorf("result of type %s, but the feature is declared %s", res.Type().TypeName(), model.DTypeName(vt))
}
