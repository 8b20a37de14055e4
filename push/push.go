// Package push validates and writes pushed rows: Feast's push (to the
// online store, the offline store or both), write-to-online-store and the
// batches of the stream consumer. A Pusher compiles a push source (or a
// view) of the current registry snapshot into a Schema, decodes Records
// against it into a Batch, and writes the batch through the stores of a
// Store, which *feast.FeatureStore implements.
//
// The root package feast keeps FeatureStore.Push and
// FeatureStore.WriteToOnlineStore, and aliases of this package's types
// under their former names (feast.Records, feast.PushMode, ...).
package push

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/registry"
)

// Result describes a successful push or online write.
type Result struct {
	// Source is the push source, or the view of a write to the online store.
	Source string
	Mode   Mode
	// Rows is the number of input rows.
	Rows int
	// Views has one entry per feature view (and on-demand view transformed
	// on write) written online.
	Views []ViewWriteResult
	// OfflineSources names the batch sources rows were appended to.
	OfflineSources []string
	// Warning is set when the push was a no-op (no rows, or every feature
	// null), as Feast warns.
	Warning string
}

// ViewWriteResult counts the online write of one view.
type ViewWriteResult struct {
	View string
	// Written rows were stored; Skipped rows were older than (or as old as)
	// what the store held for their entity.
	Written, Skipped int
}

// Options configures a Pusher. The zero value is usable: the limits
// then come from the configuration's feature_server section (see
// config.FeatureServerConfig for their defaults).
type Options struct {
	// Registerer receives the push metrics; nil means no metrics. Several
	// Pushers may share one registerer: the metrics are registered once.
	Registerer prometheus.Registerer
	// MaxRows bounds the rows of one Push or WriteToOnlineStore (an
	// error wrapping ErrTooManyRows); 0 means feature_server.max_push_rows,
	// negative means no limit. Stream batches are not bounded.
	MaxRows int
	// MaxConcurrent bounds the Push and WriteToOnlineStore calls running at
	// once; a call beyond it fails at once with an error wrapping
	// ErrWritesSaturated. 0 means feature_server.max_concurrent_writes,
	// negative means no limit.
	MaxConcurrent int
	// MaxFutureEventTime rejects rows written online whose event timestamp
	// is further than this ahead of the store's clock (an
	// *InvalidError); 0 means
	// feature_server.max_future_event_time_seconds, negative means no check.
	MaxFutureEventTime time.Duration
}

// Store is what a Pusher needs of a feature store: the current registry
// snapshot, the online and offline stores (opened on first use), the
// configuration (for the feature_server write limits), a logger and a
// clock. *feast.FeatureStore implements it. Implementations must be safe
// for concurrent use.
type Store interface {
	Snapshot(ctx context.Context) (*registry.Snapshot, error)
	OnlineStore(ctx context.Context) (online.Store, error)
	OfflineStore(ctx context.Context) (offline.Store, error)
	Config() *config.RepoConfig
	Logger() *slog.Logger
	Now() time.Time
}

// Pusher validates and writes pushed rows. It caches compiled push targets
// per registry snapshot. A Pusher is safe for concurrent use.
type Pusher struct {
	store   Store
	metrics *pushMetrics
	maxRows int
	// slots holds one token per running write; nil means no limit.
	slots     chan struct{}
	maxFuture time.Duration // 0: no check

	mu    sync.Mutex
	snap  *registry.Snapshot
	cache map[string]*target
}

// New returns a Pusher writing through store.
func New(store Store, opts Options) (*Pusher, error) {
	p := &Pusher{store: store}
	fsc := store.Config().FeatureServer
	p.maxRows = limit(opts.MaxRows, fsc.PushRowLimit())
	if n := limit(opts.MaxConcurrent, fsc.WriteConcurrency()); n > 0 {
		p.slots = make(chan struct{}, n)
	}
	p.maxFuture = time.Duration(limit(int64(opts.MaxFutureEventTime), int64(fsc.MaxFutureEventTime())))
	if opts.Registerer != nil {
		m, err := newPushMetrics(opts.Registerer)
		if err != nil {
			return nil, err
		}
		p.metrics = m
	}
	return p, nil
}

// limit resolves an option: 0 takes the configured value, negative means
// none (0).
func limit[T int | int64](opt, configured T) T {
	switch {
	case opt == 0:
		return configured
	case opt < 0:
		return 0
	}
	return opt
}

// admit takes a write slot, or fails with ErrWritesSaturated when every
// slot is taken. The caller runs the returned release when done.
func (p *Pusher) admit(what string) (release func(), err error) {
	if p.slots == nil {
		return func() {}, nil
	}
	select {
	case p.slots <- struct{}{}:
		return func() { <-p.slots }, nil
	default:
		return nil, fmt.Errorf("%s: %w: %d are running (feature_server.max_concurrent_writes); retry shortly", what, ErrWritesSaturated, cap(p.slots))
	}
}

