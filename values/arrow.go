package values

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// FromArrow converts the value at row of an Arrow column to a Value of the
// declared type vt. Accepted column types:
//
//   - integers of any width and signedness for INT32 (range-checked), INT64,
//     DOUBLE, FLOAT and UNIX_TIMESTAMP (as epoch seconds)
//   - floats for DOUBLE and FLOAT, and for integer types when integral
//   - decimals (32 to 256 bits, any scale) for DOUBLE and FLOAT (the
//     nearest float), for integer types when integral (exactly: a
//     DECIMAL(20,0) id above 2^53 keeps every digit) and for DECIMAL (as
//     their exact text, DecimalText)
//   - strings (also large and view strings) for the string kinds; binary
//     (also large, view and fixed-size) and strings for BYTES
//   - booleans for BOOL
//   - timestamps of any unit (floored to epoch seconds) and dates for
//     UNIX_TIMESTAMP
//   - lists, large lists and fixed-size lists of the above for list and set
//     types (a null element is an error: Feast lists cannot hold nulls)
//   - dictionary-encoded columns of any of the above
//
// A null cell gives an empty Value.
func FromArrow(col arrow.Array, row int, vt model.ValueType) (*types.Value, error) {
	if row < 0 || row >= col.Len() {
		return nil, fmt.Errorf("arrow row %d out of range [0, %d)", row, col.Len())
	}
	return fromArrow(col, row, vt)
}

func fromArrow(col arrow.Array, row int, vt model.ValueType) (*types.Value, error) {
	if col.IsNull(row) {
		return &types.Value{}, nil
	}
	if d, ok := col.(*array.Dictionary); ok {
		return fromArrow(d.Dictionary(), d.GetValueIndex(row), vt)
	}
	switch vt {
	case model.Int64:
		n, err := arrowInt(col, row, vt, math.MinInt64, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}}, nil
	case model.Int32:
		n, err := arrowInt(col, row, vt, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_Int32Val{Int32Val: int32(n)}}, nil
	case model.Double:
		f, err := arrowFloat(col, row, vt)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}}, nil
	case model.Float:
		f, err := arrowFloat(col, row, vt)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_FloatVal{FloatVal: float32(f)}}, nil
	case model.Bool:
		b, ok := col.(*array.Boolean)
		if !ok {
			return nil, arrowMismatch(vt, col)
		}
		return &types.Value{Val: &types.Value_BoolVal{BoolVal: b.Value(row)}}, nil
	case model.UnixTimestamp:
		s, err := arrowSeconds(col, row, vt)
		if err != nil {
			return nil, err
		}
		return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: s}}, nil
	case model.Bytes:
		b, ok := arrowBytes(col, row)
		if !ok {
			return nil, arrowMismatch(vt, col)
		}
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: b}}, nil
	case types.ValueType_DECIMAL:
		if text, ok := DecimalText(col, row); ok {
			return newString(vt, text), nil
		}
		fallthrough
	case model.String, model.JSON, model.UUID, types.ValueType_TIME_UUID:
		s, ok := arrowString(col, row)
		if !ok {
			return nil, arrowMismatch(vt, col)
		}
		return newString(vt, s), nil
	}
	if elem, ok := elemOf(vt); ok {
		return arrowList(col, row, vt, elem)
	}
	return nil, unsupported(vt, "convert Arrow to")
}

func arrowMismatch(vt model.ValueType, col arrow.Array) error {
	return mismatch(vt, "arrow "+col.DataType().String())
}

