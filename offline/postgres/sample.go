package postgres

import (
	"context"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
)

var _ offline.Sampler = (*Store)(nil)

// Sample streams the first limit rows PostgreSQL returns for a table or
// query source (LIMIT ends the scan early).
func (s *Store) Sample(ctx context.Context, src *model.DataSource, limit int) (array.RecordReader, error) {
	rel, err := s.relation(src)
	if err != nil {
		return nil, err
	}
	return s.streamPull(ctx, "SELECT * FROM "+rel+" AS feast_sample LIMIT "+strconv.Itoa(max(limit, 0)))
}
