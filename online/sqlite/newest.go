package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/feastgo/feast/model"
)

// NewestEventTime returns the greatest event timestamp stored for view
// (feast status uses it); ok is false when the table is missing or empty.
func (s *Store) NewestEventTime(ctx context.Context, project string, view *model.FeatureView) (time.Time, bool, error) {
	release, err := s.readSlot(ctx)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: newest event of %s: %w", view.Name, err)
	}
	defer release()
	var ts sql.NullInt64
	err = s.db.QueryRowContext(ctx, "SELECT max(event_ts) FROM "+quote(TableName(project, view))).Scan(&ts)
	if isNoTable(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: newest event of %s: %w", view.Name, markUnavailable(ctx, err))
	}
	if !ts.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(ts.Int64, 0).UTC(), true, nil
}