// arrowInt reads an integer (or integral float, or timestamp seconds for
// UNIX_TIMESTAMP callers) in [lo, hi].
func arrowInt(col arrow.Array, row int, vt model.ValueType, lo, hi int64) (int64, error) {
	var n int64
	switch a := col.(type) {
	case *array.Int64:
		n = a.Value(row)
	case *array.Int32:
		n = int64(a.Value(row))
	case *array.Int16:
		n = int64(a.Value(row))
	case *array.Int8:
		n = int64(a.Value(row))
	case *array.Uint8:
		n = int64(a.Value(row))
	case *array.Uint16:
		n = int64(a.Value(row))
	case *array.Uint32:
		n = int64(a.Value(row))
	case *array.Uint64:
		u := a.Value(row)
		if u > math.MaxInt64 {
			return 0, mismatch(vt, fmt.Sprintf("arrow uint64 %d (out of range)", u))
		}
		n = int64(u)
	case *array.Float64, *array.Float32:
		f, _ := arrowFloat(col, row, vt)
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			return 0, mismatch(vt, fmt.Sprintf("non-integral arrow %s %v", col.DataType(), f))
		}
		if f < float64(lo) || f > float64(hi) || f >= -float64(math.MinInt64) {
			return 0, mismatch(vt, fmt.Sprintf("arrow %s %v (out of range)", col.DataType(), f))
		}
		return int64(f), nil
	case *array.Decimal32, *array.Decimal64, *array.Decimal128, *array.Decimal256:
		if u, scale, ok := smallDecimal(col, row); ok && scale == 0 {
			n = u
			break
		}
		// Exactly, through the decimal's text: a float64 would round ids
		// above 2^53.
		s, _ := DecimalText(col, row)
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return 0, mismatch(vt, fmt.Sprintf("arrow %s %s", col.DataType(), s))
		}
		if !r.IsInt() {
			return 0, mismatch(vt, fmt.Sprintf("non-integral arrow %s %s", col.DataType(), s))
		}
		if !r.Num().IsInt64() || r.Num().Int64() < lo || r.Num().Int64() > hi {
			return 0, mismatch(vt, fmt.Sprintf("arrow %s %s (out of range)", col.DataType(), s))
		}
		return r.Num().Int64(), nil
	default:
		return 0, arrowMismatch(vt, col)
	}
	if n < lo || n > hi {
		return 0, mismatch(vt, fmt.Sprintf("arrow %s %d (out of range)", col.DataType(), n))
	}
	return n, nil
}

func arrowFloat(col arrow.Array, row int, vt model.ValueType) (float64, error) {
	switch a := col.(type) {
	case *array.Float64:
		return a.Value(row), nil
	case *array.Float32:
		return float64(a.Value(row)), nil
	case *array.Float16:
		return float64(a.Value(row).Float32()), nil
	case *array.Int64, *array.Int32, *array.Int16, *array.Int8,
		*array.Uint64, *array.Uint32, *array.Uint16, *array.Uint8:
		if u, ok := col.(*array.Uint64); ok {
			return float64(u.Value(row)), nil
		}
		n, err := arrowInt(col, row, vt, math.MinInt64, math.MaxInt64)
		return float64(n), err
	case *array.Decimal32, *array.Decimal64, *array.Decimal128, *array.Decimal256:
		// Both operands exact (|u| ≤ 2^53, 10^scale ≤ 10^22), so the one
		// IEEE division rounds correctly, as ParseFloat would.
		if u, scale, ok := smallDecimal(col, row); ok && u >= -1<<53 && u <= 1<<53 && scale >= 0 && scale <= 22 {
			return float64(u) / pow10[scale], nil
		}
		// ParseFloat rounds the exact decimal text once, to the nearest
		// float64, as Python's float(Decimal) does.
		s, _ := DecimalText(col, row)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return 0, mismatch(vt, fmt.Sprintf("arrow %s %s", col.DataType(), s))
		}
		return f, nil
	}
	return 0, arrowMismatch(vt, col)
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// smallDecimal returns a decimal cell's unscaled value and scale when the
// unscaled value fits an int64: the common case, read without big
// numbers or text.
func smallDecimal(col arrow.Array, row int) (int64, int32, bool) {
	switch a := col.(type) {
	case *array.Decimal32:
		return int64(a.Value(row)), a.DataType().(arrow.DecimalType).GetScale(), true
	case *array.Decimal64:
		return int64(a.Value(row)), a.DataType().(arrow.DecimalType).GetScale(), true
	case *array.Decimal128:
		v := a.Value(row)
		hi, lo := v.HighBits(), v.LowBits()
		if (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64) {
			return int64(lo), a.DataType().(arrow.DecimalType).GetScale(), true
		}
	}
	return 0, 0, false
}

