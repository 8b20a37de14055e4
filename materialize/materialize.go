// Package materialize loads the latest feature values from the offline
// store into the online store.
//
// An Engine materializes one feature view over one interval. The Local
// engine streams Arrow record batches from the offline store's
// latest-per-entity query, converts them to online rows on several
// goroutines and writes them in pipelined batches, so memory stays bounded
// by (workers + queue depth) x batch size whatever the source size.
// Recording the interval in the registry is the caller's job and happens
// only after Materialize returned without error (see Run).
package materialize

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// Task is one view to materialize over [Start, End].
type Task struct {
	Project string
	View    *model.FeatureView
	Start   time.Time
	End     time.Time
	// Derived are on-demand views with write_to_online_store computed from
	// this view's rows alone; engines that implement DerivedWriter write
	// them with each batch, as Feast's materialization does.
	Derived []Derived
}

// Derived is an on-demand view written at materialization time.
type Derived struct {
	// View is its stored form (model.OnDemandFeatureView.StoredView): the
	// rows are written under this view's name and features.
	View *model.FeatureView
	// Compute returns one value per View feature for each row, given rows
	// of the task's view (Values in the order of the task view's features).
	// The result is row-major: out[i] belongs to rows[i].
	Compute func(rows []online.Row) ([][]*types.Value, error)
}

// DerivedWriter is implemented by engines that write Task.Derived; the
// caller leaves Derived empty (and warns) for other engines.
type DerivedWriter interface {
	WritesDerived() bool
}

// Stats counts what a task did.
type Stats struct {
	RowsRead    int64
	RowsWritten int64
	// RowsSkipped were not written because the online store already held a
	// value at least as new.
	RowsSkipped int64
	Duration    time.Duration
}

// Progress receives counters while a task runs. Implementations must be
// safe for concurrent use; calls are frequent, so they must be cheap.
type Progress interface {
	// Start is called once per task, with the expected row count when known (else -1).
	Start(view string, total int64)
	// Add reports rows read and written since the last call.
	Add(view string, read, written, skipped int64)
	// Done is called once per task with its final stats or error.
	Done(view string, stats Stats, err error)
}

// Engine runs materialization tasks. The in-process engine (Local) and
// distributed engines implement it; a team may plug in its own (see
// docs/materialization.md). Materialize must write every row of the task or
// return an error; it must not touch the registry.
type Engine interface {
	Materialize(ctx context.Context, task Task, progress Progress) (Stats, error)
}

// ErrNothingToMaterialize is returned for views that are not online.
var ErrNothingToMaterialize = errors.New("feature view is not online")

// IncrementalStart is where materialize-incremental starts for a view: the
// end of its last recorded interval, else end minus its ttl, else (ttl 0)
// end minus 52 weeks, as Feast does.
func IncrementalStart(fv *model.FeatureView, end time.Time) time.Time {
	if last := fv.LastMaterializedEnd(); !last.IsZero() {
		return last
	}
	if fv.TTL > 0 {
		return end.Add(-fv.TTL)
	}
	return end.Add(-52 * 7 * 24 * time.Hour)
}

// TaskError wraps a task failure with the view and store names.
type TaskError struct {
	View string
	Err  error
}

func (e *TaskError) Error() string {
	return fmt.Sprintf("materialize %s: %v (the interval was not recorded; fix the cause and re-run the same command: it is safe to repeat)", e.View, e.Err)
}

func (e *TaskError) Unwrap() error { return e.Err }
