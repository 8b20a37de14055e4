package values

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

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

// maxDepth bounds the nesting of JSON arrays and objects the decoder accepts.
const maxDepth = 256

// errSyntax is wrapped by errors about malformed JSON.
var errSyntax = errors.New("invalid JSON")

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

// decoder scans JSON text in place.
type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) skipWS() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) syntax(msg string) error {
	if d.pos >= len(d.data) {
		return fmt.Errorf("%w: %s at end of input", errSyntax, msg)
	}
	return fmt.Errorf("%w: %s at offset %d", errSyntax, msg, d.pos)
}

// end checks that only whitespace follows the value.
func (d *decoder) end() error {
	d.skipWS()
	if d.pos != len(d.data) {
		return d.syntax("unexpected data after value")
	}
	return nil
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return d.syntax("invalid literal")
	}
	d.pos += len(lit)
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber consumes a number token following the JSON grammar and reports
// whether it is written as an integer (no fraction or exponent).
func (d *decoder) scanNumber() (tok []byte, isInt bool, err error) {
	data, i := d.data, d.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return nil, false, d.syntax("invalid number")
	}
	isInt = true
	if i < len(data) && data[i] == '.' {
		isInt = false
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return nil, false, d.syntax("invalid number")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isInt = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return nil, false, d.syntax("invalid number")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	tok = data[d.pos:i]
	d.pos = i
	return tok, isInt, nil
}

// scanString consumes a string token and returns its body (without quotes)
// and whether it holds no escapes and only ASCII (so its bytes are the value).
func (d *decoder) scanString() (body []byte, plain bool, err error) {
	data := d.data
	start := d.pos + 1
	plain = true
	for i := start; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return data[start:i], plain, nil
		case c == '\\':
			plain = false
			i++ // skip the escaped byte; \uXXXX digits are plain bytes
		case c < 0x20:
			return nil, false, fmt.Errorf("%w: control character in string at offset %d", errSyntax, i)
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return nil, false, fmt.Errorf("%w: unterminated string", errSyntax)
}

// readString consumes a string token and returns its value. Invalid UTF-8
// is replaced with U+FFFD, as encoding/json does.
func (d *decoder) readString() (string, error) {
	start := d.pos
	body, plain, err := d.scanString()
	if err != nil {
		return "", err
	}
	if plain {
		return string(body), nil
	}
	if utf8.Valid(body) && !containsByte(body, '\\') {
		return string(body), nil
	}
	var s string
	if err := json.Unmarshal(d.data[start:d.pos], &s); err != nil {
		return "", fmt.Errorf("%w: string at offset %d: %v", errSyntax, start, err)
	}
	return s, nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// skipValue consumes any JSON value.
func (d *decoder) skipValue(depth int) error {
	if depth > maxDepth {
		return d.syntax("nesting too deep")
	}
	d.skipWS()
	switch c := d.peek(); {
	case c == '"':
		_, _, err := d.scanString()
		return err
	case c == '-' || isDigit(c):
		_, _, err := d.scanNumber()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '[':
		d.pos++
		d.skipWS()
		if d.peek() == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return nil
			default:
				return d.syntax("expected ',' or ']' in array")
			}
		}
	case c == '{':
		d.pos++
		d.skipWS()
		if d.peek() == '}' {
			d.pos++
			return nil
		}
		for {
			d.skipWS()
			if d.peek() != '"' {
				return d.syntax("expected object key")
			}
			if _, _, err := d.scanString(); err != nil {
				return err
			}
			d.skipWS()
			if d.peek() != ':' {
				return d.syntax("expected ':' in object")
			}
			d.pos++
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
			case '}':
				d.pos++
				return nil
			default:
				return d.syntax("expected ',' or '}' in object")
			}
		}
	}
	return d.syntax("invalid value")
}

// countArray counts the elements of the array starting at d.pos without
// consuming it, validating its syntax on the way.
func (d *decoder) countArray() (int, error) {
	c := decoder{data: d.data, pos: d.pos + 1}
	c.skipWS()
	if c.peek() == ']' {
		return 0, nil
	}
	n := 0
	for {
		if err := c.skipValue(1); err != nil {
			return 0, err
		}
		n++
		c.skipWS()
		switch c.peek() {
		case ',':
			c.pos++
		case ']':
			return n, nil
		default:
			return 0, c.syntax("expected ',' or ']' in array")
		}
	}
}

// describe consumes the next value and describes it for a TypeError.
func (d *decoder) describe() (string, error) {
	d.skipWS()
	start := d.pos
	c := d.peek()
	if err := d.skipValue(0); err != nil {
		return "", err
	}
	raw := d.data[start:d.pos]
	switch {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw[1 : len(raw)-1])
		}
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		return "string " + strconv.Quote(s), nil
	case c == 't' || c == 'f':
		return "bool " + string(raw), nil
	case c == 'n':
		return "null", nil
	case c == '[':
		return "array", nil
	case c == '{':
		return "object", nil
	}
	if len(raw) > 64 {
		raw = raw[:64]
	}
	return "number " + string(raw), nil
}

// mismatchNext describes the next value and returns a TypeError for it.
func (d *decoder) mismatchNext(vt model.ValueType) error {
	got, err := d.describe()
	if err != nil {
		return err
	}
	return mismatch(vt, got)
}

