package feast

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	// Warnings are things the plan ignored that the user should know about
	// (Feast Python files next to YAML definitions), for the CLI to print.
	Warnings []string
	// RepoID is the identity of the feature repository planned (see
	// FeatureStore.RepoID), recorded on every object apply writes.
	RepoID diff.RepoID
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

// PlanRepo compares already loaded definitions with the registry. It
// refuses a repository that holds Feast Python definitions and no YAML
// definitions (see PythonOnlyError).
func (fs *FeatureStore) PlanRepo(ctx context.Context, repo *definitions.Repo) (*Plan, error) {
	if err := fs.checkPython(repo); err != nil {
		return nil, err
	}
	current, err := fs.registry.Store().Load(ctx, fs.cfg.Project)
	if err == nil {
		err = registry.CheckIntegrity(current, fs.cfg.Project)
	}
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	rid, err := fs.RepoID()
	if err != nil {
		return nil, err
	}
	desired := diff.DesiredFor(repo, fs.cfg.Project, rid.ID)
	p := &Plan{Plan: diff.ComputeFor(current, fs.cfg.Project, desired, rid.ID), Repo: repo, RepoID: rid}
	if len(repo.PythonFiles) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("ignoring Feast Python definition files (%s): feast-go reads only YAML definitions; "+
			"convert them with \"feast import\" (see docs/migrating.md), or move them out of the repository", fileList(repo.PythonFiles)))
	}
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

// PythonOnlyError is returned by planning and applying a repository that
// holds Feast Python definition files and no YAML definitions: applying it
// would delete every object of the project from the registry.
type PythonOnlyError struct {
	Repo, Project string
	Files         []string // the Python files, relative to Repo
}

func (e *PythonOnlyError) Error() string {
	return fmt.Sprintf("feature repository %s holds Feast Python definitions (%s) and no YAML definitions: "+
		"refusing to plan or apply, which would delete every object of project %q from the registry. "+
		"Convert them with \"feast import\" (see docs/migrating.md), or move them out of the repository",
		e.Repo, fileList(e.Files), e.Project)
}

// fileList names up to three files, then how many more there are.
func fileList(files []string) string {
	const show = 3
	if len(files) <= show {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(files[:show], ", "), len(files)-show)
}

func (fs *FeatureStore) checkPython(repo *definitions.Repo) error {
	if len(repo.PythonFiles) > 0 && repo.Empty() {
		return &PythonOnlyError{Repo: fs.cfg.RepoPath, Project: fs.cfg.Project, Files: repo.PythonFiles}
	}
	return nil
}

// RepoID returns the identity of this feature repository, which apply
// records in the diff.RepoTag of every object it writes, and which decides
// whose objects a plan may delete: $FEAST_REPO_ID, else the git remote of
// the repository's checkout (and its folder in it), else the repository's
// absolute path (see diff.RepoIdentity). A store opened without a
// repository path has none (only the managed-by tag counts).
func (fs *FeatureStore) RepoID() (diff.RepoID, error) {
	if fs.cfg.RepoPath == "" {
		return diff.RepoID{}, nil
	}
	return diff.RepoIdentity(fs.cfg.RepoPath)
}

// UnmanagedError is returned by Apply and Teardown when they would delete
// registry objects that feast-go did not create (objects without the
// diff.ManagedByTag: written by Python Feast, another tool sharing the
// registry, or a feast-go older than the tag) or that another feature
// repository applied (a diff.RepoTag other than Repo), and deleting them
// was not allowed.
type UnmanagedError struct {
	Project string
	Objects []string // e.g. "feature view driver_stats", or `feature view driver_stats (applied from repository "github.com/acme/other")`
	// Repo is this repository's identity; OtherRepos counts the objects
	// another repository applied.
	Repo       diff.RepoID
	OtherRepos int
	// Teardown is set when the error comes from Teardown.
	Teardown bool
}

func (e *UnmanagedError) Error() string {
	const show = 10
	list, more := e.Objects, ""
	if len(list) > show {
		more = fmt.Sprintf(" and %d more", len(list)-show)
		list = list[:show]
	}
	what, keep := "apply", "Define them in the repository to keep them, or pass"
	if e.Teardown {
		what, keep = "teardown", "Pass"
	}
	if e.OtherRepos == 0 {
		return fmt.Sprintf("%s refuses to delete %d object(s) of project %q that feast-go did not create (no %q tag; Python Feast or another tool may own them): %s%s. "+
			"%s --allow-delete-unmanaged to delete them",
			what, len(e.Objects), e.Project, diff.ManagedByTag+": "+diff.ManagedByValue, strings.Join(list, ", "), more, keep)
	}
	whose := "another feature repository applied"
	if e.OtherRepos < len(e.Objects) {
		whose = "feast-go did not create (no " + strconv.Quote(diff.ManagedByTag+": "+diff.ManagedByValue) + " tag) or another feature repository applied"
	}
	return fmt.Sprintf("%s refuses to delete %d object(s) of project %q that %s (their %s tag is not this repository's %q, from %s; "+
		"if both are one repository, set %s to one name in both places): %s%s. %s --allow-delete-unmanaged to delete them",
		what, len(e.Objects), e.Project, whose, diff.RepoTag, e.Repo.ID, e.Repo.From, diff.RepoIDEnv, strings.Join(list, ", "), more, keep)
}

