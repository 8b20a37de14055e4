package feast

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/registry"
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
	r.Stats, err = engine.Materialize(ctx, materialize.Task{Project: fs.cfg.Project, View: fv, Start: r.Start, End: r.End}, progress)
	if err == nil {
		err = fs.registry.ApplyMaterialization(ctx, fv.Name, r.Start, r.End)
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
