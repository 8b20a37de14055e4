package beam

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/offlinestore"
	"github.com/feastgo/feast/internal/onlinestore"
	"github.com/feastgo/feast/model"
	offlinepg "github.com/feastgo/feast/offline/postgres"
	"github.com/feastgo/feast/online"
)

// Metric names, in the "feast" namespace. Only the report step sets them,
// once per pipeline: see RowCounts.
const (
	metricNamespace = "feast"
	metricRead      = "rows_read"
	metricWritten   = "rows_written"
	metricSkipped   = "rows_skipped"
	// metricReports counts how many times the report step ran: 1 when the
	// runner reports committed metrics, the number of attempts otherwise.
	metricReports = "reports"
)

// RowCounts is what a read split or a write batch did. The counts travel
// through the pipeline as data, are summed, and the sum is set on the Beam
// counters by one element in one bundle (the report step). Counters set
// from many bundles are not reliable: Beam's prism runner drops the counter
// values of a bundle that finishes while another bundle's values for the
// same, still unresolved counter are pending (a stalled bundle split on a
// loaded machine finishes together with its residual), and other runners
// count retried bundles in their attempted values. Data is exactly-once.
// It is exported for Beam's coder.
type RowCounts struct {
	Read, Written, Skipped int64
}

// addCounts sums two RowCounts (the combine of the report step).
func addCounts(a, b RowCounts) RowCounts {
	return RowCounts{Read: a.Read + b.Read, Written: a.Written + b.Written, Skipped: a.Skipped + b.Skipped}
}

// Beam's Go SDK finds DoFns and element types on the workers by name, so
// they must be registered when the package loads; this is the one place
// the package has init side effects, and they only register types.
func init() {
	beam.RegisterType(reflect.TypeOf((*Split)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*RowCounts)(nil)).Elem())
	register.DoFn4x1[context.Context, Split, func([]byte, []byte), func(RowCounts), error](&readFn{})
	register.Emitter2[[]byte, []byte]()
	register.Emitter1[RowCounts]()
	register.Function2x1[[]byte, []byte, []byte](Latest)
	register.DoFn4x1[context.Context, []byte, []byte, func(RowCounts), error](&writeFn{})
	register.Function2x1[RowCounts, RowCounts, RowCounts](addCounts)
	register.DoFn2x0[context.Context, RowCounts](&reportFn{})
}

// buildPipeline constructs: splits -> reshuffle -> read (KV<entity key,
// row>) -> latest per key -> write, and the RowCounts of read and write ->
// sum -> report. Everything a worker needs travels in the DoFns' exported
// fields as JSON.
func buildPipeline(p task, splits []Split) (*beam.Pipeline, error) {
	viewJSON, err := json.Marshal(p.view)
	if err != nil {
		return nil, fmt.Errorf("encode feature view: %w", err)
	}
	onlineJSON, err := json.Marshal(p.online)
	if err != nil {
		return nil, fmt.Errorf("encode online store config: %w", err)
	}
	offlineJSON, err := json.Marshal(p.offline)
	if err != nil {
		return nil, fmt.Errorf("encode offline store config: %w", err)
	}
	pipe, s := beam.NewPipelineWithRoot()
	elems := make([]any, len(splits))
	for i, sp := range splits {
		elems[i] = sp
	}
	col := beam.Create(s.Scope("splits"), elems...)
	col = beam.Reshuffle(s.Scope("distribute"), col)
	rows, readCounts := beam.ParDo2(s.Scope("read"), &readFn{
		View: string(viewJSON), Start: p.start, End: p.end, RepoPath: p.repoPath,
		Offline: string(offlineJSON), BatchRows: p.readBatchRows,
	}, col)
	latest := beam.CombinePerKey(s.Scope("latest"), Latest, rows)
	writeCounts := beam.ParDo(s.Scope("write"), &writeFn{
		Project: p.project, View: string(viewJSON), Online: string(onlineJSON), RepoPath: p.repoPath, BatchSize: p.writeBatchSize,
	}, latest)
	counts := beam.Flatten(s.Scope("counts"), readCounts, writeCounts)
	total := beam.Combine(s.Scope("total"), addCounts, counts)
	beam.ParDo0(s.Scope("report"), &reportFn{}, total)
	return pipe, nil
}

