package registry

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
)

// FeatureRef locates one feature of a feature view in a snapshot.
type FeatureRef struct {
	View  *model.FeatureView
	Index int
	Field model.Field
}

// Snapshot is an immutable, indexed view of one project's registry objects.
// It is built once per refresh and shared by all readers without locking;
// callers must not modify it or the model objects it holds.
type Snapshot struct {
	Project  string
	LoadedAt time.Time

	Entities        map[string]*model.Entity
	DataSources     map[string]*model.DataSource
	FeatureViews    map[string]*model.FeatureView // batch and stream views
	OnDemandViews   map[string]*model.OnDemandFeatureView
	FeatureServices map[string]*model.FeatureService
	// Permissions are the project's access rules (Feast Permission objects).
	Permissions map[string]*model.Permission

	// Features maps "view:feature" to its view and field.
	Features map[string]FeatureRef

	// Warnings lists objects that could be read but not fully used (for
	// example on-demand views with Python transformations).
	Warnings []string

	// Proto is the registry the snapshot was built from.
	Proto *core.Registry
}

// NewSnapshot indexes the objects of project in r.
func NewSnapshot(r *core.Registry, project string, now time.Time) *Snapshot {
	s := &Snapshot{
		Project: project, LoadedAt: now, Proto: r,
		Entities: map[string]*model.Entity{}, DataSources: map[string]*model.DataSource{},
		FeatureViews: map[string]*model.FeatureView{}, OnDemandViews: map[string]*model.OnDemandFeatureView{},
		FeatureServices: map[string]*model.FeatureService{}, Features: map[string]FeatureRef{},
		Permissions: map[string]*model.Permission{},
	}
	for _, m := range r.GetPermissions() {
		if m.GetSpec().GetProject() == project {
			s.Permissions[m.GetSpec().GetName()] = model.PermissionFromProto(m)
		}
	}
	for _, o := range Objects(r, project) {
		switch m := o.Msg.(type) {
		case *core.Entity:
			s.Entities[o.Name] = model.EntityFromProto(m)
		case *core.DataSource:
			s.DataSources[o.Name] = model.DataSourceFromProto(m)
		case *core.FeatureView:
			s.FeatureViews[o.Name] = model.FeatureViewFromProto(m)
		case *core.StreamFeatureView:
			s.FeatureViews[o.Name] = model.StreamFeatureViewFromProto(m)
		case *core.OnDemandFeatureView:
			odfv, err := model.OnDemandFeatureViewFromProto(m)
			if err != nil {
				s.Warnings = append(s.Warnings, err.Error())
			}
			// A view that does not convert is left out (its warning
			// says why): every reader of OnDemandViews may use its
			// entries. A stored view whose transformation does not decode
			// made the UI, materialization and apply dereference nil.
			if odfv != nil {
				s.OnDemandViews[o.Name] = odfv
			}
		case *core.FeatureService:
			s.FeatureServices[o.Name] = model.FeatureServiceFromProto(m)
		}
	}
	for _, fv := range s.FeatureViews {
		for i, f := range fv.Features {
			s.Features[fv.Name+":"+f.Name] = FeatureRef{View: fv, Index: i, Field: f}
		}
	}
	return s
}

// FeatureViewNames returns the sorted names of the feature views.
func (s *Snapshot) FeatureViewNames() []string { return slices.Sorted(maps.Keys(s.FeatureViews)) }

// FeatureRefNames returns every "view:feature" reference, sorted, including
// on-demand features; used for "did you mean" suggestions.
func (s *Snapshot) FeatureRefNames() []string {
	names := slices.Sorted(maps.Keys(s.Features))
	for _, o := range s.OnDemandViews {
		for _, f := range o.Features {
			names = append(names, o.Name+":"+f.Name)
		}
	}
	sort.Strings(names)
	return names
}