func unmanagedError(project string, rid diff.RepoID, objs []diff.ObjectDiff) error {
	if len(objs) == 0 {
		return nil
	}
	e := &UnmanagedError{Project: project, Repo: rid}
	for _, o := range objs {
		e.Objects = append(e.Objects, objectLabel(string(o.Kind), o.Name, o.OtherRepo))
		if o.OtherRepo != "" {
			e.OtherRepos++
		}
	}
	return e
}

// objectLabel names an object in an UnmanagedError, with the repository
// that applied it when that is another one.
func objectLabel(kind, name, otherRepo string) string {
	if otherRepo == "" {
		return kind + " " + name
	}
	return fmt.Sprintf("%s %s (applied from repository %q)", kind, name, otherRepo)
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// AllowDeleteUnmanaged lets Apply delete objects the repository no
	// longer defines even when feast-go did not create them (they lack
	// the diff.ManagedByTag). Without it Apply fails with an
	// *UnmanagedError before changing anything.
	AllowDeleteUnmanaged bool
}

// Apply carries out a plan: it creates online tables for new views, commits
// every registry change in one atomic update, and only then drops the
// tables of removed views, so a failure never leaves the registry pointing
// at missing infrastructure. It deletes only objects feast-go created (see
// ApplyOptions.AllowDeleteUnmanaged), checking again inside the atomic
// update against the registry as it is then.
func (fs *FeatureStore) Apply(ctx context.Context, p *Plan, opts ...ApplyOptions) error {
	var opt ApplyOptions
	for _, o := range opts {
		opt.AllowDeleteUnmanaged = opt.AllowDeleteUnmanaged || o.AllowDeleteUnmanaged
	}
	if err := fs.checkPython(p.Repo); err != nil {
		return err
	}
	rid, err := fs.RepoID()
	if err != nil {
		return err
	}
	if p.Plan != nil && !opt.AllowDeleteUnmanaged {
		if err := unmanagedError(fs.cfg.Project, rid, p.UnmanagedDeletes()); err != nil {
			return err
		}
	}
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
	err = fs.registry.Update(ctx, func(r *core.Registry) error {
		if err := registry.CheckIntegrity(r, fs.cfg.Project); err != nil {
			return err
		}
		// Recompute against the registry as it is inside the update, so a
		// concurrent apply's changes are not overwritten with stale meta.
		latest := diff.ComputeFor(r, fs.cfg.Project, diff.DesiredFor(p.Repo, fs.cfg.Project, rid.ID), rid.ID)
		if !opt.AllowDeleteUnmanaged {
			if err := unmanagedError(fs.cfg.Project, rid, latest.UnmanagedDeletes()); err != nil {
				return err
			}
		}
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
	case *core.Permission:
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
	case *core.Permission:
		x.Meta = &core.PermissionMeta{CreatedTimestamp: created, LastUpdatedTimestamp: updated}
	}
}

// TeardownOptions tune Teardown.
type TeardownOptions struct {
	// AllowDeleteUnmanaged lets Teardown delete the project even when it
	// holds objects feast-go did not create (see ApplyOptions).
	AllowDeleteUnmanaged bool
}

// Teardown removes the project's online data and registry objects. When
// the project holds objects feast-go did not create (objects, permissions
// included, without the diff.ManagedByTag; saved datasets, validation
// references, label views) it fails with an *UnmanagedError before
// removing anything, unless TeardownOptions.AllowDeleteUnmanaged is set.
func (fs *FeatureStore) Teardown(ctx context.Context, opts ...TeardownOptions) error {
	current, err := fs.registry.Store().Load(ctx, fs.cfg.Project)
	if err != nil {
		return fmt.Errorf("load registry: %w", err)
	}
	allow := false
	for _, o := range opts {
		allow = allow || o.AllowDeleteUnmanaged
	}
	rid, err := fs.RepoID()
	if err != nil {
		return err
	}
	if objs, others := unmanagedObjects(current, fs.cfg.Project, rid.ID); len(objs) > 0 && !allow {
		return &UnmanagedError{Project: fs.cfg.Project, Objects: objs, Repo: rid, OtherRepos: others, Teardown: true}
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

// unmanagedObjects lists the objects of project that feast-go did not
// create: objects of the kinds apply manages (permissions included)
// without the managed-by tag (the dummy entity aside) or applied by a
// repository other than repo (others counts those), and every saved
// dataset, validation reference and label view, which feast-go never
// writes.
func unmanagedObjects(r *core.Registry, project, repo string) (out []string, others int) {
	for _, o := range registry.Objects(r, project) {
		if foreign, other := diff.Foreign(o.Msg, o.Kind, o.Name, repo); foreign {
			out = append(out, objectLabel(string(o.Kind), o.Name, other))
			if other != "" {
				others++
			}
		}
	}
	for _, m := range r.GetSavedDatasets() {
		if m.GetSpec().GetProject() == project {
			out = append(out, "saved dataset "+m.GetSpec().GetName())
		}
	}
	for _, m := range r.GetValidationReferences() {
		if m.GetProject() == project {
			out = append(out, "validation reference "+m.GetName())
		}
	}
	for _, m := range r.GetLabelViews() {
		if m.GetSpec().GetProject() == project {
			out = append(out, "label view "+m.GetSpec().GetName())
		}
	}
	return out, others
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
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