// task is what buildPipeline needs, resolved by the engine.
type task struct {
	project        string
	view           *model.FeatureView
	start, end     int64
	repoPath       string
	online         config.OnlineStoreConfig
	offline        config.OfflineStoreConfig
	readBatchRows  int
	writeBatchSize int
}

// readFn reads one split and emits the rows in the interval.
type readFn struct {
	View      string
	Start     int64
	End       int64
	RepoPath  string
	Offline   string
	BatchRows int

	fv      *model.FeatureView
	offline config.OfflineStoreConfig
	pg      *offlinepg.Store
}

func (f *readFn) Setup(ctx context.Context) error {
	f.fv = new(model.FeatureView)
	if err := json.Unmarshal([]byte(f.View), f.fv); err != nil {
		return fmt.Errorf("decode feature view: %w", err)
	}
	if err := json.Unmarshal([]byte(f.Offline), &f.offline); err != nil {
		return fmt.Errorf("decode offline store config: %w", err)
	}
	return nil
}

func (f *readFn) ProcessElement(ctx context.Context, sp Split, emit func([]byte, []byte), counts func(RowCounts)) error {
	var (
		n   int64
		err error
	)
	switch sp.Kind {
	case splitParquet:
		n, err = readParquet(ctx, sp, newSourceConverter(f.fv, f.Start, f.End), f.BatchRows, emit)
	case splitPostgres:
		if f.pg == nil {
			if f.pg, err = openPostgres(ctx, f.offline, f.RepoPath); err != nil {
				return err
			}
		}
		n, err = readPostgres(ctx, f.pg, f.fv, sp, newPullConverter(f.fv, f.Start, f.End), emit)
	case splitObject:
		n, err = readObject(ctx, f.offline, f.RepoPath, objectRequest(f.fv.Source, f.Start, f.End), sp, newSourceConverter(f.fv, f.Start, f.End), f.BatchRows, emit)
	case splitIceberg:
		n, err = readIceberg(ctx, f.offline, f.RepoPath, f.fv.Source, sp, newSourceConverter(f.fv, f.Start, f.End), f.BatchRows, emit)
	default:
		err = fmt.Errorf("unknown split kind %q", sp.Kind)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", f.fv.Name, err)
	}
	counts(RowCounts{Read: n})
	return nil
}

// openPostgres opens the offline store of a PostgreSQL split through the
// one offline store factory. planSplits makes PostgreSQL splits only when
// offline_store is postgres.
func openPostgres(ctx context.Context, cfg config.OfflineStoreConfig, repoPath string) (*offlinepg.Store, error) {
	s, err := offlinestore.Open(ctx, cfg, repoPath)
	if err != nil {
		return nil, err
	}
	pg, ok := s.(*offlinepg.Store)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("postgres split: offline_store is %s, not postgres", cfg.Type)
	}
	return pg, nil
}

func (f *readFn) Teardown(ctx context.Context) error {
	if f.pg != nil {
		f.pg.Close()
		f.pg = nil
	}
	return nil
}

// writeFn writes the latest row of each entity to the online store in
// batches, through the same online.Writer the in-process engine uses, and
// emits the RowCounts of each batch.
type writeFn struct {
	Project   string
	View      string
	Online    string
	RepoPath  string
	BatchSize int

	fv       *model.FeatureView
	features []string
	store    online.Writer
	release  func()
	rows     []online.Row
}

func (f *writeFn) Setup(ctx context.Context) error {
	f.fv = new(model.FeatureView)
	if err := json.Unmarshal([]byte(f.View), f.fv); err != nil {
		return fmt.Errorf("decode feature view: %w", err)
	}
	for _, ft := range f.fv.Features {
		f.features = append(f.features, ft.Name)
	}
	var cfg config.OnlineStoreConfig
	if err := json.Unmarshal([]byte(f.Online), &cfg); err != nil {
		return fmt.Errorf("decode online store config: %w", err)
	}
	store, release, err := workerStores.acquire(ctx, cfg, f.RepoPath)
	if err != nil {
		return err
	}
	f.store, f.release = store, release
	return nil
}

