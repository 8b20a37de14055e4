package server

import (
	"sync"
	"time"
	"unicode/utf8"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/values"
)

// bufPool holds response and request buffers. Buffers that grew beyond
// maxPooledBuffer are dropped instead of being kept alive.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

const maxPooledBuffer = 1 << 20

func getBuffer() *[]byte { return bufPool.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// epochJSON is the event timestamp Feast reports for join keys, on-demand
// features and values not found.
const epochJSON = `"1970-01-01T00:00:00Z"`

var statusJSON = [...]string{
	serving.FieldStatus_INVALID:         `"INVALID"`,
	serving.FieldStatus_PRESENT:         `"PRESENT"`,
	serving.FieldStatus_NULL_VALUE:      `"NULL_VALUE"`,
	serving.FieldStatus_NOT_FOUND:       `"NOT_FOUND"`,
	serving.FieldStatus_OUTSIDE_MAX_AGE: `"OUTSIDE_MAX_AGE"`,
}

// appendOnlineResponse appends the JSON body of a /get-online-features
// response in the shape of Feast's feature server: metadata.feature_names,
// then one column-major result per name with values, statuses and
// event_timestamps (omitted when there are no rows, as Feast omits empty
// lists).
func appendOnlineResponse(dst []byte, r *feast.OnlineResponse) []byte {
	var tc tsCache
	dst = append(dst, `{"metadata":{"feature_names":[`...)
	for i, name := range r.FeatureNames {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, name)
	}
	dst = append(dst, `]},"results":[`...)
	for i := range r.Results {
		res := &r.Results[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"values":[`...)
		for j, v := range res.Values {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = values.AppendJSON(dst, v)
		}
		dst = append(dst, `],"statuses":[`...)
		for j, st := range res.Statuses {
			if j > 0 {
				dst = append(dst, ',')
			}
			if int(st) < len(statusJSON) {
				dst = append(dst, statusJSON[st]...)
			} else {
				dst = append(dst, `"INVALID"`...)
			}
		}
		dst = append(dst, ']')
		if len(res.EventTimestamps) > 0 {
			dst = append(dst, `,"event_timestamps":[`...)
			for j, ts := range res.EventTimestamps {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = tc.append(dst, ts)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// tsCache remembers the last formatted timestamp: the features of one
// entity and view share their event time, so most timestamps repeat.
type tsCache struct {
	t   time.Time
	n   int
	buf [48]byte
}

func (c *tsCache) append(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, epochJSON...)
	}
	if c.n > 0 && t.Equal(c.t) {
		return append(dst, c.buf[:c.n]...)
	}
	start := len(dst)
	dst = values.AppendTimestampJSON(dst, t)
	if len(dst)-start <= len(c.buf) {
		c.t, c.n = t, copy(c.buf[:], dst[start:])
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (no HTML escaping; invalid UTF-8
// replaced by U+FFFD).
func appendString(dst []byte, s string) []byte {
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
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendError appends {"error": msg}.
func appendError(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = appendString(dst, msg)
	return append(dst, '}')
}
