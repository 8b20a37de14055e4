package server

// The raw read path of /get-online-features: JSON rendered from the online
// store's reply bytes (feast.OnlinePlan.ReadRaw), without a Value per cell.

import (
	"context"
	"strconv"
	"sync"
	"time"
	"unsafe"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// serveRaw serves req with plan.ReadRaw when the online store lends its
// reply bytes (online.RawReader) and appends the JSON response to dst,
// byte for byte what appendOnlineResponse renders for plan.Read's
// response. ok is false, with dst as given, when the request is left to
// the decoding path (see ReadRaw); gRPC always takes that path.
func (s *Server) serveRaw(ctx context.Context, plan *feast.OnlinePlan, req feast.OnlineRequest, dst []byte) (out []byte, ok bool, err error) {
	if err := s.checkEntities(req); err != nil {
		return dst, false, err
	}
	reader, err := s.onlineReader(ctx)
	if err != nil {
		return dst, false, err
	}
	tr, isTimed := reader.(timedReader)
	if !isTimed {
		return dst, false, nil
	}
	raw, isRaw := tr.r.(online.RawReader)
	if !isRaw {
		return dst, false, nil
	}
	rows, features := 0, 0
	out = dst
	served, err := plan.ReadRaw(ctx, timedRawReader{timedReader: tr, raw: raw}, req, s.fs.Now(), func(r *feast.RawResponse) error {
		rows, features = r.Rows(), len(r.FeatureNames())-r.EntityColumns()
		var err error
		out, err = appendRawOnlineResponse(dst, r)
		return err
	})
	if err != nil || !served {
		return dst, false, err
	}
	s.metrics.entities.Observe(float64(rows))
	s.metrics.features.Observe(float64(features))
	return out, true, nil
}

// timedRawReader is a timedReader of an online.RawReader: it measures the
// store's part of a ReadRaw, up to the visit, as timedReader measures Read.
type timedRawReader struct {
	timedReader
	raw online.RawReader
}

func (t timedRawReader) ReadRaw(ctx context.Context, reqs []online.ReadRequest, visit func(online.RawResult) error) error {
	start := time.Now()
	read := false
	err := t.raw.ReadRaw(ctx, reqs, func(res online.RawResult) error {
		read = true
		t.m.storeLatency.Observe(time.Since(start).Seconds())
		return visit(res)
	})
	if !read {
		t.m.storeLatency.Observe(time.Since(start).Seconds())
		if err != nil {
			t.m.storeErrors.Inc()
			t.m.onlineStoreError("read", err)
		}
	}
	return err
}

// cellPool holds the column buffers of appendRawOnlineResponse.
var cellPool = sync.Pool{New: func() any { return new([]feast.RawCell) }}

// maxPooledCells bounds the column buffers kept in cellPool.
const maxPooledCells = 4096

// appendRawOnlineResponse appends the JSON of r in appendOnlineResponse's
// shape: the same names, values, statuses and event timestamps.
func appendRawOnlineResponse(dst []byte, r *feast.RawResponse) ([]byte, error) {
	var tc tsCache
	buf := cellPool.Get().(*[]feast.RawCell)
	defer func() {
		if cap(*buf) <= maxPooledCells {
			cellPool.Put(buf)
		}
	}()
	names := r.FeatureNames()
	dst = appendResponseHead(dst, names)
	for c := range names {
		cells, err := r.Column(c, *buf)
		*buf = cells
		if err != nil {
			return dst, err
		}
		if c > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"values":[`...)
		for j := range cells {
			if j > 0 {
				dst = append(dst, ',')
			}
			if v := cells[j].Value; v != nil {
				dst = values.AppendJSON(dst, v)
			} else {
				dst = appendScalarJSON(dst, cells[j].Scalar)
			}
		}
		dst = append(dst, `],"statuses":[`...)
		for j := range cells {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendStatus(dst, cells[j].Status)
		}
		dst = append(dst, ']')
		if len(cells) > 0 {
			dst = append(dst, `,"event_timestamps":[`...)
			for j := range cells {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = tc.append(dst, cells[j].EventTS)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), nil
}

// appendScalarJSON appends s as values.AppendJSON renders the Value of the
// same kind and content.
func appendScalarJSON(dst []byte, s online.Scalar) []byte {
	switch s.Kind {
	case types.ValueType_INT64, types.ValueType_INT32, types.ValueType_UNIX_TIMESTAMP:
		return strconv.AppendInt(dst, s.Int(), 10)
	case types.ValueType_DOUBLE:
		return values.AppendFloatJSON(dst, s.Float64(), 64)
	case types.ValueType_FLOAT:
		return values.AppendFloatJSON(dst, float64(s.Float32()), 32)
	case types.ValueType_BOOL:
		return strconv.AppendBool(dst, s.Bits != 0)
	case types.ValueType_STRING:
		return values.AppendJSONString(dst, unsafe.String(unsafe.SliceData(s.Bytes), len(s.Bytes)))
	case types.ValueType_BYTES:
		return values.AppendBytesJSON(dst, s.Bytes)
	}
	return append(dst, "null"...)
}
