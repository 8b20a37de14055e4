package feast

// Serving a request with an OnlinePlan from the stored bytes: ReadRaw, the
// path of the HTTP feature server for plain feature views on a store that
// lends its replies (online.RawReader).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// RawResponse is the answer ReadRaw lends its visitor: the columns of the
// OnlineResponse Read would return (the echoed join keys, then the
// requested features), read cell by cell from the stored bytes. It is
// valid only during the visit.
type RawResponse struct {
	plan  *OnlinePlan
	keys  [][]*types.Value
	names []string
	nk, n int
	now   time.Time
	res   online.RawResult
}

// FeatureNames names the columns, as OnlineResponse.FeatureNames does.
func (r *RawResponse) FeatureNames() []string { return r.names }

// EntityColumns is how many leading columns echo the join keys.
func (r *RawResponse) EntityColumns() int { return r.nk }

// Rows returns the number of entity rows.
func (r *RawResponse) Rows() int { return r.n }

// RawCell is one value of a RawResponse column with its status and event
// time, as OnlineResponse holds them.
type RawCell struct {
	// Value is set for a join-key column and for a stored value that
	// online.ParseScalar does not read (lists, maps, ...), decoded by
	// online.UnmarshalValue; otherwise Scalar is the value (of kind NULL
	// for null values and values not found).
	Value  *types.Value
	Scalar online.Scalar
	Status serving.FieldStatus
	// EventTS is the stored event time; zero for join keys and values not
	// found, as in OnlineResponse.
	EventTS time.Time
}

// errRawDecode is returned by Column when a stored value does not decode:
// ReadRaw then leaves the request to Read, which reports the store's error.
var errRawDecode = errors.New("stored value does not decode")

// Column returns the Rows() cells of column c in dst (reused when it has
// the capacity). Statuses are Read's: NOT_FOUND (value null, no event
// time), NULL_VALUE, OUTSIDE_MAX_AGE (older than the view's ttl as of the
// time given to ReadRaw) or PRESENT; PRESENT for join keys.
func (r *RawResponse) Column(c int, dst []RawCell) ([]RawCell, error) {
	if cap(dst) < r.n {
		dst = make([]RawCell, r.n)
	}
	dst = dst[:r.n]
	p := r.plan
	if c < r.nk {
		col := r.keyColumn(c)
		for j := range dst {
			dst[j] = RawCell{Value: col[j], Status: serving.FieldStatus_PRESENT}
		}
		return dst, nil
	}
	o := p.outputs[c-r.nk]
	ttl := p.views[o.view].fv.TTL
	for j := range dst {
		b, found, err := r.res.Value(o.view, j, o.index)
		if err != nil {
			return dst, fmt.Errorf("read online features: %w", err)
		}
		// Each field of the cell is set in place: building a RawCell and
		// copying it cost a third of this loop.
		cell := &dst[j]
		if !found {
			cell.Value, cell.Scalar, cell.Status, cell.EventTS = nil, online.Scalar{Kind: types.ValueType_NULL}, serving.FieldStatus_NOT_FOUND, time.Time{}
			continue
		}
		cell.EventTS = r.res.EventTS(o.view, j, o.index)
		var null bool
		if sc, ok := online.ParseScalar(b); ok {
			cell.Value, cell.Scalar = nil, sc
			null = sc.Kind == types.ValueType_NULL
		} else {
			v := &types.Value{}
			if online.UnmarshalValue(b, v) != nil {
				return dst, errRawDecode
			}
			cell.Value, cell.Scalar = v, online.Scalar{}
			null = values.IsNull(v)
		}
		switch {
		case null:
			cell.Status = serving.FieldStatus_NULL_VALUE
		case ttl > 0 && r.now.Sub(cell.EventTS) > ttl:
			cell.Status = serving.FieldStatus_OUTSIDE_MAX_AGE
		default:
			cell.Status = serving.FieldStatus_PRESENT
		}
	}
	return dst, nil
}

// keyColumn returns the typed values of the c-th echoed join-key column.
func (r *RawResponse) keyColumn(c int) []*types.Value {
	for i := range r.plan.keys {
		if r.plan.echoes(i, r.keys) {
			if c == 0 {
				return r.keys[i]
			}
			c--
		}
	}
	return nil
}

// ReadRaw serves req as Read does, with the same checks, statuses and
// errors, but lends visit a RawResponse read from the store's bytes
// instead of building an OnlineResponse: no Value, FeatureValue or
// response vector per cell for the scalar kinds online.ParseScalar reads.
// It returns visit's error.
//
// served is false, with a nil error, when ReadRaw leaves the request to
// Read: r is not an online.RawReader, the plan computes on-demand
// features or reads no feature view, the request has no rows, or a stored
// value does not decode (Read reports that as the store words it). visit
// may have run by then: the caller discards what it produced and calls
// Read.
func (p *OnlinePlan) ReadRaw(ctx context.Context, r online.Reader, req OnlineRequest, now time.Time, visit func(*RawResponse) error) (served bool, err error) {
	raw, ok := r.(online.RawReader)
	if !ok || len(p.odfvs) > 0 || len(p.views) == 0 {
		return false, nil
	}
	keys, _, n, err := p.entityColumns(req)
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, nil
	}
	reqs, err := p.readRequests(keys, n)
	if err != nil {
		return false, err
	}
	resp := RawResponse{plan: p, keys: keys, n: n, now: now}
	resp.names = make([]string, 0, len(p.keys)+len(p.names))
	for i, k := range p.keys {
		if p.echoes(i, keys) {
			resp.names = append(resp.names, k.name)
		}
	}
	resp.nk = len(resp.names)
	resp.names = append(resp.names, p.names...)
	visited := false
	err = raw.ReadRaw(ctx, reqs, func(res online.RawResult) error {
		visited = true
		resp.res = res
		defer func() { resp.res = nil }()
		return visit(&resp)
	})
	switch {
	case err == nil:
		return true, nil
	case !visited:
		return false, fmt.Errorf("read online features: %w", err)
	case errors.Is(err, errRawDecode):
		return false, nil
	}
	return false, err
}
