package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/feastgo/feast/model"
)

// NewestEventTime returns the greatest event timestamp stored for view
// (feast status uses it); ok is false when the table is missing or empty.
func (s *Store) NewestEventTime(ctx context.Context, project string, view *model.FeatureView) (time.Time, bool, error) {
	var ts *time.Time
	err := s.pool.QueryRow(ctx, "SELECT max(event_ts) FROM "+s.qualified(project, view)).Scan(&ts)
	if isUndefinedTable(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: newest event of %s: %w", view.Name, markUnavailable(ctx, err))
	}
	if ts == nil {
		return time.Time{}, false, nil
	}
	return ts.UTC(), true, nil
}
