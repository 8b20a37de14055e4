package materialize

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// Source is what the local engine reads: the offline store's
// latest-row-per-entity stream.
type Source interface {
	PullLatest(ctx context.Context, view *model.FeatureView, start, end time.Time) (array.RecordReader, error)
}

// LocalOptions tunes the in-process engine. Zero values pick defaults.
type LocalOptions struct {
	// Workers converting and writing batches concurrently; default
	// max(2, GOMAXPROCS).
	Workers int
	// BatchSize is the number of rows per online write; default 5,000
	// (materialization.online_write_batch_size overrides it).
	BatchSize int
	// Queue is the number of batches buffered between the reader and the
	// workers; default 2 x Workers. Memory is bounded by roughly
	// (Queue + Workers) x BatchSize rows.
	Queue int
}

// Local is the in-process engine.
type Local struct {
	source Source
	store  online.Writer
	opts   LocalOptions
}

// NewLocal returns an in-process engine reading from source and writing to store.
func NewLocal(source Source, store online.Writer, opts LocalOptions) *Local {
	if opts.Workers <= 0 {
		opts.Workers = max(2, runtime.GOMAXPROCS(0))
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	if opts.Queue <= 0 {
		opts.Queue = 2 * opts.Workers
	}
	return &Local{source: source, store: store, opts: opts}
}

var (
	_ Engine        = (*Local)(nil)
	_ DerivedWriter = (*Local)(nil)
)

// WritesDerived reports that Local writes Task.Derived.
func (l *Local) WritesDerived() bool { return true }

// chunk is a slice of one record batch handed to a worker.
type chunk struct {
	rec        arrow.RecordBatch
	start, end int
}

// Materialize streams the task's rows into the online store.
func (l *Local) Materialize(ctx context.Context, task Task, progress Progress) (Stats, error) {
	began := time.Now()
	fv := task.View
	started := false
	stats, err := l.run(ctx, task, func(total int64) { started = true; progress.Start(fv.Name, total) }, progress)
	if !started {
		progress.Start(fv.Name, -1)
	}
	stats.Duration = time.Since(began)
	progress.Done(fv.Name, stats, err)
	return stats, err
}

// run materializes a task; start is called once the offline query ran,
// with its row count when the reader knows it (offline.RowCounter).
func (l *Local) run(ctx context.Context, task Task, start func(total int64), progress Progress) (Stats, error) {
	fv := task.View
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rdr, err := l.pull(ctx, task)
	if err != nil {
		return Stats{}, fmt.Errorf("read offline store: %w", err)
	}
	defer rdr.Release()
	start(offline.NumRows(rdr))
	conv, err := newConverter(fv, rdr.Schema())
	if err != nil {
		return Stats{}, err
	}

	var read, written, skipped atomic.Int64
	jobs := make(chan chunk, l.opts.Queue)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for w := 0; w < l.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				if ctx.Err() == nil {
					rows, err := conv.rows(c.rec, c.start, c.end)
					if err == nil {
						var st online.WriteStats
						st, err = l.store.Write(ctx, online.WriteBatch{Project: task.Project, View: fv, Features: conv.features, Rows: rows})
						if err == nil {
							written.Add(int64(st.Written))
							skipped.Add(int64(st.Skipped))
							progress.Add(fv.Name, 0, int64(st.Written), int64(st.Skipped))
							err = l.writeDerived(ctx, task, rows)
						}
					}
					if err != nil {
						fail(fmt.Errorf("write online store: %w", err))
					}
				}
				c.rec.Release()
			}
		}()
	}
	for rdr.Next() && ctx.Err() == nil {
		rec := rdr.RecordBatch()
		n := int(rec.NumRows())
		read.Add(int64(n))
		progress.Add(fv.Name, int64(n), 0, 0)
		for s := 0; s < n; s += l.opts.BatchSize {
			rec.Retain()
			select {
			case jobs <- chunk{rec: rec, start: s, end: min(n, s+l.opts.BatchSize)}:
			case <-ctx.Done():
				rec.Release()
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := rdr.Err(); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("read offline store: %w", err)
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return Stats{RowsRead: read.Load(), RowsWritten: written.Load(), RowsSkipped: skipped.Load()}, firstErr
}

// pull starts the task's read of the offline store: in key order when the
// online store prefers it and the offline store can sort. A key-ordered
// read that fails is not tried again unsorted: a second read could succeed
// on what the first one failed to read (an object that vanished meanwhile)
// and hide the failure.
func (l *Local) pull(ctx context.Context, task Task) (array.RecordReader, error) {
	if w, ok := l.store.(online.KeyOrderWriter); ok && w.PrefersKeyOrder() {
		if p, ok := l.source.(offline.KeyOrderedPuller); ok {
			return p.PullLatestInKeyOrder(ctx, task.View, task.Start, task.End)
		}
	}
	return l.source.PullLatest(ctx, task.View, task.Start, task.End)
}

// writeDerived computes and writes the task's derived on-demand views
// for rows.
func (l *Local) writeDerived(ctx context.Context, task Task, rows []online.Row) error {
	for _, d := range task.Derived {
		vals, err := d.Compute(rows)
		if err != nil {
			return fmt.Errorf("on demand view %s: %w", d.View.Name, err)
		}
		out := make([]online.Row, len(rows))
		for i, r := range rows {
			out[i] = online.Row{EntityKey: r.EntityKey, Values: vals[i], EventTS: r.EventTS, CreatedTS: r.CreatedTS}
		}
		feats := make([]string, len(d.View.Features))
		for i, f := range d.View.Features {
			feats[i] = f.Name
		}
		if _, err := l.store.Write(ctx, online.WriteBatch{Project: task.Project, View: d.View, Features: feats, Rows: out}); err != nil {
			return fmt.Errorf("on demand view %s: %w", d.View.Name, err)
		}
	}
	return nil
}

// converter turns Arrow rows of a PullLatest stream into online rows.
type converter struct {
	joinKeys   []string
	keyTypes   []model.ValueType
	keyCols    []int
	features   []string
	featTypes  []model.ValueType
	featCols   []int
	tsCol      int
	createdCol int
}

func newConverter(fv *model.FeatureView, schema *arrow.Schema) (*converter, error) {
	c := &converter{tsCol: -1, createdCol: -1}
	find := func(name string) (int, error) {
		idx := schema.FieldIndices(name)
		if len(idx) == 0 {
			return -1, fmt.Errorf("offline result has no column %q (columns: %v)", name, schema.Fields())
		}
		return idx[0], nil
	}
	for _, k := range fv.EntityColumns {
		i, err := find(k.Name)
		if err != nil {
			return nil, err
		}
		c.joinKeys = append(c.joinKeys, k.Name)
		c.keyTypes = append(c.keyTypes, k.Type)
		c.keyCols = append(c.keyCols, i)
	}
	for _, f := range fv.Features {
		i, err := find(f.Name)
		if err != nil {
			return nil, err
		}
		c.features = append(c.features, f.Name)
		c.featTypes = append(c.featTypes, f.Type)
		c.featCols = append(c.featCols, i)
	}
	i, err := find("event_timestamp")
	if err != nil {
		return nil, err
	}
	c.tsCol = i
	if idx := schema.FieldIndices("created_timestamp"); len(idx) > 0 {
		c.createdCol = idx[0]
	}
	return c, nil
}

func (c *converter) rows(rec arrow.RecordBatch, start, end int) ([]online.Row, error) {
	sl := rec.NewSlice(int64(start), int64(end))
	defer sl.Release()
	n := end - start
	keyVals := make([][]*types.Value, len(c.keyCols))
	for i, col := range c.keyCols {
		vs, err := values.ColumnFromArrow(sl.Column(col), c.keyTypes[i])
		if err != nil {
			return nil, fmt.Errorf("join key %s: %w", c.joinKeys[i], err)
		}
		keyVals[i] = vs
	}
	featVals := make([][]*types.Value, len(c.featCols))
	for i, col := range c.featCols {
		vs, err := values.ColumnFromArrow(sl.Column(col), c.featTypes[i])
		if err != nil {
			return nil, fmt.Errorf("feature %s: %w", c.features[i], err)
		}
		featVals[i] = vs
	}
	tss, err := timestamps(sl.Column(c.tsCol))
	if err != nil {
		return nil, sourceRowError("event_timestamp", start, err)
	}
	var created []time.Time
	if c.createdCol >= 0 {
		if created, err = timestamps(sl.Column(c.createdCol)); err != nil {
			return nil, sourceRowError("created_timestamp", start, err)
		}
	}
	rows := make([]online.Row, n)
	keyBuf := make([]*types.Value, len(c.keyCols))
	vals := make([]*types.Value, n*len(c.featCols))
	for r := 0; r < n; r++ {
		for k := range keyBuf {
			keyBuf[k] = keyVals[k][r]
		}
		key, err := online.SerializeEntityKey(c.joinKeys, keyBuf)
		if err != nil {
			return nil, fmt.Errorf("row %d: entity key: %w", start+r, err)
		}
		row := vals[r*len(c.featCols) : (r+1)*len(c.featCols)]
		for f := range c.featCols {
			row[f] = featVals[f][r]
		}
		rows[r] = online.Row{EntityKey: key, Values: row, EventTS: tss[r]}
		if created != nil {
			rows[r].CreatedTS = created[r]
		}
	}
	return rows, nil
}

// sourceRowError names the column and the row (counted from the first
// row of the batch) of a timestamp that did not convert.
func sourceRowError(col string, start int, err error) error {
	var ie *values.IndexError
	if errors.As(err, &ie) {
		return fmt.Errorf("column %q row %d: %w", col, start+ie.Index, ie.Err)
	}
	return fmt.Errorf("column %q: %w", col, err)
}

// timestamps reads an Arrow timestamp column as UTC times. A time outside
// the protobuf Timestamp range (years 0001 to 9999) is a
// *values.TimeRangeError located by a *values.IndexError: written online
// it would hide every later row of its entity.
func timestamps(col arrow.Array) ([]time.Time, error) {
	ts, ok := col.(*array.Timestamp)
	if !ok {
		return nil, fmt.Errorf("expected a timestamp column, got %s", col.DataType())
	}
	unit := ts.DataType().(*arrow.TimestampType).Unit
	out := make([]time.Time, ts.Len())
	for i := range out {
		if ts.IsNull(i) {
			continue
		}
		var err error
		if unit == arrow.Second {
			out[i], err = values.EpochSeconds(int64(ts.Value(i)))
		} else {
			out[i] = ts.Value(i).ToTime(unit).UTC()
			err = values.CheckTime(out[i])
		}
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
	}
	return out, nil
}
