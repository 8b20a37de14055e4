package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/feastgo/feast/online"
)

var _ online.RawReader = (*Store)(nil)

// ReadRaw reads reqs with the SELECTs of Read and lends the stored value
// bytes instead of decoding them: the feature server renders the common
// scalars straight to JSON (online.RawReader). The values of every row
// are copied into one arena, since the driver's bytes last only until the
// next row.
func (s *Store) ReadRaw(ctx context.Context, reqs []online.ReadRequest, visit func(online.RawResult) error) error {
	res := &rawResult{views: make([]rawView, len(reqs))}
	for i := range reqs {
		req := &reqs[i]
		nf := len(req.Features)
		v := &res.views[i]
		v.nf = nf
		v.cells = make([]rawCell, len(req.EntityKeys)*nf)
		err := s.scan(ctx, req, func(ix *readIndex, ei, fi int, _, value []byte, ts int64) error {
			start := len(res.arena)
			res.arena = append(res.arena, value...)
			c := rawCell{start: start, end: len(res.arena), ts: ts, found: true}
			for ; ei >= 0; ei = ix.nextKey(ei) {
				v.cells[ei*nf+fi] = c
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sqlite: read %s: %w", req.View.Name, err)
		}
	}
	return visit(res)
}

// rawResult is the online.RawResult of ReadRaw.
type rawResult struct {
	views []rawView
	arena []byte
}

// rawView holds one request's cells, entity-major.
type rawView struct {
	nf    int
	cells []rawCell
}

// rawCell locates one stored value in the arena, with its event time.
type rawCell struct {
	start, end int
	ts         int64
	found      bool
}

func (r *rawResult) Value(req, e, f int) ([]byte, bool, error) {
	v := &r.views[req]
	c := &v.cells[e*v.nf+f]
	if !c.found {
		return nil, false, nil
	}
	return r.arena[c.start:c.end:c.end], true, nil
}

func (r *rawResult) EventTS(req, e, f int) time.Time {
	v := &r.views[req]
	c := &v.cells[e*v.nf+f]
	if !c.found {
		return time.Time{}
	}
	return time.Unix(c.ts, 0).UTC()
}
