package materialize_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/sqlite"
)

var view = &model.FeatureView{
	Name:          "stats",
	EntityColumns: []model.Field{{Name: "id", Type: model.Int64}},
	Features:      []model.Field{{Name: "x", Type: model.Double}},
	Online:        true,
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
}, nil)

// genSource produces batches lazily: rows ids [0, n) in batches of size,
// and counts how many batches were produced.
type genSource struct {
	n, size  int
	ts       time.Time
	produced atomic.Int32
}

func (g *genSource) PullLatest(ctx context.Context, _ *model.FeatureView, _, _ time.Time) (array.RecordReader, error) {
	return &lazyReader{g: g}, nil
}

type lazyReader struct {
	g    *genSource
	next int
	cur  arrow.RecordBatch
}

func (r *lazyReader) Retain()               {}
func (r *lazyReader) Release()              { r.release() }
func (r *lazyReader) Schema() *arrow.Schema { return schema }
func (r *lazyReader) Err() error            { return nil }
func (r *lazyReader) Record() arrow.RecordBatch {
	return r.cur
}
func (r *lazyReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *lazyReader) release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}
func (r *lazyReader) Next() bool {
	r.release()
	if r.next >= r.g.n {
		return false
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := r.next; i < min(r.g.n, r.next+r.g.size); i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Float64Builder).Append(float64(i))
		}
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.g.ts.UnixMicro()))
	}
	r.next += r.g.size
	r.cur = b.NewRecordBatch()
	r.g.produced.Add(1)
	return true
}

func openSQLite(t *testing.T) online.Store {
	s, err := sqlite.Open(context.Background(), config.SQLiteOnlineConfig{Path: "online.db"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Update(context.Background(), "p", []*model.FeatureView{view}, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

type recordingProgress struct {
	mu                     sync.Mutex
	read, written, skipped int64
	done                   int
}

func (p *recordingProgress) Start(string, int64) {}
func (p *recordingProgress) Add(_ string, r, w, s int64) {
	p.mu.Lock()
	p.read, p.written, p.skipped = p.read+r, p.written+w, p.skipped+s
	p.mu.Unlock()
}
func (p *recordingProgress) Done(string, materialize.Stats, error) {
	p.mu.Lock()
	p.done++
	p.mu.Unlock()
}

func TestLocalWritesEveryRowAndReportsProgress(t *testing.T) {
	store := openSQLite(t)
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	src := &genSource{n: 20_000, size: 4096, ts: ts}
	eng := materialize.NewLocal(src, store, materialize.LocalOptions{Workers: 3, BatchSize: 1000})
	prog := &recordingProgress{}
	st, err := eng.Materialize(context.Background(), materialize.Task{Project: "p", View: view, Start: ts.Add(-time.Hour), End: ts}, prog)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsRead != 20_000 || st.RowsWritten != 20_000 || prog.read != 20_000 || prog.written != 20_000 || prog.done != 1 {
		t.Fatalf("stats %+v progress %+v", st, prog)
	}
	// Spot-check values, including a null.
	keys := [][]byte{}
	for _, id := range []int64{0, 1, 19_998} {
		k, _ := online.SerializeEntityKey([]string{"id"}, []*typesValue{int64Value(id)})
		keys = append(keys, k)
	}
	res, err := store.Read(context.Background(), []online.ReadRequest{{Project: "p", View: view, Features: []string{"x"}, EntityKeys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0][0][0].Found || res[0][0][0].Value.GetVal() != nil {
		t.Errorf("id 0 must be a stored null: %+v", res[0][0][0])
	}
	if res[0][1][0].Value.GetDoubleVal() != 1 || res[0][2][0].Value.GetDoubleVal() != 19_998 {
		t.Errorf("values: %+v %+v", res[0][1][0], res[0][2][0])
	}
	// Running again writes nothing: every row is not newer than what is stored.
	st, err = eng.Materialize(context.Background(), materialize.Task{Project: "p", View: view, Start: ts.Add(-time.Hour), End: ts}, prog)
	if err != nil || st.RowsWritten != 0 || st.RowsSkipped != 20_000 {
		t.Fatalf("idempotent re-run: %+v %v", st, err)
	}
}

// blockingWriter blocks every write until released (or cancelled), so the
// test can see how far the reader runs ahead of the writers.
type blockingWriter struct {
	release chan struct{}
	writing atomic.Int32 // writes waiting for release
	writes  atomic.Int32
}

func (w *blockingWriter) Write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	w.writing.Add(1)
	defer w.writing.Add(-1)
	select {
	case <-w.release:
	case <-ctx.Done():
		return online.WriteStats{}, ctx.Err()
	}
	w.writes.Add(1)
	return online.WriteStats{Written: len(b.Rows)}, nil
}

// With every writer blocked, the reader stops once the queue is full. The
// run is in a synctest bubble: synctest.Wait returns only when every
// goroutine of the run is blocked, that is when the reader can go no
// further (or has read the whole source), so the count is final, not a
// sample taken after some delay.
func TestLocalMemoryIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, queue = 2, 4
		src := &genSource{n: 1_000_000, size: 1000, ts: time.Now()}
		w := &blockingWriter{release: make(chan struct{})}
		eng := materialize.NewLocal(src, w, materialize.LocalOptions{Workers: workers, BatchSize: 1000, Queue: queue})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := eng.Materialize(ctx, materialize.Task{Project: "p", View: view}, &recordingProgress{})
			done <- err
		}()
		synctest.Wait()
		if got := w.writing.Load(); got != workers {
			t.Errorf("%d writes in progress, want every worker (%d) blocked in one", got, workers)
		}
		// The reader may hold at most Queue + Workers batches, +1 it is
		// handing over: it must not read the whole source.
		if got := src.produced.Load(); got > queue+workers+1 {
			t.Errorf("reader ran ahead: %d batches produced with writers blocked", got)
		}
		cancel() // on failure too: the bubble must end with the run returned
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled run returned %v", err)
		}
	})
}

