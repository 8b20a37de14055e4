package feast

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
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
	snap, err := fs.registry.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	views, err := selectViews(snap, opts.Views)
	if err != nil {
		return nil, err
	}
	engine := opts.Engine
	if engine == nil {
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
		return nil, err
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
			r.Err = fs.materializeView(ctx, locker, engine, progress, fv, interval, opts.Wait, r)
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
// starts where that one ended.
func (fs *FeatureStore) materializeView(ctx context.Context, locker materialize.Locker, engine materialize.Engine, progress materialize.Progress,
	fv *model.FeatureView, interval func(*model.FeatureView) (time.Time, time.Time), wait bool, r *ViewResult) error {
	lock, err := locker.Lock(ctx, materialize.ViewLockName(fs.cfg.Project, fv.Name), materialize.LockOptions{Wait: wait})
	if err != nil {
		return err
	}
	defer lock.Unlock()
	snap, err := fs.registry.Refresh(ctx)
	if err != nil {
		return &materialize.TaskError{View: fv.Name, Err: err}
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
	if err == nil {
		// Every row is written: record the interval even when the run's
		// deadline (a server's request timeout) or cancellation comes now,
		// or the written data would be left unrecorded for nothing.
		err = fs.registry.ApplyMaterialization(context.WithoutCancel(ctx), fv.Name, r.Start, r.End)
	}
	if err != nil {
		return &materialize.TaskError{View: fv.Name, Err: err}
	}
	return nil
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
