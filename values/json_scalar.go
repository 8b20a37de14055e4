package values

// Readers of scalar values of a declared type: integers, floats, bools,
// strings, timestamps (ParseTime) and base64 bytes.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/feastgo/feast/model"
)

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