// Registry is a Store plus the current project's snapshot, shared by every
// reader (online reads, push, stream, write); materialization and status
// call Refresh to read the latest registry, sharing a load in progress. It is safe
// for concurrent use, and readers never parse the registry on their own
// goroutine once a snapshot is loaded:
//
//   - Snapshot returns the cached snapshot. When it is older than the TTL,
//     Snapshot starts one background refresh (at most one at a time, however
//     many callers see it expire) and still returns the cached snapshot; the
//     next caller after the refresh gets the new one. Only the very first
//     load, when nothing is cached, happens on the caller's goroutine, and
//     concurrent first callers share it.
//   - Run refreshes on a ticker as well, so a server's readers never see an
//     expired snapshot at all.
//   - A failed refresh keeps the last good snapshot for every reader alike
//     and is reported by LastError until a refresh succeeds.
//   - Update writes through the store and then reloads on the writer's
//     goroutine, so the writer reads its own write and readers pay nothing.
//
// The TTL (the configuration's registry cache_ttl_seconds) is the one
// setting for both the expiry and Run's interval.
type Registry struct {
	store   Store
	project string
	now     func() time.Time

	ttl atomic.Int64 // time.Duration; 0 means the snapshot never expires
	// loadTimeout bounds each load (Options.LoadTimeout).
	loadTimeout time.Duration

	cur     atomic.Pointer[Snapshot]
	lastErr atomic.Pointer[refreshError]

	// Loads are serialized by loadMu and numbered: a caller that needs a
	// load started after its call (Refresh) takes a ticket before the
	// lock, and returns the result of a load that another caller started
	// after that instead of loading again.
	loadMu    sync.Mutex
	started   atomic.Uint64 // tickets issued to loads that have begun
	completed uint64        // ticket of the latest finished load (under loadMu)
	result    *Snapshot     // outcome of that load (under loadMu)
	resultErr error

	// background is set while a background refresh runs.
	background atomic.Bool
	// bg is the context of background refreshes, cancelled by Close.
	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type refreshError struct {
	err error
	at  time.Time
}

// Options configures a Registry.
type Options struct {
	// CacheTTL is how long a snapshot is served before a background
	// refresh replaces it, and Run's interval; 0 = never expire.
	CacheTTL time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// LoadTimeout bounds every load of the registry (background refreshes,
	// Run's ticks and Refresh calls alike): a registry database that stops
	// answering fails the refresh after this long, the last good snapshot
	// stays in place, and the next refresh is tried a TTL later. 0 means no
	// bound beyond the caller's context.
	LoadTimeout time.Duration
}

// New wraps store for project.
func New(store Store, project string, opts Options) *Registry {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	r := &Registry{store: store, project: project, now: now, loadTimeout: opts.LoadTimeout}
	r.ttl.Store(int64(opts.CacheTTL))
	r.bg, r.cancel = context.WithCancel(context.Background())
	return r
}

// Store returns the underlying store.
func (r *Registry) Store() Store { return r.store }

// Project returns the project this registry serves.
func (r *Registry) Project() string { return r.project }

// TTL returns how long a snapshot is served before it is refreshed.
func (r *Registry) TTL() time.Duration { return time.Duration(r.ttl.Load()) }

// SetTTL changes the TTL (for example from feast serve's
// --registry_ttl_sec); 0 means the snapshot never expires.
func (r *Registry) SetTTL(d time.Duration) { r.ttl.Store(int64(d)) }

// Close stops background refreshes and waits for a running one to end. It
// does not close the store.
func (r *Registry) Close() {
	r.cancel()
	r.wg.Wait()
}

// Snapshot returns the cached snapshot, starting a background refresh when
// it has expired. Only when no snapshot was ever loaded does it load one on
// the calling goroutine.
func (r *Registry) Snapshot(ctx context.Context) (*Snapshot, error) {
	s := r.cur.Load()
	if s == nil {
		return r.Refresh(ctx)
	}
	if ttl := r.TTL(); ttl > 0 && r.due(s, ttl) {
		r.refreshInBackground()
	}
	return s, nil
}

// due reports whether s has expired and no refresh failed within the last
// ttl either: a registry that fails to load is retried once per TTL, not
// after every request.
func (r *Registry) due(s *Snapshot, ttl time.Duration) bool {
	now := r.now()
	if now.Sub(s.LoadedAt) < ttl {
		return false
	}
	e := r.lastErr.Load()
	return e == nil || now.Sub(e.at) >= ttl
}

// refreshInBackground starts a refresh unless one is running.
func (r *Registry) refreshInBackground() {
	if r.bg.Err() != nil || !r.background.CompareAndSwap(false, true) {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.background.Store(false)
		r.Refresh(r.bg)
	}()
}

// Cached returns the last loaded snapshot without any I/O, or nil.
func (r *Registry) Cached() *Snapshot { return r.cur.Load() }

// Refresh loads the snapshot from the store, or returns the result of a
// load that started after the call (so that concurrent callers share one
// load). On error the previous snapshot stays in place and the error is
// remembered (LastError).
func (r *Registry) Refresh(ctx context.Context) (*Snapshot, error) {
	want := r.started.Load() + 1
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	if r.completed >= want {
		return r.result, r.resultErr
	}
	r.completed = r.started.Add(1)
	r.result, r.resultErr = r.load(ctx)
	return r.result, r.resultErr
}

func (r *Registry) load(ctx context.Context) (*Snapshot, error) {
	reg, err := r.loadBounded(ctx)
	if err == nil {
		err = r.check(reg)
	}
	if err != nil {
		r.lastErr.Store(&refreshError{err: err, at: r.now()})
		return nil, fmt.Errorf("load registry: %w", err)
	}
	s := NewSnapshot(reg, r.project, r.now())
	r.cur.Store(s)
	r.lastErr.Store(nil)
	return s, nil
}

// loadBounded loads the registry from the store within loadTimeout. The
// store is given the deadline; a store that does not honor it is still
// abandoned at the deadline (its load finishes on its own goroutine and is
// dropped), so that no refresh, and no caller waiting for one, hangs on a
// registry that stopped answering.
func (r *Registry) loadBounded(ctx context.Context) (*core.Registry, error) {
	if r.loadTimeout <= 0 {
		return r.store.Load(ctx, r.project)
	}
	tctx, cancel := context.WithTimeout(ctx, r.loadTimeout)
	defer cancel()
	type result struct {
		reg *core.Registry
		err error
	}
	done := make(chan result, 1)
	go func() {
		reg, err := r.store.Load(tctx, r.project)
		done <- result{reg, err}
	}()
	select {
	case res := <-done:
		if res.err != nil && ctx.Err() == nil && tctx.Err() != nil {
			return nil, &LoadTimeoutError{Timeout: r.loadTimeout, Err: res.err}
		}
		return res.reg, res.err
	case <-tctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &LoadTimeoutError{Timeout: r.loadTimeout, Err: tctx.Err()}
	}
}

// LoadTimeoutError is a registry load that did not end within
// Options.LoadTimeout.
type LoadTimeoutError struct {
	Timeout time.Duration
	Err     error
}

func (e *LoadTimeoutError) Error() string {
	return fmt.Sprintf("the registry did not answer within the registry timeout of %s (FEAST_REGISTRY_TIMEOUT raises it): %v", e.Timeout, e.Err)
}

func (e *LoadTimeoutError) Unwrap() []error { return []error{e.Err, context.DeadlineExceeded} }

// check refuses a loaded registry that must not replace the current
// snapshot: one that has gone missing or empty since a written registry was
// loaded (a deleted or emptied file would otherwise swap every feature for
// a 404), and one whose objects reference objects it does not hold.
func (r *Registry) check(reg *core.Registry) error {
	if prev := r.cur.Load(); prev != nil && prev.Proto.GetLastUpdated() != nil && reg.GetLastUpdated() == nil {
		return fmt.Errorf("the registry is now missing or empty (the one loaded at %s was last updated at %s): "+
			"keeping the last good snapshot; restore the registry or run feast apply",
			prev.LoadedAt.UTC().Format(time.RFC3339), prev.Proto.GetLastUpdated().AsTime().UTC().Format(time.RFC3339))
	}
	return CheckIntegrity(reg, r.project)
}

// LastError returns the error of the latest failed refresh since the last
// successful one, or nil.
func (r *Registry) LastError() error {
	if e := r.lastErr.Load(); e != nil {
		return e.err
	}
	return nil
}

// Run refreshes the snapshot every TTL until ctx is done (or the registry
// is closed); with a TTL of 0 it returns at once. Failures keep the last
// good snapshot and are passed to onError (which may be nil).
func (r *Registry) Run(ctx context.Context, onError func(error)) {
	interval := r.TTL()
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.bg.Done():
			return
		case <-t.C:
			if _, err := r.Refresh(ctx); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// Update changes the registry through the store, then reloads the snapshot
// on the caller's goroutine so that the caller reads its own write. A
// failed reload keeps the previous snapshot (LastError reports it) and does
// not fail the update, which was committed.
func (r *Registry) Update(ctx context.Context, fn func(*core.Registry) error) error {
	if err := r.store.Update(ctx, r.project, fn); err != nil {
		return err
	}
	r.Refresh(ctx)
	return nil
}

// ApplyMaterialization records [start, end] on view, after its data was written.
func (r *Registry) ApplyMaterialization(ctx context.Context, view string, start, end time.Time) error {
	return r.Update(ctx, func(reg *core.Registry) error {
		if !AppendInterval(reg, r.project, view, start, end, r.now()) {
			return fmt.Errorf("record materialization: feature view %q not found in project %q", view, r.project)
		}
		return nil
	})
}

// ResolveFeatureRef parses "view:feature" and finds it, with a suggestion
// of close names when it does not exist.
func (s *Snapshot) ResolveFeatureRef(ref string) (view, feature string, err error) {
	v, f, ok := strings.Cut(ref, ":")
	if !ok || v == "" || f == "" {
		return "", "", fmt.Errorf("feature reference %q must be view:feature", ref)
	}
	if _, ok := s.Features[ref]; ok {
		return v, f, nil
	}
	if o, ok := s.OnDemandViews[v]; ok && o != nil {
		for _, fld := range o.Features {
			if fld.Name == f {
				return v, f, nil
			}
		}
	}
	return "", "", &NotFoundError{Kind: "feature", Name: ref, Project: s.Project, Suggestions: closest(ref, s.FeatureRefNames())}
}

// NotFoundError reports a missing object, with close names when there are some.
type NotFoundError struct {
	Kind, Name, Project string
	Suggestions         []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("%s %q not found in project %q", e.Kind, e.Name, e.Project)
	if len(e.Suggestions) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(quoteAll(e.Suggestions), ", "))
	}
	return msg
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
