package registry

import (
	"context"
	"fmt"
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
			s.OnDemandViews[o.Name] = odfv
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
func (s *Snapshot) FeatureViewNames() []string { return sortedKeys(s.FeatureViews) }

// FeatureRefNames returns every "view:feature" reference, sorted, including
// on-demand features; used for "did you mean" suggestions.
func (s *Snapshot) FeatureRefNames() []string {
	names := sortedKeys(s.Features)
	for _, o := range s.OnDemandViews {
		for _, f := range o.Features {
			names = append(names, o.Name+":"+f.Name)
		}
	}
	sort.Strings(names)
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Registry is a Store plus a cache of the current project's snapshot. It is
// safe for concurrent use. Snapshot serves the cached snapshot until it is
// older than the TTL; a refresh happens on the calling goroutine unless a
// background refresher (Run) keeps it fresh.
type Registry struct {
	store   Store
	project string
	// ttl 0 means the cached snapshot never expires.
	ttl time.Duration
	now func() time.Time

	cur     atomic.Pointer[Snapshot]
	loadMu  sync.Mutex
	lastErr atomic.Pointer[refreshError]
}

type refreshError struct {
	err error
	at  time.Time
}

// Options configures a Registry.
type Options struct {
	// CacheTTL is how long a snapshot is served before reloading; 0 = never expire.
	CacheTTL time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// New wraps store for project.
func New(store Store, project string, opts Options) *Registry {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Registry{store: store, project: project, ttl: opts.CacheTTL, now: now}
}

// Store returns the underlying store.
func (r *Registry) Store() Store { return r.store }

// Project returns the project this registry serves.
func (r *Registry) Project() string { return r.project }

// Snapshot returns the cached snapshot, reloading it first when it is
// missing or expired.
func (r *Registry) Snapshot(ctx context.Context) (*Snapshot, error) {
	if s := r.cur.Load(); s != nil && (r.ttl == 0 || r.now().Sub(s.LoadedAt) < r.ttl) {
		return s, nil
	}
	return r.Refresh(ctx)
}

// Cached returns the last loaded snapshot without any I/O, or nil.
func (r *Registry) Cached() *Snapshot { return r.cur.Load() }

// Refresh reloads the snapshot from the store. On error the previous
// snapshot stays in place and the error is remembered (LastError).
func (r *Registry) Refresh(ctx context.Context) (*Snapshot, error) {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	reg, err := r.store.Load(ctx, r.project)
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

// Run refreshes the snapshot every interval until ctx is done. Failures keep
// the last good snapshot and are passed to onError (which may be nil).
func (r *Registry) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.Refresh(ctx); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// Update changes the registry through the store and drops the cache.
func (r *Registry) Update(ctx context.Context, fn func(*core.Registry) error) error {
	err := r.store.Update(ctx, r.project, fn)
	r.cur.Store(nil)
	return err
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
