package feast

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/transform"
)

// MaterializeOptions tunes a materialization run.
type MaterializeOptions struct {
	// Views limits the run to these feature views; empty means every online view.
	Views []string
	// Progress receives per-view progress; nil means none.
	Progress materialize.Progress
	// Parallel is how many views run at once; default 2.
	Parallel int
	// Engine overrides the engine from the configuration.
	Engine materialize.Engine
	// Wait queues behind another run of the same view instead of failing
	// with a *materialize.LockedError.
	Wait bool
	// FromSnapshot reads the feature views from the registry's current
	// snapshot (the last good one, kept fresh by the registry's background
	// refresher) instead of loading the registry first. The feature server
	// sets it, so that /materialize* read the registry as every other
	// endpoint does and keep working from the last good snapshot while the
	// registry cannot be read. Without it (feast materialize) the registry
	// is loaded before the run and again after each view's lock is taken,
	// and a failed load fails the run: a command run from a scheduler must
	// not materialize from definitions it cannot check are current.
	FromSnapshot bool
}

// UnavailableError is a materialization failure of a component that cannot
// be reached or does not answer in time (the offline store, the registry):
// not the request's fault, and worth retrying once the component is back.
// The feature server answers it with 503 and Retry-After. Errors of an
// unreachable online store are marked online.ErrUnavailable instead.
type UnavailableError struct {
	// Component is "offline store" or "registry".
	Component string
	Err       error
}

func (e *UnavailableError) Error() string { return e.Component + " unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// unavailable returns err as an *UnavailableError of component when it says
// that the component cannot be reached or did not answer in time (a
// refused or reset connection, a network timeout, a deadline of the
// component's own while ctx, the run's, is still live); any other error,
// and nil, as it is. Errors already marked (online.ErrUnavailable, an
// *UnavailableError) keep their mark.
func unavailable(ctx context.Context, component string, err error) error {
	var ue *UnavailableError
	if err == nil || ctx.Err() != nil || errors.Is(err, online.ErrUnavailable) || errors.As(err, &ue) {
		return err
	}
	var op *net.OpError
	var ne net.Error
	if errors.As(err, &op) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, context.DeadlineExceeded) {
		return &UnavailableError{Component: component, Err: err}
	}
	return err
}

// ViewResult is the outcome for one view.
type ViewResult struct {
	View       string
	Start, End time.Time
	Stats      materialize.Stats
	Err        error
}

