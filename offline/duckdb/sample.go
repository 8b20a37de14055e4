package duckdb

import (
	"context"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/objstore"
)

var _ offline.Sampler = (*Store)(nil)

// Sample streams the first limit rows DuckDB reads from a file source
// (LIMIT stops the scan after the leading row groups). An object-store
// source is staged through the object cache first, all of its objects
// (objstore has no first-objects-only request yet), so a preview of a
// large bucket costs one download, which later reads reuse.
func (s *Store) Sample(ctx context.Context, src *model.DataSource, limit int) (array.RecordReader, error) {
	st := &staging{}
	all := func(*model.DataSource) objstore.Window { return objstore.Window{} }
	rel, err := s.readRelation(ctx, all, st)(src)
	if err != nil {
		st.Release()
		return nil, err
	}
	rr, err := s.streamPull(ctx, "SELECT * FROM "+rel+" LIMIT "+strconv.Itoa(max(limit, 0)), st.Release)
	if err != nil {
		st.Release() // idempotent
	}
	return rr, err
}
