package feast

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/feastgo/feast/model"
)

// NewestEventReader is implemented by online stores that can tell the
// newest event timestamp they hold for a feature view (SQL stores with
// max(event_ts)). Stores without it (Redis) leave the column unknown in
// `feast status`.
type NewestEventReader interface {
	// NewestEventTime returns the greatest event timestamp stored for view in
	// project; ok is false when the store holds no row for the view.
	NewestEventTime(ctx context.Context, project string, view *model.FeatureView) (t time.Time, ok bool, err error)
}

// Freshness classifies a view in ViewStatus.
type Freshness string

// Freshness values.
const (
	// Fresh: the last materialized interval ended less than ttl ago.
	Fresh Freshness = "ok"
	// Stale: now minus the last interval end exceeds the view's ttl.
	Stale Freshness = "STALE"
	// NeverMaterialized: the online view has no recorded interval.
	NeverMaterialized Freshness = "NEVER MATERIALIZED"
	// NoTTL: the view has ttl 0 (no limit), so it is never stale.
	NoTTL Freshness = "no ttl"
	// NotOnline: the view is not served online (online: false or disabled).
	NotOnline Freshness = "not online"
)

// ViewStatus is the operational state of one feature view.
type ViewStatus struct {
	View string
	// TTL is the view's ttl; 0 means no limit.
	TTL time.Duration
	// LastStart and LastEnd are the last recorded materialization interval
	// (the one with the greatest end); zero when there is none.
	LastStart, LastEnd time.Time
	// Intervals is how many intervals the registry has recorded.
	Intervals int
	// NewestEvent is the newest event timestamp in the online store, valid
	// when NewestEventKnown.
	NewestEvent      time.Time
	NewestEventKnown bool
	// NewestEventErr is set when the online store could not be asked.
	NewestEventErr error
	// Age is now minus LastEnd (0 when never materialized).
	Age       time.Duration
	Freshness Freshness
}

// StatusOptions tunes Status.
type StatusOptions struct {
	// Views limits the report to these feature views; empty means all.
	Views []string
	// SkipOnlineStore does not open the online store, leaving the newest
	// event time unknown (the zero value asks the store).
	SkipOnlineStore bool
	// Cached reports from the registry snapshot the store holds (kept
	// fresh by the background refresher) instead of reading the registry:
	// for callers that report repeatedly, like the web UI, whose reads
	// would otherwise replace the snapshot the server serves from.
	Cached bool
}

// Status reports, per feature view, the last materialized interval, the
// newest event time in the online store when the store can tell
// (NewestEventReader), and staleness against the view's ttl. It reads the
// registry fresh, bypassing the cache, unless opts.Cached. An online store
// that cannot be opened does not fail the report: each view carries the
// error.
func (fs *FeatureStore) Status(ctx context.Context, opts StatusOptions) ([]ViewStatus, error) {
	load := fs.registry.Refresh
	if opts.Cached {
		load = fs.registry.Snapshot
	}
	snap, err := load(ctx)
	if err != nil {
		return nil, err
	}
	var views []*model.FeatureView
	if len(opts.Views) == 0 {
		for _, n := range snap.FeatureViewNames() {
			views = append(views, snap.FeatureViews[n])
		}
	} else {
		for _, n := range opts.Views {
			fv, err := fs.FeatureView(ctx, n)
			if err != nil {
				return nil, err
			}
			views = append(views, fv)
		}
	}
	var (
		reader  NewestEventReader
		openErr error
	)
	if !opts.SkipOnlineStore {
		store, err := fs.OnlineStore(ctx)
		switch {
		case errors.Is(err, ErrNoOnlineStore):
		case err != nil:
			openErr = err
		default:
			reader, _ = store.(NewestEventReader)
		}
	}
	now := fs.now()
	out := make([]ViewStatus, len(views))
	for i, fv := range views {
		st := viewStatus(fv, now)
		switch {
		case !fv.Online || fv.Disabled:
		case openErr != nil:
			st.NewestEventErr = openErr
		case reader != nil:
			t, ok, err := reader.NewestEventTime(ctx, fs.cfg.Project, fv)
			if err != nil {
				st.NewestEventErr = fmt.Errorf("read newest event time of %s: %w", fv.Name, err)
			} else {
				st.NewestEvent, st.NewestEventKnown = t, ok
			}
		}
		out[i] = st
	}
	return out, nil
}

// viewStatus computes the registry side of a view's status at now.
func viewStatus(fv *model.FeatureView, now time.Time) ViewStatus {
	st := ViewStatus{View: fv.Name, TTL: fv.TTL, Intervals: len(fv.Intervals)}
	for _, iv := range fv.Intervals {
		if iv.End.After(st.LastEnd) {
			st.LastStart, st.LastEnd = iv.Start, iv.End
		}
	}
	if !st.LastEnd.IsZero() {
		st.Age = now.Sub(st.LastEnd)
	}
	switch {
	case !fv.Online || fv.Disabled:
		st.Freshness = NotOnline
	case st.LastEnd.IsZero():
		st.Freshness = NeverMaterialized
	case fv.TTL <= 0:
		st.Freshness = NoTTL
	case st.Age > fv.TTL:
		st.Freshness = Stale
	default:
		st.Freshness = Fresh
	}
	return st
}