// DecimalText returns the exact plain text of a decimal cell, with as many
// fractional digits as the column's scale ("12.30", "-0.00001", "123000"
// for 123 at scale -3), and false when col is not a decimal column.
// Arrow's ValueStr is not that: it switches to exponent form ("1e-05")
// and drops trailing zeros.
func DecimalText(col arrow.Array, row int) (string, bool) {
	var n *big.Int
	var scale int32
	switch a := col.(type) {
	case *array.Decimal32:
		n, scale = big.NewInt(int64(a.Value(row))), a.DataType().(arrow.DecimalType).GetScale()
	case *array.Decimal64:
		n, scale = big.NewInt(int64(a.Value(row))), a.DataType().(arrow.DecimalType).GetScale()
	case *array.Decimal128:
		n, scale = a.Value(row).BigInt(), a.DataType().(arrow.DecimalType).GetScale()
	case *array.Decimal256:
		n, scale = a.Value(row).BigInt(), a.DataType().(arrow.DecimalType).GetScale()
	default:
		return "", false
	}
	digits := n.String()
	sign := ""
	if n.Sign() < 0 {
		sign, digits = "-", digits[1:]
	}
	switch {
	case scale <= 0:
		if n.Sign() != 0 {
			digits += strings.Repeat("0", int(-scale))
		}
	case len(digits) <= int(scale):
		digits = "0." + strings.Repeat("0", int(scale)-len(digits)) + digits
	default:
		at := len(digits) - int(scale)
		digits = digits[:at] + "." + digits[at:]
	}
	return sign + digits, true
}

func arrowString(col arrow.Array, row int) (string, bool) {
	switch a := col.(type) {
	case *array.String:
		return a.Value(row), true
	case *array.LargeString:
		return a.Value(row), true
	case *array.StringView:
		return a.Value(row), true
	}
	return "", false
}

// arrowBytes returns a copy of a binary or string cell.
func arrowBytes(col arrow.Array, row int) ([]byte, bool) {
	var b []byte
	switch a := col.(type) {
	case *array.Binary:
		b = a.Value(row)
	case *array.LargeBinary:
		b = a.Value(row)
	case *array.BinaryView:
		b = a.Value(row)
	case *array.FixedSizeBinary:
		b = a.Value(row)
	default:
		s, ok := arrowString(col, row)
		if !ok {
			return nil, false
		}
		return []byte(s), true
	}
	// Arrow buffers may be released or reused by the caller: copy.
	out := make([]byte, len(b))
	copy(out, b)
	return out, true
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// unitDivisor is the number of timestamp units per second.
func unitDivisor(u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Millisecond:
		return 1_000
	case arrow.Microsecond:
		return 1_000_000
	case arrow.Nanosecond:
		return 1_000_000_000
	}
	return 1
}

func arrowSeconds(col arrow.Array, row int, vt model.ValueType) (int64, error) {
	switch a := col.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return floorDiv(int64(a.Value(row)), unitDivisor(unit)), nil
	case *array.Date32:
		return int64(a.Value(row)) * 86400, nil
	case *array.Date64:
		return floorDiv(int64(a.Value(row)), 1000), nil
	case *array.String, *array.LargeString, *array.StringView:
		s, _ := arrowString(col, row)
		t, err := ParseTime(s)
		if err != nil {
			return 0, mismatch(vt, "arrow string "+fmt.Sprintf("%q", truncate(s)))
		}
		return t.Unix(), nil
	}
	return arrowInt(col, row, vt, math.MinInt64, math.MaxInt64)
}

