package feast

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// Plan is what Apply would do: the registry diff and the infrastructure diff.
type Plan struct {
	*diff.Plan
	// Repo is the validated repository the plan was computed from.
	Repo *definitions.Repo
	// keep and drop are the online views to create/update and remove.
	keep, drop []*model.FeatureView
}

// Plan reads the definitions and compares them with the registry.
func (fs *FeatureStore) Plan(ctx context.Context) (*Plan, error) {
	repo, err := fs.LoadDefinitions()
	if err != nil {
		return nil, err
	}
	return fs.PlanRepo(ctx, repo)
}

// PlanRepo compares already loaded definitions with the registry.
func (fs *FeatureStore) PlanRepo(ctx context.Context, repo *definitions.Repo) (*Plan, error) {
	current, err := fs.registry.Store().Load(ctx, fs.cfg.Project)
	if err == nil {
		err = registry.CheckIntegrity(current, fs.cfg.Project)
	}
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	desired := diff.Desired(repo, fs.cfg.Project)
	p := &Plan{Plan: diff.Compute(current, fs.cfg.Project, desired), Repo: repo}
	if fs.cfg.OnlineStore.Type == "none" {
		return p, nil
	}
	store, err := fs.OnlineStore(ctx)
	if err != nil {
		return nil, err
	}
	currentOnline := map[string]*model.FeatureView{}
	snap := registry.NewSnapshot(current, fs.cfg.Project, fs.now())
	for _, fv := range storedViews(snap) {
		currentOnline[fv.Name] = fv
	}
	repoViews := map[string]*model.FeatureView{}
	for _, fv := range repo.FeatureViews {
		repoViews[fv.Name] = fv
	}
	desiredOnline := slices.Clone(repo.FeatureViews)
	for _, o := range repo.OnDemandViews {
		if sv, ok := o.StoredView(func(n string) *model.FeatureView { return repoViews[n] }); ok {
			desiredOnline = append(desiredOnline, sv)
		}
	}
	for _, fv := range desiredOnline {
		if !fv.Online || fv.Disabled {
			continue
		}
		p.keep = append(p.keep, fv)
		if _, ok := currentOnline[fv.Name]; !ok {
			if name := store.InfraName(fs.cfg.Project, fv); name != "" {
				p.Infra = append(p.Infra, diff.InfraDiff{Action: diff.Create, Name: name})
			}
		}
		delete(currentOnline, fv.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(currentOnline)) {
		fv := currentOnline[name]
		p.drop = append(p.drop, fv)
		if n := store.InfraName(fs.cfg.Project, fv); n != "" {
			p.Infra = append(p.Infra, diff.InfraDiff{Action: diff.Delete, Name: n})
		}
	}
	return p, nil
}

// Apply carries out a plan: it creates online tables for new views, commits
// every registry change in one atomic update, and only then drops the
// tables of removed views, so a failure never leaves the registry pointing
// at missing infrastructure.
func (fs *FeatureStore) Apply(ctx context.Context, p *Plan) error {
	var store interface {
		Update(context.Context, string, []*model.FeatureView, []*model.FeatureView) error
	}
	if fs.cfg.OnlineStore.Type != "none" {
		s, err := fs.OnlineStore(ctx)
		if err != nil {
			return err
		}
		store = s
		if err := s.Update(ctx, fs.cfg.Project, p.keep, nil); err != nil {
			return fmt.Errorf("update online store: %w", err)
		}
	}
	now := fs.now()
	err := fs.registry.Update(ctx, func(r *core.Registry) error {
		if err := registry.CheckIntegrity(r, fs.cfg.Project); err != nil {
			return err
		}
		// Recompute against the registry as it is inside the update, so a
		// concurrent apply's changes are not overwritten with stale meta.
		latest := diff.Compute(r, fs.cfg.Project, diff.Desired(p.Repo, fs.cfg.Project))
		for _, o := range latest.Objects {
			switch o.Action {
			case diff.Create:
				registry.Put(r, registry.Object{Kind: o.Kind, Name: o.Name, Msg: stampNew(o.Desired, now)})
			case diff.Update:
				registry.Put(r, registry.Object{Kind: o.Kind, Name: o.Name, Msg: carryMeta(o.Current, o.Desired, now)})
			case diff.Delete:
				registry.Remove(r, fs.cfg.Project, o.Kind, o.Name)
			}
		}
		registry.EnsureProject(r, fs.cfg.Project, fs.cfg.ProjectDescription, uuid.NewString(), now)
		if fs.cfg.OnlineStore.Type == "sqlite" {
			var objs []*core.InfraObject
			for _, fv := range p.keep {
				objs = append(objs, &core.InfraObject{
					InfraObjectClassType: "feast.infra.online_stores.sqlite.SqliteTable",
					InfraObject: &core.InfraObject_SqliteTable{SqliteTable: &core.SqliteTable{
						Path: fs.cfg.ResolvePath(fs.cfg.OnlineStore.SQLite.Path), Name: fs.cfg.Project + "_" + fv.Name,
					}},
				})
			}
			registry.SetInfra(r, fs.cfg.Project, objs)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit registry: %w", err)
	}
	if store != nil && len(p.drop) > 0 {
		if err := store.Update(ctx, fs.cfg.Project, nil, p.drop); err != nil {
			return fmt.Errorf("registry updated, but dropping online tables of removed views failed (re-run apply to retry): %w", err)
		}
	}
	return nil
}

// stampNew sets created and updated timestamps on a new object.
func stampNew(m proto.Message, now time.Time) proto.Message {
	c := proto.Clone(m)
	setMeta(c, timestamppb.New(now), timestamppb.New(now))
	return c
}

// carryMeta builds the updated object: desired spec, the current object's
// creation time, materialization intervals and state, and a new update time.
func carryMeta(current, desired proto.Message, now time.Time) proto.Message {
	c := proto.Clone(desired)
	var created *timestamppb.Timestamp
	switch cur := current.(type) {
	case *core.FeatureView:
		created = cur.GetMeta().GetCreatedTimestamp()
		d := c.(*core.FeatureView)
		d.Meta.MaterializationIntervals = cur.GetMeta().GetMaterializationIntervals()
		d.Meta.State = cur.GetMeta().GetState()
	case *core.StreamFeatureView:
		created = cur.GetMeta().GetCreatedTimestamp()
		d := c.(*core.StreamFeatureView)
		d.Meta.MaterializationIntervals = cur.GetMeta().GetMaterializationIntervals()
		d.Meta.State = cur.GetMeta().GetState()
	case *core.Entity:
		created = cur.GetMeta().GetCreatedTimestamp()
	case *core.OnDemandFeatureView:
		created = cur.GetMeta().GetCreatedTimestamp()
	case *core.FeatureService:
		created = cur.GetMeta().GetCreatedTimestamp()
	case *core.DataSource:
		created = cur.GetMeta().GetCreatedTimestamp()
	}
	if created == nil {
		created = timestamppb.New(now)
	}
	setMeta(c, created, timestamppb.New(now))
	return c
}

func setMeta(m proto.Message, created, updated *timestamppb.Timestamp) {
	switch x := m.(type) {
	case *core.Entity:
		x.Meta = &core.EntityMeta{CreatedTimestamp: created, LastUpdatedTimestamp: updated}
	case *core.FeatureView:
		if x.Meta == nil {
			x.Meta = &core.FeatureViewMeta{}
		}
		x.Meta.CreatedTimestamp, x.Meta.LastUpdatedTimestamp = created, updated
	case *core.StreamFeatureView:
		if x.Meta == nil {
			x.Meta = &core.FeatureViewMeta{}
		}
		x.Meta.CreatedTimestamp, x.Meta.LastUpdatedTimestamp = created, updated
	case *core.OnDemandFeatureView:
		x.Meta = &core.OnDemandFeatureViewMeta{CreatedTimestamp: created, LastUpdatedTimestamp: updated}
	case *core.FeatureService:
		x.Meta = &core.FeatureServiceMeta{CreatedTimestamp: created, LastUpdatedTimestamp: updated}
	case *core.DataSource:
		x.Meta = &core.DataSource_SourceMeta{CreatedTimestamp: created, LastUpdatedTimestamp: updated}
	}
}

// Teardown removes the project's online data and registry objects.
func (fs *FeatureStore) Teardown(ctx context.Context) error {
	current, err := fs.registry.Store().Load(ctx, fs.cfg.Project)
	if err != nil {
		return fmt.Errorf("load registry: %w", err)
	}
	snap := registry.NewSnapshot(current, fs.cfg.Project, fs.now())
	if fs.cfg.OnlineStore.Type != "none" {
		store, err := fs.OnlineStore(ctx)
		if err != nil {
			return err
		}
		var views []*model.FeatureView
		for _, name := range snap.FeatureViewNames() {
			views = append(views, snap.FeatureViews[name])
		}
		views = append(views, storedOnDemandViews(snap)...)
		if err := store.Teardown(ctx, fs.cfg.Project, views); err != nil {
			return fmt.Errorf("teardown online store: %w", err)
		}
	}
	if err := fs.registry.Store().Delete(ctx, fs.cfg.Project); err != nil {
		return fmt.Errorf("teardown registry: %w", err)
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// storedViews are what a snapshot keeps in the online store: its online,
// enabled feature views and the stored form of its on-demand views with
// write_to_online_store.
func storedViews(snap *registry.Snapshot) []*model.FeatureView {
	var out []*model.FeatureView
	for _, name := range snap.FeatureViewNames() {
		if fv := snap.FeatureViews[name]; fv.Online && !fv.Disabled {
			out = append(out, fv)
		}
	}
	return append(out, storedOnDemandViews(snap)...)
}

// storedOnDemandViews are the stored forms of a snapshot's on-demand views
// with write_to_online_store.
func storedOnDemandViews(snap *registry.Snapshot) []*model.FeatureView {
	var out []*model.FeatureView
	for _, name := range slices.Sorted(maps.Keys(snap.OnDemandViews)) {
		if sv, ok := snap.OnDemandViews[name].StoredView(func(n string) *model.FeatureView { return snap.FeatureViews[n] }); ok {
			out = append(out, sv)
		}
	}
	return out
}
