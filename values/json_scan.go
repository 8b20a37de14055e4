package values

// The JSON scanner under the typed decoder: whitespace, literals, number and
// string tokens, skipping and counting values, and describing a value for a
// TypeError. It knows JSON syntax, not declared types.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/feastgo/feast/model"
)

// maxDepth bounds the nesting of JSON arrays and objects the decoder accepts.
const maxDepth = 256

// errSyntax is wrapped by errors about malformed JSON.
var errSyntax = errors.New("invalid JSON")

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
