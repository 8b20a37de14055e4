// Package beam is the distributed materialization engine: it runs one Apache
// Beam pipeline per feature view on Beam's in-process prism runner, on a
// Flink or Spark cluster through a portable job server, or on Google Cloud
// Dataflow.
//
// The pipeline reads the view's source in parallel splits (Parquet row-group
// ranges; objects in object storage, pruned to the interval as the
// in-process engine prunes them, or row groups of a large one; PostgreSQL
// key-hash buckets), keeps the newest row per entity
// (event timestamp, then created timestamp) with a combine per entity key,
// and writes from the workers through the same online.Writer code as the
// in-process engine, which opens the online store on each worker from the
// serialized store configuration. The engine never touches the registry:
// the caller records the interval after Materialize returned nil.
//
// Beam's Go SDK keeps its pipeline options in process-wide flags and finds
// DoFns by registered name. A binary using this package must call
// beam.Init() at the start of main (after flag.Parse() when started as a
// worker); cmd/feast-beam does. Pipelines of one process run one at a time.
package beam

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/materialize"
)

// Stores is what the workers open: the online store they write to, the
// offline store configuration (for PostgreSQL sources) and the repository
// path relative paths resolve against. Workers must see the same paths
// (shared volume) and reach the same servers as the launcher.
type Stores struct {
	RepoPath string
	Online   config.OnlineStoreConfig
	Offline  config.OfflineStoreConfig
}

// Engine runs materialization tasks as Beam pipelines. It is safe for
// concurrent use; pipelines run one at a time per process because Beam's
// options are process-wide.
type Engine struct {
	cfg    BeamConfig
	stores Stores

	mu            sync.Mutex
	prismEndpoint string
}

var _ materialize.Engine = (*Engine)(nil)

// New returns a Beam engine. beam.Init() must have been called.
func New(cfg BeamConfig, stores Stores) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("beam engine: %w", err)
	}
	if !beam.Initialized() {
		return nil, errors.New("beam engine: beam.Init() was not called at the start of main (use the feast-beam binary)")
	}
	if stores.Online.Type == "none" {
		return nil, errors.New("beam engine: online_store type none has nothing to materialize into")
	}
	return &Engine{cfg: cfg.withDefaults(), stores: stores}, nil
}

// FromRepoConfig builds the engine from feature_store.yaml: the
// batch_engine section, the stores, and materialization.online_write_batch_size
// unless batch_engine sets write_batch_size.
func FromRepoConfig(rc *config.RepoConfig) (*Engine, error) {
	cfg, err := ParseConfig(rc.BatchEngine)
	if err != nil {
		return nil, err
	}
	if cfg.WriteBatchSize == 0 {
		cfg.WriteBatchSize = rc.Materialization.OnlineWriteBatchSize
	}
	return New(cfg, Stores{RepoPath: rc.RepoPath, Online: rc.OnlineStore, Offline: rc.OfflineStore})
}

// Config returns the effective configuration, defaults applied.
func (e *Engine) Config() BeamConfig { return e.cfg }

// Materialize runs one pipeline for the task and waits for it. Progress
// gets Start, then the totals of the Beam metrics when the pipeline ended
// (runners report metrics at the end), then Done.
func (e *Engine) Materialize(ctx context.Context, t materialize.Task, progress materialize.Progress) (materialize.Stats, error) {
	began := time.Now()
	fv := t.View
	progress.Start(fv.Name, -1)
	stats, err := e.run(ctx, t)
	stats.Duration = time.Since(began)
	if stats.RowsRead > 0 || stats.RowsWritten > 0 || stats.RowsSkipped > 0 {
		progress.Add(fv.Name, stats.RowsRead, stats.RowsWritten, stats.RowsSkipped)
	}
	progress.Done(fv.Name, stats, err)
	return stats, err
}

func (e *Engine) run(ctx context.Context, t materialize.Task) (materialize.Stats, error) {
	if !t.View.Online {
		return materialize.Stats{}, materialize.ErrNothingToMaterialize
	}
	splits, err := planSplits(ctx, t.View, e.stores.RepoPath, e.stores.Offline, e.cfg, t.Start.UnixNano(), t.End.UnixNano())
	if err != nil {
		return materialize.Stats{}, fmt.Errorf("plan splits: %w", err)
	}
	if len(splits) == 0 {
		return materialize.Stats{}, nil
	}
	p, err := buildPipeline(task{
		project: t.Project, view: t.View, start: t.Start.UnixNano(), end: t.End.UnixNano(),
		repoPath: e.stores.RepoPath, online: e.stores.Online, offline: e.stores.Offline,
		readBatchRows: e.cfg.ReadBatchRows, writeBatchSize: e.cfg.WriteBatchSize,
	}, splits)
	if err != nil {
		return materialize.Stats{}, err
	}
	res, err := e.execute(ctx, p, t.View.Name)
	var stats materialize.Stats
	if res != nil {
		stats = statsFrom(res.Metrics())
	}
	if err != nil {
		return stats, fmt.Errorf("run beam pipeline (%s runner): %w", e.cfg.Runner, err)
	}
	return stats, nil
}

