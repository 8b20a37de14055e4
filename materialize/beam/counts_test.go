package beam

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/onlinestore"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/online"
)

// splitGate steers the write bundles into the shape that lost counts: the
// first write stalls (held until the second write arrives), so the runner
// splits its bundle (prism splits a bundle whose input stopped moving) and
// the residual runs alongside; the second and third writes (the last one of
// each half, with the batch size a third of the rows) then return together,
// so both bundles finish within moments of each other.
type splitGate struct {
	online.Store
	calls, last atomic.Int32
	second      chan struct{} // closed by the second write
	together    chan struct{} // closed when the second and third wrote
}

func newSplitGate() *splitGate {
	return &splitGate{second: make(chan struct{}), together: make(chan struct{})}
}

func (g *splitGate) wait(ctx context.Context, c <-chan struct{}, what string) error {
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("split gate: no %s within 2 minutes", what)
	}
}

func (g *splitGate) Write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	n := g.calls.Add(1)
	switch n {
	case 1:
		if err := g.wait(ctx, g.second, "second write while the first was held (the runner did not split the stalled bundle)"); err != nil {
			return online.WriteStats{}, err
		}
	case 2:
		close(g.second)
	}
	st, err := g.Store.Write(ctx, b)
	if n == 2 || n == 3 {
		if g.last.Add(1) == 2 {
			close(g.together)
		}
		if werr := g.wait(ctx, g.together, "third write"); werr != nil && err == nil {
			err = werr
		}
	}
	return st, err
}

// withWorkerStore makes the workers (in this process: LOOPBACK) open
// stores through wrap until the test ends.
func withWorkerStore(t *testing.T, wrap func(online.Store) online.Store) {
	t.Helper()
	workerStores.mu.Lock()
	old := workerStores.open
	workerStores.open = func(ctx context.Context, cfg config.OnlineStoreConfig, repoPath string) (online.Store, error) {
		s, err := onlinestore.Open(ctx, cfg, repoPath)
		if err != nil {
			return nil, err
		}
		return wrap(s), nil
	}
	workerStores.mu.Unlock()
	t.Cleanup(func() {
		workerStores.mu.Lock()
		workerStores.open = old
		workerStores.mu.Unlock()
	})
}

// TestCountsExactWhenBundlesSplit: a write bundle that stalls is split by
// the runner and its two halves finish together. Counters set by each
// bundle lost one half's counts on prism (its pending values for a counter
// it has not resolved yet are kept one per counter, so the second bundle's
// replaced the first's); the counts now travel as data and are reported
// once.
func TestCountsExactWhenBundlesSplit(t *testing.T) {
	ds := data(t)
	project := "beamsplit"
	fv := testView(ds.dir)
	path := filepath.Join(t.TempDir(), "online.db")
	openSQLite(t, path, project, fv).Close()
	gate := newSplitGate()
	withWorkerStore(t, func(s online.Store) online.Store { gate.Store = s; return gate })

	e, err := New(BeamConfig{Runner: RunnerPrism, SplitRows: 50_000, WriteBatchSize: ds.entities/3 + 100},
		Stores{Online: config.OnlineStoreConfig{Type: "sqlite", SQLite: config.SQLiteOnlineConfig{Path: path}}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := runBeam(t, e, ds, project)
	if n := gate.calls.Load(); n < 3 {
		t.Fatalf("%d writes, want at least 3 (a stalled bundle split in two)", n)
	}
	if st.RowsRead != ds.rows || st.RowsWritten != int64(ds.entities) || st.RowsSkipped != 0 {
		t.Errorf("stats %+v, want %d read, %d written, 0 skipped", st, ds.rows, ds.entities)
	}
}

func counterKey(name string) metrics.StepKey {
	return metrics.StepKey{Step: "report", Namespace: metricNamespace, Name: name}
}

func TestStatsFromReport(t *testing.T) {
	totals := func(read, written, skipped, reports int64) map[metrics.StepKey]int64 {
		return map[metrics.StepKey]int64{
			counterKey(metricRead): read, counterKey(metricWritten): written,
			counterKey(metricSkipped): skipped, counterKey(metricReports): reports,
		}
	}
	for _, tc := range []struct {
		name                 string
		attempted, committed map[metrics.StepKey]int64
		want                 materialize.Stats
	}{
		{"committed", totals(30, 20, 2, 2), totals(15, 10, 1, 1), materialize.Stats{RowsRead: 15, RowsWritten: 10, RowsSkipped: 1}},
		// A re-run writes nothing: a committed 0 is not replaced by an
		// attempted value.
		{"committed zero written", totals(10, 5, 10, 1), totals(10, 0, 10, 1), materialize.Stats{RowsRead: 10, RowsSkipped: 10}},
		// Without committed metrics, each attempt of the report step added
		// the same totals.
		{"attempted only, retried", totals(30, 20, 2, 2), nil, materialize.Stats{RowsRead: 15, RowsWritten: 10, RowsSkipped: 1}},
		{"never reported", nil, nil, materialize.Stats{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := metrics.NewResults(metrics.MergeCounters(tc.attempted, tc.committed), nil, nil, nil, nil)
			if got := statsFrom(*res); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
