package values

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/feastgo/feast/proto/feast/types"
)

// AppendJSON appends the JSON rendering of v used by Feast's HTTP feature
// server and returns the extended buffer:
//
//   - null, nil and unset values: null
//   - integers and unix timestamps (epoch seconds): JSON integers, never quoted
//   - doubles and floats: numbers in Python's repr style (1.0, 0.5, 1e-05,
//     1e+16); floats use their shortest 32-bit form (float32 0.7 is 0.7);
//     NaN and infinities, which JSON numbers cannot represent, render as
//     the strings "NaN", "Infinity" and "-Infinity", as the protobuf JSON
//     mapping writes them; FromJSON and DecodeColumn read those strings
//     back, so a pushed NaN reads back as "NaN" (status PRESENT)
//   - strings, UUIDs and decimals: JSON strings (not HTML-escaped, invalid
//     UTF-8 replaced by U+FFFD); bytes: standard padded base64 strings
//   - json_val: the embedded JSON text when it is valid JSON, else a string
//   - lists and sets: arrays; maps and structs: objects with sorted keys
//   - zoned timestamps: ISO 8601 strings in their zone; scalar maps: null
//
// Scalars are appended without allocating when dst has room.
func AppendJSON(dst []byte, v *types.Value) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	switch x := v.Val.(type) {
	case nil, *types.Value_NullVal:
		return append(dst, "null"...)
	case *types.Value_Int64Val:
		return strconv.AppendInt(dst, x.Int64Val, 10)
	case *types.Value_Int32Val:
		return strconv.AppendInt(dst, int64(x.Int32Val), 10)
	case *types.Value_UnixTimestampVal:
		return strconv.AppendInt(dst, x.UnixTimestampVal, 10)
	case *types.Value_DoubleVal:
		return appendFloat(dst, x.DoubleVal, 64)
	case *types.Value_FloatVal:
		return appendFloat(dst, float64(x.FloatVal), 32)
	case *types.Value_BoolVal:
		return strconv.AppendBool(dst, x.BoolVal)
	case *types.Value_StringVal:
		return AppendJSONString(dst, x.StringVal)
	case *types.Value_BytesVal:
		return appendBase64(dst, x.BytesVal)
	case *types.Value_UuidVal:
		return AppendJSONString(dst, x.UuidVal)
	case *types.Value_TimeUuidVal:
		return AppendJSONString(dst, x.TimeUuidVal)
	case *types.Value_DecimalVal:
		return AppendJSONString(dst, x.DecimalVal)
	case *types.Value_JsonVal:
		return appendRawJSON(dst, x.JsonVal)
	case *types.Value_Int64ListVal:
		return appendInts(dst, x.Int64ListVal.GetVal())
	case *types.Value_Int64SetVal:
		return appendInts(dst, x.Int64SetVal.GetVal())
	case *types.Value_UnixTimestampListVal:
		return appendInts(dst, x.UnixTimestampListVal.GetVal())
	case *types.Value_UnixTimestampSetVal:
		return appendInts(dst, x.UnixTimestampSetVal.GetVal())
	case *types.Value_Int32ListVal:
		return appendInt32s(dst, x.Int32ListVal.GetVal())
	case *types.Value_Int32SetVal:
		return appendInt32s(dst, x.Int32SetVal.GetVal())
	case *types.Value_DoubleListVal:
		return appendFloats(dst, x.DoubleListVal.GetVal())
	case *types.Value_DoubleSetVal:
		return appendFloats(dst, x.DoubleSetVal.GetVal())
	case *types.Value_FloatListVal:
		return appendFloat32s(dst, x.FloatListVal.GetVal())
	case *types.Value_FloatSetVal:
		return appendFloat32s(dst, x.FloatSetVal.GetVal())
	case *types.Value_BoolListVal:
		return appendBools(dst, x.BoolListVal.GetVal())
	case *types.Value_BoolSetVal:
		return appendBools(dst, x.BoolSetVal.GetVal())
	case *types.Value_StringListVal:
		return appendStrings(dst, x.StringListVal.GetVal())
	case *types.Value_StringSetVal:
		return appendStrings(dst, x.StringSetVal.GetVal())
	case *types.Value_UuidListVal:
		return appendStrings(dst, x.UuidListVal.GetVal())
	case *types.Value_UuidSetVal:
		return appendStrings(dst, x.UuidSetVal.GetVal())
	case *types.Value_TimeUuidListVal:
		return appendStrings(dst, x.TimeUuidListVal.GetVal())
	case *types.Value_TimeUuidSetVal:
		return appendStrings(dst, x.TimeUuidSetVal.GetVal())
	case *types.Value_DecimalListVal:
		return appendStrings(dst, x.DecimalListVal.GetVal())
	case *types.Value_DecimalSetVal:
		return appendStrings(dst, x.DecimalSetVal.GetVal())
	case *types.Value_JsonListVal:
		dst = append(dst, '[')
		for i, s := range x.JsonListVal.GetVal() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendRawJSON(dst, s)
		}
		return append(dst, ']')
	case *types.Value_BytesListVal:
		return appendBytesList(dst, x.BytesListVal.GetVal())
	case *types.Value_BytesSetVal:
		return appendBytesList(dst, x.BytesSetVal.GetVal())
	case *types.Value_MapVal:
		return appendMap(dst, x.MapVal)
	case *types.Value_StructVal:
		return appendMap(dst, x.StructVal)
	case *types.Value_MapListVal:
		return appendMapList(dst, x.MapListVal)
	case *types.Value_StructListVal:
		return appendMapList(dst, x.StructListVal)
	case *types.Value_ListVal:
		return appendRepeated(dst, x.ListVal)
	case *types.Value_SetVal:
		return appendRepeated(dst, x.SetVal)
	case *types.Value_ZonedTimestampVal:
		return appendZoned(dst, x.ZonedTimestampVal)
	}
	// scalar_map_val and members added later: Feast renders them as null.
	return append(dst, "null"...)
}