// listBounds returns the child array and the [start, end) element range of
// a list cell.
func listBounds(col arrow.Array, row int) (arrow.Array, int, int, bool) {
	switch a := col.(type) {
	case *array.List:
		s, e := a.ValueOffsets(row)
		return a.ListValues(), int(s), int(e), true
	case *array.LargeList:
		s, e := a.ValueOffsets(row)
		return a.ListValues(), int(s), int(e), true
	case *array.FixedSizeList:
		s, e := a.ValueOffsets(row)
		return a.ListValues(), int(s), int(e), true
	}
	return nil, 0, 0, false
}

func arrowList(col arrow.Array, row int, vt, elem model.ValueType) (*types.Value, error) {
	child, start, end, ok := listBounds(col, row)
	if !ok {
		return nil, arrowMismatch(vt, col)
	}
	var p listParts
	for j := start; j < end; j++ {
		if child.IsNull(j) {
			return nil, fmt.Errorf("element %d: null is not allowed in %s", j-start, vt)
		}
		e, err := fromArrow(child, j, elem)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", j-start, err)
		}
		p.add(e)
	}
	return p.value(vt), nil
}

// ColumnFromArrow converts a whole Arrow column, with FromArrow's rules. The
// common pairs (int64, int32, float64, float32, string, bool and timestamp
// columns to their natural types) take a fast path that reads the column's
// buffers directly and allocates the Values in slabs.
func ColumnFromArrow(col arrow.Array, vt model.ValueType) ([]*types.Value, error) {
	n := col.Len()
	out := make([]*types.Value, n)
	slab := make([]types.Value, n)
	for i := range out {
		out[i] = &slab[i]
	}
	switch a := col.(type) {
	case *array.Int64:
		if vt == model.Int64 {
			w := make([]types.Value_Int64Val, n)
			for i, x := range a.Int64Values() {
				if a.IsValid(i) {
					w[i].Int64Val = x
					slab[i].Val = &w[i]
				}
			}
			return out, nil
		}
	case *array.Int32:
		if vt == model.Int32 {
			w := make([]types.Value_Int32Val, n)
			for i, x := range a.Int32Values() {
				if a.IsValid(i) {
					w[i].Int32Val = x
					slab[i].Val = &w[i]
				}
			}
			return out, nil
		}
	case *array.Float64:
		if vt == model.Double {
			w := make([]types.Value_DoubleVal, n)
			for i, x := range a.Float64Values() {
				if a.IsValid(i) {
					w[i].DoubleVal = x
					slab[i].Val = &w[i]
				}
			}
			return out, nil
		}
	case *array.Float32:
		if vt == model.Float {
			w := make([]types.Value_FloatVal, n)
			for i, x := range a.Float32Values() {
				if a.IsValid(i) {
					w[i].FloatVal = x
					slab[i].Val = &w[i]
				}
			}
			return out, nil
		}
	case *array.String:
		if vt == model.String {
			w := make([]types.Value_StringVal, n)
			for i := 0; i < n; i++ {
				if a.IsValid(i) {
					w[i].StringVal = a.Value(i)
					slab[i].Val = &w[i]
				}
			}
			return out, nil
		}
	case *array.Boolean:
		if vt == model.Bool {
			w := make([]types.Value_BoolVal, n)
			for i := 0; i < n; i++ {
				if a.IsValid(i) {
					w[i].BoolVal = a.Value(i)
					slab[i].Val = &w[i]
				}
			}
			return out, nil
		}
	case *array.Timestamp:
		if vt == model.UnixTimestamp {
			div := unitDivisor(a.DataType().(*arrow.TimestampType).Unit)
			w := make([]types.Value_UnixTimestampVal, n)
			for i, x := range a.TimestampValues() {
				if a.IsValid(i) {
					w[i].UnixTimestampVal = floorDiv(int64(x), div)
					slab[i].Val = &w[i]
				}
			}
			return out, nil
		}
	}
	for i := 0; i < n; i++ {
		v, err := fromArrow(col, i, vt)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// ArrowType returns the Arrow type a column of vt is written as: binary,
// utf8 (also for JSON, UUID, TIME_UUID and DECIMAL), int32, int64, float64,
// float32, bool, timestamp[us, UTC] for UNIX_TIMESTAMP, and list<T> for list
// and set types.
func ArrowType(vt model.ValueType) (arrow.DataType, error) {
	switch vt {
	case model.Bytes:
		return arrow.BinaryTypes.Binary, nil
	case model.String, model.JSON, model.UUID, types.ValueType_TIME_UUID, types.ValueType_DECIMAL:
		return arrow.BinaryTypes.String, nil
	case model.Int32:
		return arrow.PrimitiveTypes.Int32, nil
	case model.Int64:
		return arrow.PrimitiveTypes.Int64, nil
	case model.Double:
		return arrow.PrimitiveTypes.Float64, nil
	case model.Float:
		return arrow.PrimitiveTypes.Float32, nil
	case model.Bool:
		return arrow.FixedWidthTypes.Boolean, nil
	case model.UnixTimestamp:
		return arrow.FixedWidthTypes.Timestamp_us, nil
	}
	if elem, ok := elemOf(vt); ok {
		et, err := ArrowType(elem)
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(et), nil
	}
	return nil, unsupported(vt, "no Arrow type for")
}

// ColumnBuilder builds an Arrow column of ArrowType(vt) from Values. It is
// not safe for concurrent use; Release it when done.
type ColumnBuilder struct {
	vt   model.ValueType
	elem model.ValueType
	b    array.Builder
}

// NewColumnBuilder returns a builder for a column of type vt allocating from mem.
func NewColumnBuilder(mem memory.Allocator, vt model.ValueType) (*ColumnBuilder, error) {
	dt, err := ArrowType(vt)
	if err != nil {
		return nil, err
	}
	elem, _ := elemOf(vt)
	return &ColumnBuilder{vt: vt, elem: elem, b: array.NewBuilder(mem, dt)}, nil
}

// Len is the number of values appended so far.
func (c *ColumnBuilder) Len() int { return c.b.Len() }

// Reserve ensures room for n more values.
func (c *ColumnBuilder) Reserve(n int) { c.b.Reserve(n) }

// NewArray returns the built column and resets the builder.
func (c *ColumnBuilder) NewArray() arrow.Array { return c.b.NewArray() }

// Release releases the builder's memory.
func (c *ColumnBuilder) Release() { c.b.Release() }

// Append appends v; nil and empty Values append null. Values of a compatible
// numeric kind are converted (an int32_val into an INT64 column, a
// float_val into DOUBLE, ...); anything else is a TypeError.
func (c *ColumnBuilder) Append(v *types.Value) error {
	if IsNull(v) {
		c.b.AppendNull()
		return nil
	}
	if lb, ok := c.b.(*array.ListBuilder); ok {
		return appendArrowList(lb, v, c.vt, c.elem)
	}
	return appendArrowScalar(c.b, v, c.vt)
}

// ToArrow builds an Arrow column of type vt from vals.
func ToArrow(mem memory.Allocator, vt model.ValueType, vals []*types.Value) (arrow.Array, error) {
	b, err := NewColumnBuilder(mem, vt)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	b.Reserve(len(vals))
	for i, v := range vals {
		if err := b.Append(v); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
	}
	return b.NewArray(), nil
}

func valueMismatch(vt model.ValueType, v *types.Value) error {
	return mismatch(vt, TypeOf(v).String())
}

func appendArrowScalar(b array.Builder, v *types.Value, vt model.ValueType) error {
	switch b := b.(type) {
	case *array.Int64Builder:
		n, ok := asInt64(v)
		if !ok {
			return valueMismatch(vt, v)
		}
		b.Append(n)
	case *array.Int32Builder:
		n, ok := asInt64(v)
		if !ok {
			return valueMismatch(vt, v)
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return mismatch(vt, fmt.Sprintf("%s %d (out of range)", TypeOf(v), n))
		}
		b.Append(int32(n))
	case *array.Float64Builder:
		f, ok := asFloat64(v)
		if !ok {
			return valueMismatch(vt, v)
		}
		b.Append(f)
	case *array.Float32Builder:
		f, ok := asFloat64(v)
		if !ok {
			return valueMismatch(vt, v)
		}
		b.Append(float32(f))
	case *array.BooleanBuilder:
		x, ok := v.Val.(*types.Value_BoolVal)
		if !ok {
			return valueMismatch(vt, v)
		}
		b.Append(x.BoolVal)
	case *array.StringBuilder:
		s, ok := asString(v)
		if !ok {
			return valueMismatch(vt, v)
		}
		b.Append(s)
	case *array.BinaryBuilder:
		x, ok := v.Val.(*types.Value_BytesVal)
		if !ok {
			return valueMismatch(vt, v)
		}
		b.Append(x.BytesVal)
	case *array.TimestampBuilder:
		var s int64
		switch x := v.Val.(type) {
		case *types.Value_UnixTimestampVal:
			s = x.UnixTimestampVal
		case *types.Value_Int64Val:
			s = x.Int64Val
		default:
			return valueMismatch(vt, v)
		}
		const maxSec = math.MaxInt64 / 1_000_000
		if s > maxSec || s < -maxSec {
			return mismatch(vt, fmt.Sprintf("timestamp %d (out of range)", s))
		}
		b.Append(arrow.Timestamp(s * 1_000_000))
	default:
		return unsupported(vt, "build Arrow column of")
	}
	return nil
}

func appendArrowList(lb *array.ListBuilder, v *types.Value, vt, elem model.ValueType) error {
	vb := lb.ValueBuilder()
	if _, ok := elemOf(TypeOf(v)); !ok {
		return valueMismatch(vt, v)
	}
	elems := ListElements(v)
	lb.Append(true)
	for i, e := range elems {
		if err := appendArrowScalar(vb, e, elem); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

// ListElements returns the elements of a list or set value as scalar
// Values (nil for other values).
func ListElements(v *types.Value) []*types.Value {
	var out []*types.Value
	switch x := v.GetVal().(type) {
	case *types.Value_Int64ListVal:
		out = wrapEach(x.Int64ListVal.GetVal(), func(n int64) *types.Value { return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}} })
	case *types.Value_Int64SetVal:
		out = wrapEach(x.Int64SetVal.GetVal(), func(n int64) *types.Value { return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}} })
	case *types.Value_UnixTimestampListVal:
		out = wrapEach(x.UnixTimestampListVal.GetVal(), func(n int64) *types.Value {
			return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: n}}
		})
	case *types.Value_UnixTimestampSetVal:
		out = wrapEach(x.UnixTimestampSetVal.GetVal(), func(n int64) *types.Value {
			return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: n}}
		})
	case *types.Value_Int32ListVal:
		out = wrapEach(x.Int32ListVal.GetVal(), func(n int32) *types.Value { return &types.Value{Val: &types.Value_Int32Val{Int32Val: n}} })
	case *types.Value_Int32SetVal:
		out = wrapEach(x.Int32SetVal.GetVal(), func(n int32) *types.Value { return &types.Value{Val: &types.Value_Int32Val{Int32Val: n}} })
	case *types.Value_DoubleListVal:
		out = wrapEach(x.DoubleListVal.GetVal(), func(f float64) *types.Value { return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}} })
	case *types.Value_DoubleSetVal:
		out = wrapEach(x.DoubleSetVal.GetVal(), func(f float64) *types.Value { return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}} })
	case *types.Value_FloatListVal:
		out = wrapEach(x.FloatListVal.GetVal(), func(f float32) *types.Value { return &types.Value{Val: &types.Value_FloatVal{FloatVal: f}} })
	case *types.Value_FloatSetVal:
		out = wrapEach(x.FloatSetVal.GetVal(), func(f float32) *types.Value { return &types.Value{Val: &types.Value_FloatVal{FloatVal: f}} })
	case *types.Value_BoolListVal:
		out = wrapEach(x.BoolListVal.GetVal(), func(b bool) *types.Value { return &types.Value{Val: &types.Value_BoolVal{BoolVal: b}} })
	case *types.Value_BoolSetVal:
		out = wrapEach(x.BoolSetVal.GetVal(), func(b bool) *types.Value { return &types.Value{Val: &types.Value_BoolVal{BoolVal: b}} })
	case *types.Value_BytesListVal:
		out = wrapEach(x.BytesListVal.GetVal(), func(b []byte) *types.Value { return &types.Value{Val: &types.Value_BytesVal{BytesVal: b}} })
	case *types.Value_BytesSetVal:
		out = wrapEach(x.BytesSetVal.GetVal(), func(b []byte) *types.Value { return &types.Value{Val: &types.Value_BytesVal{BytesVal: b}} })
	case *types.Value_StringListVal:
		out = wrapEach(x.StringListVal.GetVal(), func(s string) *types.Value { return newString(model.String, s) })
	case *types.Value_StringSetVal:
		out = wrapEach(x.StringSetVal.GetVal(), func(s string) *types.Value { return newString(model.String, s) })
	case *types.Value_JsonListVal:
		out = wrapEach(x.JsonListVal.GetVal(), func(s string) *types.Value { return newString(model.JSON, s) })
	case *types.Value_UuidListVal:
		out = wrapEach(x.UuidListVal.GetVal(), func(s string) *types.Value { return newString(model.UUID, s) })
	case *types.Value_UuidSetVal:
		out = wrapEach(x.UuidSetVal.GetVal(), func(s string) *types.Value { return newString(model.UUID, s) })
	case *types.Value_TimeUuidListVal:
		out = wrapEach(x.TimeUuidListVal.GetVal(), func(s string) *types.Value { return newString(types.ValueType_TIME_UUID, s) })
	case *types.Value_TimeUuidSetVal:
		out = wrapEach(x.TimeUuidSetVal.GetVal(), func(s string) *types.Value { return newString(types.ValueType_TIME_UUID, s) })
	case *types.Value_DecimalListVal:
		out = wrapEach(x.DecimalListVal.GetVal(), func(s string) *types.Value { return newString(types.ValueType_DECIMAL, s) })
	case *types.Value_DecimalSetVal:
		out = wrapEach(x.DecimalSetVal.GetVal(), func(s string) *types.Value { return newString(types.ValueType_DECIMAL, s) })
	case *types.Value_ListVal:
		out = x.ListVal.GetVal()
	case *types.Value_SetVal:
		out = x.SetVal.GetVal()
	}
	return out
}