// checkRows rejects records with more rows than the limit, counting them
// without decoding the values.
func (p *Pusher) checkRows(what string, recs Records) error {
	if p.maxRows <= 0 {
		return nil
	}
	if n := recordsLen(recs); n > p.maxRows {
		return fmt.Errorf("%s: %w: %d rows, the limit is %d (feature_server.max_push_rows): send them in smaller requests", what, ErrTooManyRows, n, p.maxRows)
	}
	return nil
}

// Request is one push.
type Request struct {
	// Source is the push source name.
	Source  string
	Records Records
	// Mode defaults to Online.
	Mode Mode
	// NoTransform skips on-demand views that write to the online store
	// (Feast's transform_on_write: false).
	NoTransform bool
	// Authorize, when set, is asked before anything is decoded or written,
	// with the feature views the source feeds and WRITE_ONLINE and/or
	// WRITE_OFFLINE by Mode; its error refuses the push.
	Authorize Authorizer
}

// Authorizer decides whether a write may proceed. snap is the registry
// snapshot the write was resolved against; request identifies the resolved
// write (the same value always stands for the same resources, so decisions
// can be cached by it); resources are the objects written.
type Authorizer func(snap *registry.Snapshot, request any, resources []permissions.Resource, actions ...model.Action) error

// Push writes records to every feature view fed by the push source (online),
// and/or appends them to the push source's batch source (offline), as
// Feast's FeatureStore.push does. On-demand views with
// write_to_online_store whose feature-view sources are all fed by the push
// source are computed from the pushed rows and written online too.
//
// The whole input is validated before anything is written: unknown source
// (*SourceNotFoundError), missing join keys, timestamp or feature
// columns, unknown columns, wrong value types (*InvalidError). Empty
// input is a no-op with a warning. With online_and_offline the offline part
// is written first; a failure of the online part is a *PartialError.
func (p *Pusher) Push(ctx context.Context, req Request) (Result, error) {
	if req.Mode == 0 {
		req.Mode = Online
	}
	if !req.Mode.online() && !req.Mode.offline() {
		return Result{}, &InvalidError{Source: req.Source, Row: -1, Reason: "unknown push mode " + req.Mode.String()}
	}
	release, err := p.admit("push to " + req.Source)
	if err != nil {
		return Result{}, err
	}
	defer release()
	if err := p.checkRows("push to "+req.Source, req.Records); err != nil {
		return Result{}, err
	}
	schema, err := p.schema(ctx, "push:"+req.Source, func(snap *registry.Snapshot) (*target, error) {
		return pushSourceTarget(snap, req.Source, false, nil)
	})
	if err != nil {
		return Result{}, err
	}
	if req.Authorize != nil {
		var actions []model.Action
		if req.Mode.online() {
			actions = append(actions, model.ActionWriteOnline)
		}
		if req.Mode.offline() {
			actions = append(actions, model.ActionWriteOffline)
		}
		if err := req.Authorize(schema.t.snap, schema.t, schema.t.access, actions...); err != nil {
			return Result{}, err
		}
	}
	return p.decodeAndWrite(ctx, schema, req.Records, req.Mode, req.NoTransform)
}

// WriteRequest is one write to the online store.
type WriteRequest struct {
	// View is a feature view, or an on-demand view with write_to_online_store.
	View    string
	Records Records
	// NoTransform writes an on-demand view's features as given (the records
	// hold its output columns) instead of computing them from its inputs
	// (Feast's transform_on_write: false).
	NoTransform bool
	// Authorize, when set, is asked with the view and WRITE_ONLINE before
	// anything is decoded or written; its error refuses the write.
	Authorize Authorizer
}

// WriteToOnlineStore writes rows to the online store of one feature view,
// or of an on-demand view with write_to_online_store (the records then hold
// its inputs and are transformed, unless req.NoTransform), with Push's
// validation. An unknown view is a *registry.NotFoundError.
func (p *Pusher) WriteToOnlineStore(ctx context.Context, req WriteRequest) (Result, error) {
	release, err := p.admit("write to " + req.View)
	if err != nil {
		return Result{}, err
	}
	defer release()
	if err := p.checkRows("write to "+req.View, req.Records); err != nil {
		return Result{}, err
	}
	schema, err := p.viewSchema(ctx, req.View, req.NoTransform)
	if err != nil {
		return Result{}, err
	}
	if req.Authorize != nil {
		if err := req.Authorize(schema.t.snap, schema.t, schema.t.access, model.ActionWriteOnline); err != nil {
			return Result{}, err
		}
	}
	return p.decodeAndWrite(ctx, schema, req.Records, Online, false)
}