func TestLocalWriteFailureIsReported(t *testing.T) {
	src := &genSource{n: 10_000, size: 1000, ts: time.Now()}
	eng := materialize.NewLocal(src, failWriter{}, materialize.LocalOptions{})
	_, err := eng.Materialize(context.Background(), materialize.Task{Project: "p", View: view}, &recordingProgress{})
	if err == nil || !errors.Is(err, errDown) {
		t.Fatalf("err = %v", err)
	}
}

var errDown = errors.New("store down")

type failWriter struct{}

func (failWriter) Write(context.Context, online.WriteBatch) (online.WriteStats, error) {
	return online.WriteStats{}, errDown
}

func TestIncrementalStart(t *testing.T) {
	end := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	fv := &model.FeatureView{TTL: 24 * time.Hour}
	if got := materialize.IncrementalStart(fv, end); !got.Equal(end.Add(-24 * time.Hour)) {
		t.Errorf("ttl start = %v", got)
	}
	fv.TTL = 0
	if got := materialize.IncrementalStart(fv, end); !got.Equal(end.Add(-52 * 7 * 24 * time.Hour)) {
		t.Errorf("no-ttl start = %v", got)
	}
	last := end.Add(-3 * time.Hour)
	fv.Intervals = []model.Interval{{Start: end.Add(-10 * time.Hour), End: end.Add(-5 * time.Hour)}, {Start: end.Add(-5 * time.Hour), End: last}}
	if got := materialize.IncrementalStart(fv, end); !got.Equal(last) {
		t.Errorf("recorded start = %v", got)
	}
}

// orderedSource is a genSource that can also pull in key order, and
// records which pull ran.
type orderedSource struct {
	genSource
	ordered, plain atomic.Int32
	// orderErr fails the key-ordered pull.
	orderErr error
}

func (o *orderedSource) PullLatest(ctx context.Context, fv *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	o.plain.Add(1)
	return o.genSource.PullLatest(ctx, fv, start, end)
}

func (o *orderedSource) PullLatestInKeyOrder(ctx context.Context, fv *model.FeatureView, start, end time.Time) (array.RecordReader, error) {
	o.ordered.Add(1)
	if o.orderErr != nil {
		return nil, o.orderErr
	}
	return o.genSource.PullLatest(ctx, fv, start, end)
}

// writerOnly hides every method of a store but Write.
type writerOnly struct{ online.Writer }

func TestLocalPullsInKeyOrderForStoresThatPreferIt(t *testing.T) {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	task := materialize.Task{Project: "p", View: view, Start: ts.Add(-time.Hour), End: ts}
	for _, tc := range []struct {
		name           string
		store          online.Writer
		orderErr       error
		ordered, plain int32
	}{
		{"sqlite", openSQLite(t), nil, 1, 0},
		{"no preference", writerOnly{openSQLite(t)}, nil, 0, 1},
		// A failed read is reported, not tried again unsorted.
		{"sort fails", openSQLite(t), errors.New("s3://lake/part-0.parquet: object not found"), 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &orderedSource{genSource: genSource{n: 10, size: 10, ts: ts}, orderErr: tc.orderErr}
			st, err := materialize.NewLocal(src, tc.store, materialize.LocalOptions{}).Materialize(context.Background(), task, &recordingProgress{})
			if tc.orderErr != nil {
				if !errors.Is(err, tc.orderErr) {
					t.Fatalf("err = %v, want %v", err, tc.orderErr)
				}
			} else if err != nil || st.RowsWritten != 10 {
				t.Fatalf("stats %+v, err %v", st, err)
			}
			if src.ordered.Load() != tc.ordered || src.plain.Load() != tc.plain {
				t.Fatalf("key-ordered pulls %d, plain pulls %d; want %d and %d", src.ordered.Load(), src.plain.Load(), tc.ordered, tc.plain)
			}
		})
	}
}
