package offline

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/sqlgen"
)

// SQLPuller is PullLatest and PullAll of a Store over a SQL engine: it
// resolves the view's source, writes the query with sqlgen.PullSQL and has
// the engine run it. A backend embeds it and supplies only what differs:
// its dialect, the FROM item of a source and how a query's rows are
// streamed.
type SQLPuller struct {
	Dialect  sqlgen.Dialect
	Relation RelationFunc
	// Stream runs query on a connection of its own and streams the result;
	// the connection goes back when the reader is released.
	Stream func(ctx context.Context, query string) (array.RecordReader, error)
}

// PullLatest implements Store.
func (p SQLPuller) PullLatest(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	return p.Pull(ctx, view, start, end, sqlgen.Pull{Latest: true})
}

// PullLatestInKeyOrder implements KeyOrderedPuller: the engine sorts the
// rows (sqlgen.Pull.KeyOrder).
func (p SQLPuller) PullLatestInKeyOrder(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	return p.Pull(ctx, view, start, end, sqlgen.Pull{Latest: true, KeyOrder: true})
}

// PullAll implements Store.
func (p SQLPuller) PullAll(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	return p.Pull(ctx, view, start, end, sqlgen.Pull{})
}

// Pull runs the pull that opts describes (its Latest and KeyOrder; View,
// Start and End are the arguments) over the view's rows with event
// timestamp in [start, end].
func (p SQLPuller) Pull(ctx context.Context, view *model.FeatureView, start, end time.Time, opts sqlgen.Pull) (array.RecordReader, error) {
	v, err := SourceView(view, p.Relation)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", view.Name, err)
	}
	q := sqlgen.PullSQL(p.Dialect, sqlgen.Pull{View: v, Start: start, End: end, Latest: opts.Latest, KeyOrder: opts.KeyOrder},
		PullEventTimestamp, PullCreatedTimestamp)
	rr, err := p.Stream(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", view.Name, err)
	}
	return rr, nil
}
