package server

import (
	"sync"
	"time"

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
	dst = appendResponseHead(dst, r.FeatureNames)
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
			dst = appendStatus(dst, st)
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

// appendResponseHead appends the start of a /get-online-features response
// up to its first result: the metadata with the feature names.
func appendResponseHead(dst []byte, names []string) []byte {
	dst = append(dst, `{"metadata":{"feature_names":[`...)
	for i, name := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = values.AppendJSONString(dst, name)
	}
	return append(dst, `]},"results":[`...)
}

// appendStatus appends the JSON name of a field status.
func appendStatus(dst []byte, st serving.FieldStatus) []byte {
	if st >= 0 && int(st) < len(statusJSON) {
		return append(dst, statusJSON[st]...)
	}
	return append(dst, `"INVALID"`...)
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

// appendError appends {"error": msg}.
func appendError(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = values.AppendJSONString(dst, msg)
	return append(dst, '}')
}