// viewSchema returns the schema of a write to the online store of view
// (raw: its features as given, without transformation).
func (p *Pusher) viewSchema(ctx context.Context, view string, raw bool) (*Schema, error) {
	key := "view:" + view
	if raw {
		key = "view-raw:" + view
	}
	return p.schema(ctx, key, func(snap *registry.Snapshot) (*target, error) {
		return viewTarget(snap, view, raw)
	})
}

// StreamSchema returns the schema of a stream (push or kafka) source for
// the stream consumer: the feature views it feeds (only those named in
// views, when not empty) and the on-demand views transformed on write.
func (p *Pusher) StreamSchema(ctx context.Context, source string, views []string) (*Schema, error) {
	key := "stream:" + source + ":" + strings.Join(views, ",")
	return p.schema(ctx, key, func(snap *registry.Snapshot) (*target, error) {
		return pushSourceTarget(snap, source, true, views)
	})
}

func (p *Pusher) decodeAndWrite(ctx context.Context, schema *Schema, recs Records, mode Mode, noTransform bool) (Result, error) {
	b, err := schema.decode(recs, noTransform, mode.online())
	if err != nil {
		p.metrics.rejected(schema.t.name, recordsLen(recs))
		return Result{}, err
	}
	return p.Write(ctx, b, mode)
}

// schema returns the cached target for key in the current snapshot.
func (p *Pusher) schema(ctx context.Context, key string, build func(*registry.Snapshot) (*target, error)) (*Schema, error) {
	snap, err := p.store.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.snap != snap {
		p.snap, p.cache = snap, map[string]*target{}
	}
	t, ok := p.cache[key]
	p.mu.Unlock()
	if ok {
		return &Schema{t: t, now: p.store.Now, maxFuture: p.maxFuture}, nil
	}
	t, err = build(snap)
	if err != nil {
		return nil, err
	}
	t.project, t.snap = snap.Project, snap
	p.mu.Lock()
	if p.snap == snap {
		p.cache[key] = t
	}
	p.mu.Unlock()
	return &Schema{t: t, now: p.store.Now, maxFuture: p.maxFuture}, nil
}

// Write writes a validated batch. Offline first (one append per distinct
// batch source), then online (one write per view); see Pusher.Push.
func (p *Pusher) Write(ctx context.Context, b *Batch, mode Mode) (Result, error) {
	t := b.t
	res := Result{Source: t.name, Mode: mode, Rows: b.n}
	if b.n == 0 {
		res.Warning = "no rows to push to " + t.name + "; nothing written"
		p.store.Logger().Warn("empty push", "source", t.name)
		return res, nil
	}
	if b.allFeaturesNull() {
		res.Warning = "every feature value pushed to " + t.name + " is null; nothing written"
		p.store.Logger().Warn("push with only null features", "source", t.name, "rows", b.n)
		return res, nil
	}
	if mode.offline() && len(t.batchSources) == 0 {
		return res, &InvalidError{Source: t.name, Row: -1, Reason: "offline push needs a push source with a batch source"}
	}
	// Open both stores before writing either, so a misconfiguration fails
	// the whole push.
	var (
		on  online.Store
		off offline.Store
		err error
	)
	if mode.online() {
		if on, err = p.store.OnlineStore(ctx); err != nil {
			return res, fmt.Errorf("push to %s: %w", t.name, err)
		}
	}
	if mode.offline() {
		if off, err = p.store.OfflineStore(ctx); err != nil {
			return res, fmt.Errorf("push to %s: %w", t.name, err)
		}
		for _, src := range t.batchSources {
			rec, err := b.offlineRecord(src)
			if err != nil {
				return res, fmt.Errorf("push to %s: build offline batch: %w", t.name, err)
			}
			err = off.WriteBatch(ctx, src, rec)
			rec.Release()
			if err != nil {
				return res, fmt.Errorf("push to %s: append to %s: %w", t.name, src.Name, err)
			}
			res.OfflineSources = append(res.OfflineSources, src.Name)
		}
		p.metrics.pushed(t.name, Offline, b.n)
	}
	if mode.online() {
		for i, w := range t.writes {
			st, err := on.Write(ctx, online.WriteBatch{Project: t.project, View: w.view, Features: w.features, Rows: b.rows[i]})
			if err != nil {
				err = fmt.Errorf("write online %s: %w", w.view.Name, err)
				if mode.offline() {
					return res, &PartialError{Source: t.name, Written: Offline, Err: err}
				}
				return res, fmt.Errorf("push to %s: %w", t.name, err)
			}
			res.Views = append(res.Views, ViewWriteResult{View: w.view.Name, Written: st.Written, Skipped: st.Skipped})
		}
		p.metrics.pushed(t.name, Online, b.n)
		p.metrics.fresh(t.name, p.store.Now(), b.ts)
	}
	return res, nil
}