// AppendTimestampJSON appends t as a quoted RFC 3339 UTC timestamp with a
// 'Z' suffix and Feast's adaptive fraction: none when the nanoseconds are
// zero, else 3, 6 or 9 digits, the fewest that are exact
// ("2021-12-31T23:00:00Z", "2021-12-31T23:00:00.500Z",
// "2021-12-31T23:00:00.000001Z"). It does not allocate when dst has room.
func AppendTimestampJSON(dst []byte, t time.Time) []byte {
	t = t.UTC()
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05")
	ns := t.Nanosecond()
	switch {
	case ns == 0:
	case ns%1_000_000 == 0:
		dst = appendFraction(dst, ns/1_000_000, 3)
	case ns%1_000 == 0:
		dst = appendFraction(dst, ns/1_000, 6)
	default:
		dst = appendFraction(dst, ns, 9)
	}
	return append(dst, 'Z', '"')
}

func appendFraction(dst []byte, v, digits int) []byte {
	var buf [10]byte
	buf[0] = '.'
	for i := digits; i >= 1; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:digits+1]...)
}

// appendFloat renders f like Python's repr: the shortest digits that round
// trip at the given bit size, in positional notation with at least one
// fractional digit when the decimal exponent is in [-4, 16), else in
// scientific notation with a signed, at least two-digit exponent.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	// From 1e-4 to 1e15 the shortest digits (the same in 'f' and 'e'
	// format) are positional in Python's repr: strconv's 'f' format is
	// the result, plus ".0" when it has no fractional digit. At the edges
	// the digits stay in [1e-4, 1e15], where repr is positional too.
	if a := math.Abs(f); a >= 1e-4 && a < 1e15 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, bits)
		if bytes.IndexByte(dst[start:], '.') < 0 {
			dst = append(dst, '.', '0')
		}
		return dst
	}
	return appendFloatRepr(dst, f, bits)
}