func wrapEach[T any](xs []T, f func(T) *types.Value) []*types.Value {
	out := make([]*types.Value, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// asInt64 reads any integer member (int32, int64, unix timestamp).
func asInt64(v *types.Value) (int64, bool) {
	switch x := v.Val.(type) {
	case *types.Value_Int64Val:
		return x.Int64Val, true
	case *types.Value_Int32Val:
		return int64(x.Int32Val), true
	case *types.Value_UnixTimestampVal:
		return x.UnixTimestampVal, true
	}
	return 0, false
}

// asFloat64 reads any numeric member.
func asFloat64(v *types.Value) (float64, bool) {
	switch x := v.Val.(type) {
	case *types.Value_DoubleVal:
		return x.DoubleVal, true
	case *types.Value_FloatVal:
		return float64(x.FloatVal), true
	case *types.Value_Int64Val:
		return float64(x.Int64Val), true
	case *types.Value_Int32Val:
		return float64(x.Int32Val), true
	}
	return 0, false
}

// asString reads any string-kind member.
func asString(v *types.Value) (string, bool) {
	switch x := v.Val.(type) {
	case *types.Value_StringVal:
		return x.StringVal, true
	case *types.Value_JsonVal:
		return x.JsonVal, true
	case *types.Value_UuidVal:
		return x.UuidVal, true
	case *types.Value_TimeUuidVal:
		return x.TimeUuidVal, true
	case *types.Value_DecimalVal:
		return x.DecimalVal, true
	}
	return "", false
}
