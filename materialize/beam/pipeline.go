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
	"github.com/feastgo/feast/model"
	offlinepg "github.com/feastgo/feast/offline/postgres"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/postgres"
	"github.com/feastgo/feast/online/redis"
	"github.com/feastgo/feast/online/sqlite"
)

// Metric names, in the "feast" namespace.
const (
	metricNamespace = "feast"
	metricRead      = "rows_read"
	metricWritten   = "rows_written"
	metricSkipped   = "rows_skipped"
)

// Beam's Go SDK finds DoFns and element types on the workers by name, so
// they must be registered when the package loads; this is the one place
// the package has init side effects, and they only register types.
func init() {
	beam.RegisterType(reflect.TypeOf((*Split)(nil)).Elem())
	register.DoFn3x1[context.Context, Split, func([]byte, []byte), error](&readFn{})
	register.Emitter2[[]byte, []byte]()
	register.Function2x1[[]byte, []byte, []byte](Latest)
	register.DoFn3x1[context.Context, []byte, []byte, error](&writeFn{})
}

// buildPipeline constructs: splits -> reshuffle -> read (KV<entity key,
// row>) -> latest per key -> write. Everything a worker needs travels in
// the DoFns' exported fields as JSON.
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
	rows := beam.ParDo(s.Scope("read"), &readFn{
		View: string(viewJSON), Start: p.start, End: p.end, RepoPath: p.repoPath,
		Offline: string(offlineJSON), BatchRows: p.readBatchRows,
	}, col)
	latest := beam.CombinePerKey(s.Scope("latest"), Latest, rows)
	beam.ParDo0(s.Scope("write"), &writeFn{
		Project: p.project, View: string(viewJSON), Online: string(onlineJSON), RepoPath: p.repoPath, BatchSize: p.writeBatchSize,
	}, latest)
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
	read    beam.Counter
}

func (f *readFn) Setup(ctx context.Context) error {
	f.fv = new(model.FeatureView)
	if err := json.Unmarshal([]byte(f.View), f.fv); err != nil {
		return fmt.Errorf("decode feature view: %w", err)
	}
	if err := json.Unmarshal([]byte(f.Offline), &f.offline); err != nil {
		return fmt.Errorf("decode offline store config: %w", err)
	}
	f.read = beam.NewCounter(metricNamespace, metricRead)
	return nil
}

func (f *readFn) ProcessElement(ctx context.Context, sp Split, emit func([]byte, []byte)) error {
	var (
		n   int64
		err error
	)
	switch sp.Kind {
	case splitParquet:
		n, err = readParquet(ctx, sp, newSourceConverter(f.fv, f.Start, f.End), f.BatchRows, emit)
	case splitPostgres:
		if f.pg == nil {
			if f.pg, err = offlinepg.Open(ctx, f.offline.Postgres); err != nil {
				return fmt.Errorf("open postgres offline store: %w", err)
			}
		}
		n, err = readPostgres(ctx, f.pg, f.fv, sp, newPullConverter(f.fv, f.Start, f.End), emit)
	default:
		err = fmt.Errorf("unknown split kind %q", sp.Kind)
	}
	f.read.Inc(ctx, n)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.fv.Name, err)
	}
	return nil
}

func (f *readFn) Teardown(ctx context.Context) error {
	if f.pg != nil {
		f.pg.Close()
		f.pg = nil
	}
	return nil
}

// writeFn writes the latest row of each entity to the online store in
// batches, through the same online.Writer the in-process engine uses.
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
	written  beam.Counter
	skipped  beam.Counter
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
	f.written = beam.NewCounter(metricNamespace, metricWritten)
	f.skipped = beam.NewCounter(metricNamespace, metricSkipped)
	return nil
}

func (f *writeFn) ProcessElement(ctx context.Context, key, row []byte) error {
	ets, cts, vals, err := decodeRow(row, len(f.features))
	if err != nil {
		return err
	}
	f.rows = append(f.rows, online.Row{EntityKey: key, Values: vals, EventTS: ets, CreatedTS: cts})
	if len(f.rows) >= f.BatchSize {
		return f.flush(ctx)
	}
	return nil
}

func (f *writeFn) FinishBundle(ctx context.Context) error { return f.flush(ctx) }

func (f *writeFn) flush(ctx context.Context) error {
	if len(f.rows) == 0 {
		return nil
	}
	st, err := f.store.Write(ctx, online.WriteBatch{Project: f.Project, View: f.fv, Features: f.features, Rows: f.rows})
	f.rows = f.rows[:0]
	if err != nil {
		return fmt.Errorf("write online store %s: %w", f.fv.Name, err)
	}
	f.written.Inc(ctx, int64(st.Written))
	f.skipped.Inc(ctx, int64(st.Skipped))
	return nil
}

func (f *writeFn) Teardown(ctx context.Context) error {
	if f.release != nil {
		f.release()
		f.release = nil
	}
	return nil
}

// storeCache shares online stores between the DoFn instances of one worker
// process, keyed by their configuration: a worker runs many bundles on
// several goroutines, and one connection pool (or one SQLite handle, whose
// writers must be serialized) serves them all. Beam gives DoFns no other
// process-wide owner, hence the package variable; entries are closed when
// the last instance is torn down.
type storeCache struct {
	mu sync.Mutex
	m  map[string]*sharedStore
}

type sharedStore struct {
	store online.Store
	refs  int
}

var workerStores = &storeCache{m: map[string]*sharedStore{}}

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
		s, err := OpenOnline(ctx, cfg, repoPath)
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

// OpenOnline opens the online store a configuration names, as the feast
// binary does; workers call it with the serialized configuration.
func OpenOnline(ctx context.Context, cfg config.OnlineStoreConfig, repoPath string) (online.Store, error) {
	var (
		s   online.Store
		err error
	)
	switch cfg.Type {
	case "sqlite", "":
		s, err = sqlite.Open(ctx, cfg.SQLite, repoPath)
	case "redis":
		s, err = redis.Open(ctx, cfg.Redis)
	case "postgres":
		s, err = postgres.Open(ctx, cfg.Postgres)
	default:
		return nil, fmt.Errorf("online store type %q is not supported by the beam engine", cfg.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s online store: %w", cfg.Type, err)
	}
	return s, nil
}