func (f *writeFn) ProcessElement(ctx context.Context, key, row []byte, counts func(RowCounts)) error {
	ets, cts, vals, err := decodeRow(row, len(f.features))
	if err != nil {
		return err
	}
	f.rows = append(f.rows, online.Row{EntityKey: key, Values: vals, EventTS: ets, CreatedTS: cts})
	if len(f.rows) >= f.BatchSize {
		return f.flush(ctx, counts)
	}
	return nil
}

func (f *writeFn) FinishBundle(ctx context.Context, counts func(RowCounts)) error {
	return f.flush(ctx, counts)
}

func (f *writeFn) flush(ctx context.Context, counts func(RowCounts)) error {
	if len(f.rows) == 0 {
		return nil
	}
	st, err := f.store.Write(ctx, online.WriteBatch{Project: f.Project, View: f.fv, Features: f.features, Rows: f.rows})
	f.rows = f.rows[:0]
	if err != nil {
		return fmt.Errorf("write online store %s: %w", f.fv.Name, err)
	}
	counts(RowCounts{Written: int64(st.Written), Skipped: int64(st.Skipped)})
	return nil
}

func (f *writeFn) Teardown(ctx context.Context) error {
	if f.release != nil {
		f.release()
		f.release = nil
	}
	return nil
}

// reportFn sets the feast counters from the pipeline's one total.
type reportFn struct {
	read, written, skipped, reports beam.Counter
}

func (f *reportFn) Setup() {
	f.read = beam.NewCounter(metricNamespace, metricRead)
	f.written = beam.NewCounter(metricNamespace, metricWritten)
	f.skipped = beam.NewCounter(metricNamespace, metricSkipped)
	f.reports = beam.NewCounter(metricNamespace, metricReports)
}

func (f *reportFn) ProcessElement(ctx context.Context, c RowCounts) {
	f.read.Inc(ctx, c.Read)
	f.written.Inc(ctx, c.Written)
	f.skipped.Inc(ctx, c.Skipped)
	f.reports.Inc(ctx, 1)
}

// storeCache shares online stores between the DoFn instances of one worker
// process, keyed by their configuration: a worker runs many bundles on
// several goroutines, and one connection pool (or one SQLite handle, whose
// writers must be serialized) serves them all. Beam gives DoFns no other
// process-wide owner, hence the package variable; entries are closed when
// the last instance is torn down.
type storeCache struct {
	// open opens a store missing from the cache: onlinestore.Open, the
	// factory the feast binary uses too, or in tests
	// a store with injected faults (LOOPBACK workers run in the test's
	// process).
	open func(ctx context.Context, cfg config.OnlineStoreConfig, repoPath string) (online.Store, error)

	mu sync.Mutex
	m  map[string]*sharedStore
}

type sharedStore struct {
	store online.Store
	refs  int
}

var workerStores = &storeCache{open: onlinestore.Open, m: map[string]*sharedStore{}}

func (c *storeCache) acquire(ctx context.Context, cfg config.OnlineStoreConfig, repoPath string) (online.Writer, func(), error) {
	k, err := json.Marshal(struct {
		Cfg  config.OnlineStoreConfig
		Repo string
	}{cfg, repoPath})
	if err != nil {
		return nil, nil, err
	}
	key := string(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	sh, ok := c.m[key]
	if !ok {
		s, err := c.open(ctx, cfg, repoPath)
		if err != nil {
			return nil, nil, err
		}
		sh = &sharedStore{store: s}
		c.m[key] = sh
	}
	sh.refs++
	var once sync.Once
	release := func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			sh.refs--
			if sh.refs == 0 {
				sh.store.Close()
				delete(c.m, key)
			}
		})
	}
	return sh.store, release, nil
}