// appendFloatRepr is appendFloat for finite, non-zero f of any magnitude.
func appendFloatRepr(dst []byte, f float64, bits int) []byte {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, bits) // -d.ddde±XX
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	e := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == 'e' {
			e = i
			break
		}
	}
	exp, _ := strconv.Atoi(bytesString(b[e+1:]))
	var digits [24]byte
	nd := 0
	for _, c := range b[:e] {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	ds := digits[:nd]
	if neg {
		dst = append(dst, '-')
	}
	decpt := exp + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			dst = append(dst, '0', '.')
			for i := 0; i < -decpt; i++ {
				dst = append(dst, '0')
			}
			return append(dst, ds...)
		case decpt >= nd:
			dst = append(dst, ds...)
			for i := nd; i < decpt; i++ {
				dst = append(dst, '0')
			}
			return append(dst, '.', '0')
		default:
			dst = append(dst, ds[:decpt]...)
			dst = append(dst, '.')
			return append(dst, ds[decpt:]...)
		}
	}
	dst = append(dst, ds[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, ds[1:]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string the way Python's json.dumps
// with ensure_ascii=False does: only quotes, backslashes and control
// characters are escaped; invalid UTF-8 becomes U+FFFD.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendFloatJSON appends f as AppendJSON renders a double (bits 64) or,
// for a float32 value converted to float64, a float (bits 32).
func AppendFloatJSON(dst []byte, f float64, bits int) []byte { return appendFloat(dst, f, bits) }

// AppendBytesJSON appends b as AppendJSON renders a bytes value: a
// standard padded base64 string.
func AppendBytesJSON(dst, b []byte) []byte { return appendBase64(dst, b) }

func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

func appendRawJSON(dst []byte, s string) []byte {
	if s != "" && json.Valid([]byte(s)) {
		return append(dst, s...)
	}
	return AppendJSONString(dst, s)
}

func appendInts(dst []byte, xs []int64) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, x, 10)
	}
	return append(dst, ']')
}

func appendInt32s(dst []byte, xs []int32) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, int64(x), 10)
	}
	return append(dst, ']')
}

func appendFloats(dst []byte, xs []float64) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendFloat(dst, x, 64)
	}
	return append(dst, ']')
}

func appendFloat32s(dst []byte, xs []float32) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendFloat(dst, float64(x), 32)
	}
	return append(dst, ']')
}

func appendBools(dst []byte, xs []bool) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendBool(dst, x)
	}
	return append(dst, ']')
}

func appendStrings(dst []byte, xs []string) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, x)
	}
	return append(dst, ']')
}

func appendBytesList(dst []byte, xs [][]byte) []byte {
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendBase64(dst, x)
	}
	return append(dst, ']')
}

func appendMap(dst []byte, m *types.Map) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	keys := make([]string, 0, len(m.Val))
	for k := range m.Val {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, k)
		dst = append(dst, ':')
		dst = AppendJSON(dst, m.Val[k])
	}
	return append(dst, '}')
}

func appendMapList(dst []byte, ml *types.MapList) []byte {
	dst = append(dst, '[')
	for i, m := range ml.GetVal() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendMap(dst, m)
	}
	return append(dst, ']')
}

func appendRepeated(dst []byte, rv *types.RepeatedValue) []byte {
	dst = append(dst, '[')
	for i, v := range rv.GetVal() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSON(dst, v)
	}
	return append(dst, ']')
}

// zoneLocation resolves a ZonedTimestamp zone: "" is UTC, "+05:30"/"-07:00"
// are fixed offsets, anything else an IANA name (UTC when unknown).
func zoneLocation(zone string) *time.Location {
	if zone == "" || zone == "UTC" || zone == "Z" {
		return time.UTC
	}
	if len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' {
		h, err1 := strconv.Atoi(zone[1:3])
		m, err2 := strconv.Atoi(zone[4:6])
		if err1 == nil && err2 == nil {
			off := h*3600 + m*60
			if zone[0] == '-' {
				off = -off
			}
			return time.FixedZone(zone, off)
		}
	}
	if loc, err := time.LoadLocation(zone); err == nil {
		return loc
	}
	return time.UTC
}

func appendZoned(dst []byte, z *types.ZonedTimestamp) []byte {
	t := time.Unix(z.GetUnixTimestamp(), 0).In(zoneLocation(z.GetZone()))
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05-07:00")
	return append(dst, '"')
}