// Materialize loads feature values with event timestamps in [start, end]
// into the online store and records the interval per view, each only after
// its data was written.
func (fs *FeatureStore) Materialize(ctx context.Context, start, end time.Time, opts MaterializeOptions) ([]ViewResult, error) {
	if !start.Before(end) {
		return nil, fmt.Errorf("materialize: start %s must be before end %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return fs.materialize(ctx, opts, func(*model.FeatureView) (time.Time, time.Time) { return start, end })
}

// MaterializeIncremental loads each view from the end of its last recorded
// interval (else end minus its ttl) up to end.
func (fs *FeatureStore) MaterializeIncremental(ctx context.Context, end time.Time, opts MaterializeOptions) ([]ViewResult, error) {
	return fs.materialize(ctx, opts, func(fv *model.FeatureView) (time.Time, time.Time) {
		return materialize.IncrementalStart(fv, end), end
	})
}

func (fs *FeatureStore) materialize(ctx context.Context, opts MaterializeOptions, interval func(*model.FeatureView) (time.Time, time.Time)) ([]ViewResult, error) {
	var snap *registry.Snapshot
	var err error
	if opts.FromSnapshot {
		snap, err = fs.registry.Snapshot(ctx)
	} else {
		snap, err = fs.registry.Refresh(ctx)
	}
	if err != nil {
		return nil, unavailable(ctx, "registry", err)
	}
	views, err := selectViews(snap, opts.Views)
	if err != nil {
		return nil, err
	}
	engine := opts.Engine
	if engine == nil {
		// The offline store first, so that its failure is told apart
		// from the online store's (marked by the online store).
		if _, err := fs.OfflineStore(ctx); err != nil {
			return nil, unavailable(ctx, "offline store", err)
		}
		if engine, err = fs.engine(ctx); err != nil {
			return nil, err
		}
	}
	progress := opts.Progress
	if progress == nil {
		progress = nopProgress{}
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 2
	}
	locker, err := materialize.NewLocker(ctx, fs.cfg)
	if err != nil {
		// A SQL registry's locks live in its database.
		return nil, unavailable(ctx, "registry", err)
	}
	defer locker.Close()
	results := make([]ViewResult, len(views))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, fv := range views {
		results[i] = ViewResult{View: fv.Name}
		results[i].Start, results[i].End = interval(fv)
		wg.Add(1)
		go func(i int, fv *model.FeatureView) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			r.Err = fs.materializeView(ctx, locker, engine, progress, fv, interval, opts, r)
		}(i, fv)
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}

// materializeView runs one view under its cross-process lock. The view is
// re-read after the lock is taken, so a run that queued behind another
// starts where that one ended: from a fresh load of the registry, or with
// opts.FromSnapshot from the current snapshot (which this process's own
// runs update as they record intervals; another process's recordings
// arrive with the next background refresh, and until then at worst an
// interval is materialized again, which writes nothing new).
func (fs *FeatureStore) materializeView(ctx context.Context, locker materialize.Locker, engine materialize.Engine, progress materialize.Progress,
	fv *model.FeatureView, interval func(*model.FeatureView) (time.Time, time.Time), opts MaterializeOptions, r *ViewResult) error {
	lock, err := locker.Lock(ctx, materialize.ViewLockName(fs.cfg.Project, fv.Name), materialize.LockOptions{Wait: opts.Wait})
	if err != nil {
		// A SQL registry's locks live in its database.
		return unavailable(ctx, "registry", err)
	}
	defer lock.Unlock()
	var snap *registry.Snapshot
	if opts.FromSnapshot {
		snap, err = fs.registry.Snapshot(ctx)
	} else {
		snap, err = fs.registry.Refresh(ctx)
	}
	if err != nil {
		return &materialize.TaskError{View: fv.Name, Err: unavailable(ctx, "registry", err)}
	}
	if cur, ok := snap.FeatureViews[fv.Name]; ok {
		fv = cur
	}
	r.Start, r.End = interval(fv)
	if !r.Start.Before(r.End) {
		return nil // already materialized up to end
	}
	task := materialize.Task{Project: fs.cfg.Project, View: fv, Start: r.Start, End: r.End}
	if task.Derived, err = derivedViews(snap, fv); err != nil {
		return &materialize.TaskError{View: fv.Name, Err: err}
	}
	if dw, ok := engine.(materialize.DerivedWriter); len(task.Derived) > 0 && (!ok || !dw.WritesDerived()) {
		for _, d := range task.Derived {
			fs.logger.Warn("this materialization engine does not write on demand views; push them or materialize with the in-process engine",
				"feature_view", fv.Name, "on_demand_view", d.View.Name)
		}
		task.Derived = nil
	}
	r.Stats, err = engine.Materialize(ctx, task, progress)
	if err != nil {
		// The engine reads the offline store and writes the online
		// store, whose errors are marked online.ErrUnavailable.
		return &materialize.TaskError{View: fv.Name, Err: unavailable(ctx, "offline store", err)}
	}
	if err := fs.recordInterval(ctx, fv.Name, r.Start, r.End); err != nil {
		return &materialize.TaskError{View: fv.Name, Err: unavailable(ctx, "registry", err)}
	}
	return nil
}

// recordInterval records [start, end] on view once every row is written.
// It runs without ctx's cancellation and deadline (a server's request
// timeout, or a client gone, must not leave written data unrecorded for
// nothing), bounded by the registry timeout instead: a registry that never
// answers ends it with a *RegistryTimeoutError. The update is awaited on
// its own goroutine, since a store need not honor its context; if it ends
// after all, the interval is recorded and a re-run finds nothing to do.
func (fs *FeatureStore) recordInterval(ctx context.Context, view string, start, end time.Time) error {
	rctx := context.WithoutCancel(ctx)
	timeout := fs.registryTimeout
	if timeout <= 0 {
		return fs.registry.ApplyMaterialization(rctx, view, start, end)
	}
	rctx, cancel := context.WithTimeout(rctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fs.registry.ApplyMaterialization(rctx, view, start, end) }()
	var err error
	select {
	case err = <-done:
		if err == nil || rctx.Err() == nil {
			return err
		}
	case <-rctx.Done():
	}
	return &RegistryTimeoutError{Op: fmt.Sprintf("record the materialized interval of feature view %q", view), Timeout: timeout, Err: err}
}

// selectViews picks the online, enabled views, or the named ones.
func selectViews(snap *registry.Snapshot, names []string) ([]*model.FeatureView, error) {
	var out []*model.FeatureView
	if len(names) == 0 {
		for _, n := range snap.FeatureViewNames() {
			if fv := snap.FeatureViews[n]; fv.Online && !fv.Disabled {
				out = append(out, fv)
			}
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, n := range names {
		fv, ok := snap.FeatureViews[n]
		if !ok {
			return nil, &registry.NotFoundError{Kind: "feature view", Name: n, Project: snap.Project, Suggestions: config.Closest(n, snap.FeatureViewNames(), 3)}
		}
		if !fv.Online {
			return nil, fmt.Errorf("feature view %q has online: false; set online: true and apply before materializing it", n)
		}
		if !seen[n] {
			out = append(out, fv)
			seen[n] = true
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

type nopProgress struct{}

func (nopProgress) Start(string, int64)                   {}
func (nopProgress) Add(string, int64, int64, int64)       {}
func (nopProgress) Done(string, materialize.Stats, error) {}

// derivedViews compiles the on-demand views with write_to_online_store
// whose only sources are fv: materializing fv writes them too, computed
// from the same rows, as Feast's materialization does. On-demand views
// that also read other views or request data cannot be computed from fv's
// rows alone and are written by push only.
func derivedViews(snap *registry.Snapshot, fv *model.FeatureView) ([]materialize.Derived, error) {
	var out []materialize.Derived
	for _, name := range slices.Sorted(maps.Keys(snap.OnDemandViews)) {
		o := snap.OnDemandViews[name]
		if !o.WriteToOnlineStore || len(o.Sources) == 0 {
			continue
		}
		only := true
		for _, s := range o.Sources {
			if s.Request != nil || s.FeatureView != fv.Name {
				only = false
			}
		}
		if !only {
			continue
		}
		views := func(n string) *model.FeatureView { return snap.FeatureViews[n] }
		stored, ok := o.StoredView(views)
		if !ok {
			continue
		}
		prg, err := transform.Compile(o, o.Inputs(views))
		if err != nil {
			return nil, fmt.Errorf("on demand view %s: %w", o.Name, err)
		}
		// Each program input "view:feature" is a column of fv's rows.
		idx := map[string]int{}
		for _, in := range prg.Inputs() {
			_, f, _ := strings.Cut(in.Name, ":")
			i := slices.IndexFunc(fv.Features, func(x model.Field) bool { return x.Name == f })
			if i < 0 {
				return nil, fmt.Errorf("on demand view %s reads %s, which %s does not have", o.Name, in.Name, fv.Name)
			}
			idx[in.Name] = i
		}
		nf := len(o.Features)
		out = append(out, materialize.Derived{View: stored, Compute: func(rows []online.Row) ([][]*types.Value, error) {
			cols := make(map[string][]*types.Value, len(idx))
			for name, i := range idx {
				col := make([]*types.Value, len(rows))
				for r := range rows {
					col[r] = rows[r].Values[i]
				}
				cols[name] = col
			}
			res, err := prg.EvalColumns(cols, len(rows))
			if err != nil {
				return nil, err
			}
			vals := make([]*types.Value, len(rows)*nf)
			outRows := make([][]*types.Value, len(rows))
			for r := range rows {
				row := vals[r*nf : (r+1)*nf : (r+1)*nf]
				for f := range nf {
					row[f] = res[f][r]
				}
				outRows[r] = row
			}
			return outRows, nil
		}})
	}
	return out, nil
}