// bytesString views b as a string without copying; the result must not
// outlive b or be retained.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseDecimalInt parses an optionally negative run of ASCII digits.
func parseDecimalInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// int reads an integer of type vt in [lo, hi].
func (d *decoder) int(vt model.ValueType, lo, hi int64) (int64, error) {
	switch c := d.peek(); {
	case c == '-' || isDigit(c):
		tok, isInt, err := d.scanNumber()
		if err != nil {
			return 0, err
		}
		return intFromToken(vt, tok, isInt, lo, hi)
	case c == '"':
		start := d.pos
		body, plain, err := d.scanString()
		if err != nil {
			return 0, err
		}
		if plain {
			if n, ok := parseDecimalInt(body); ok {
				if n < lo || n > hi {
					return 0, mismatch(vt, "string "+strconv.Quote(string(body))+" (out of range)")
				}
				return n, nil
			}
		}
		d.pos = start
		return 0, d.mismatchNext(vt)
	}
	return 0, d.mismatchNext(vt)
}

func intFromToken(vt model.ValueType, tok []byte, isInt bool, lo, hi int64) (int64, error) {
	if isInt {
		n, ok := parseDecimalInt(tok)
		if !ok || n < lo || n > hi {
			return 0, mismatch(vt, "number "+string(tok)+" (out of range)")
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(bytesString(tok), 64)
	if err != nil || f != math.Trunc(f) {
		return 0, mismatch(vt, "non-integral number "+string(tok))
	}
	if f < float64(lo) || f >= -float64(math.MinInt64) || f > float64(hi) {
		return 0, mismatch(vt, "number "+string(tok)+" (out of range)")
	}
	return int64(f), nil
}

// float reads a floating-point number of the given bit size.
func (d *decoder) float(vt model.ValueType, bits int) (float64, error) {
	switch c := d.peek(); {
	case c == '-' || isDigit(c):
		tok, _, err := d.scanNumber()
		if err != nil {
			return 0, err
		}
		f, err := strconv.ParseFloat(bytesString(tok), bits)
		if err != nil {
			return 0, mismatch(vt, "number "+string(tok)+" (out of range)")
		}
		return f, nil
	case c == '"':
		start := d.pos
		body, plain, err := d.scanString()
		if err != nil {
			return 0, err
		}
		if plain {
			if f, ok := specialFloat(body, bits); ok {
				return f, nil
			}
		}
		d.pos = start
		return 0, d.mismatchNext(vt)
	}
	return 0, d.mismatchNext(vt)
}

// specialFloat parses the string forms accepted for floats: NaN, Infinity,
// -Infinity and decimal numbers.
func specialFloat(b []byte, bits int) (float64, bool) {
	switch string(b) {
	case "NaN":
		return math.NaN(), true
	case "Infinity", "+Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	// Only plain decimal numbers: strconv also accepts "inf", hex and underscores.
	for _, c := range b {
		if !isDigit(c) && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(bytesString(b), bits)
	return f, err == nil
}

func (d *decoder) bool(vt model.ValueType) (bool, error) {
	switch d.peek() {
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	}
	return false, d.mismatchNext(vt)
}

// str reads a JSON string for a string-kind type.
func (d *decoder) str(vt model.ValueType) (string, error) {
	if d.peek() != '"' {
		return "", d.mismatchNext(vt)
	}
	return d.readString()
}

// timeLayouts are the string forms accepted for timestamps, tried in order.
var timeLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseTime parses a timestamp string in the forms FromJSON accepts for
// UNIX_TIMESTAMP: RFC 3339 (with 'T' or a space, any fraction), naive times
// (taken as UTC) and bare dates (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q: not RFC 3339", s)
}

// floorSeconds converts float epoch seconds to whole seconds, flooring.
func floorSeconds(vt model.ValueType, tok string, f float64) (int64, error) {
	f = math.Floor(f)
	if math.IsNaN(f) || f < math.MinInt64 || f >= -math.MinInt64 {
		return 0, mismatch(vt, "number "+tok+" (out of range)")
	}
	return int64(f), nil
}

// timestamp reads epoch seconds or a timestamp string.
func (d *decoder) timestamp(vt model.ValueType) (int64, error) {
	switch c := d.peek(); {
	case c == '-' || isDigit(c):
		tok, isInt, err := d.scanNumber()
		if err != nil {
			return 0, err
		}
		if isInt {
			return intFromToken(vt, tok, true, math.MinInt64, math.MaxInt64)
		}
		f, err := strconv.ParseFloat(bytesString(tok), 64)
		if err != nil {
			return 0, mismatch(vt, "number "+string(tok)+" (out of range)")
		}
		return floorSeconds(vt, string(tok), f)
	case c == '"':
		start := d.pos
		s, err := d.readString()
		if err != nil {
			return 0, err
		}
		if t, err := ParseTime(s); err == nil {
			return t.Unix(), nil
		}
		if n, ok := parseDecimalInt([]byte(s)); ok {
			return n, nil
		}
		d.pos = start
		return 0, d.mismatchNext(vt)
	}
	return 0, d.mismatchNext(vt)
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
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