// statsFrom reads the counters of the report step, which sets each once per
// pipeline with the pipeline's totals. Committed values hold exactly that
// one total. A runner without committed metrics gives attempted values,
// which hold one total per attempt of the report step: they are divided by
// the number of attempts.
func statsFrom(m metrics.Results) materialize.Stats {
	committed, attempted := map[string]int64{}, map[string]int64{}
	for _, c := range m.AllMetrics().Counters() {
		if c.Namespace() != metricNamespace {
			continue
		}
		committed[c.Name()] += c.Committed
		attempted[c.Name()] += c.Attempted
	}
	v := committed
	if v[metricReports] == 0 {
		v = attempted
	}
	n := v[metricReports]
	if n == 0 {
		return materialize.Stats{}
	}
	return materialize.Stats{RowsRead: v[metricRead] / n, RowsWritten: v[metricWritten] / n, RowsSkipped: v[metricSkipped] / n}
}

// execMu serializes pipeline submission in the process: Beam reads its
// options from process-wide flags, which execute sets and restores.
var execMu sync.Mutex

func (e *Engine) execute(ctx context.Context, p *beam.Pipeline, view string) (beam.PipelineResult, error) {
	execMu.Lock()
	defer execMu.Unlock()
	jobName := e.cfg.JobName
	if jobName == "" {
		jobName = "feast-materialize-" + strings.ToLower(strings.ReplaceAll(view, "_", "-"))
	}
	flags := map[string]string{"job_name": jobName, "async": "false"}
	envType := e.cfg.EnvironmentType
	switch e.cfg.Runner {
	case RunnerPrism:
		ep, err := e.startPrism(ctx)
		if err != nil {
			return nil, err
		}
		flags["endpoint"] = ep
		if envType == "" {
			envType = "LOOPBACK"
		}
	case RunnerUniversal:
		flags["endpoint"] = e.cfg.Endpoint
	case RunnerDataflow:
		flags["project"] = e.cfg.Project
		flags["region"] = e.cfg.Region
		flags["temp_location"] = e.cfg.TempLocation
		flags["staging_location"] = e.cfg.StagingLocation
	}
	flags["environment_type"] = envType
	flags["environment_config"] = e.cfg.EnvironmentConfig
	if e.cfg.Parallelism > 0 {
		flags["parallelism"] = strconv.Itoa(e.cfg.Parallelism)
	}
	if !strings.EqualFold(envType, "LOOPBACK") {
		bin := e.cfg.WorkerBinary
		if bin == "" && runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("find worker binary: %w", err)
			}
			bin = exe
		}
		if bin == "" {
			return nil, fmt.Errorf("set batch_engine.worker_binary to a linux/amd64 build of feast-beam (this binary is %s/%s)", runtime.GOOS, runtime.GOARCH)
		}
		flags["worker_binary"] = bin
	}
	for k, v := range e.cfg.Flags {
		flags[k] = v
	}
	restore, err := setFlags(flags)
	defer restore()
	if err != nil {
		return nil, err
	}
	if e.cfg.Runner == RunnerDataflow {
		return dataflow.Execute(ctx, p)
	}
	return universal.Execute(ctx, p)
}

// setFlags sets Beam's process-wide flags and returns a function restoring
// their previous values.
func setFlags(values map[string]string) (func(), error) {
	var undo []func()
	restore := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	for name, v := range values {
		f := flag.Lookup(name)
		if f == nil {
			return restore, fmt.Errorf("beam flag %q does not exist", name)
		}
		old := f.Value.String()
		if err := f.Value.Set(v); err != nil {
			return restore, fmt.Errorf("set beam flag %s=%q: %w", name, v, err)
		}
		undo = append(undo, func() { _ = f.Value.Set(old) })
	}
	return restore, nil
}

// startPrism starts, once per engine, an in-process prism job server on a
// free loopback-chosen port and returns its endpoint. The server lives as
// long as the process (prism offers no way to stop it).
func (e *Engine) startPrism(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.prismEndpoint != "" {
		return e.prismEndpoint, nil
	}
	port, err := freePort()
	if err != nil {
		return "", fmt.Errorf("start prism job server: %w", err)
	}
	if _, err := StartJobServer(ctx, port); err != nil {
		return "", err
	}
	e.prismEndpoint = "localhost:" + strconv.Itoa(port)
	return e.prismEndpoint, nil
}

// StartJobServer starts Beam's prism job server in this process on port
// and waits until it answers; it returns the endpoint (localhost:port) to
// use with the universal runner. It is how tests and single-machine setups
// exercise the same submission path as a Flink or Spark job server. The
// server listens on all interfaces (prism's choice) until the process exits.
func StartJobServer(ctx context.Context, port int) (string, error) {
	dctx, cancel := context.WithTimeout(ctx, jobServerStartTimeout)
	defer cancel()
	if _, err := prism.CreateJobServer(dctx, prism.Options{Port: port}); err != nil {
		if ctx.Err() == nil && dctx.Err() != nil {
			err = fmt.Errorf("the in-process job server did not answer within %s (the machine is overloaded; retry when it is not, or use runner universal with a job server of its own): %w", jobServerStartTimeout, err)
		}
		return "", fmt.Errorf("start prism job server on port %d: %w", port, err)
	}
	return "localhost:" + strconv.Itoa(port), nil
}

// jobServerStartTimeout bounds the wait for the in-process prism job server
// to listen: it only waits for a goroutine of this process.
const jobServerStartTimeout = 30 * time.Second

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
