package registry

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/proto/feast/core"
)

// Kind names an object type as Feast's plan output does.
type Kind string

// Object kinds, in the order plan prints them.
const (
	KindProject        Kind = "project"
	KindDataSource     Kind = "data source"
	KindEntity         Kind = "entity"
	KindFeatureView    Kind = "feature view"
	KindOnDemandView   Kind = "on demand feature view"
	KindStreamView     Kind = "stream feature view"
	KindFeatureService Kind = "feature service"
	KindPermission     Kind = "permission"
)

// Kinds lists the kinds plan and apply manage, in dependency order
// (permissions refer to other objects only by name pattern, so they come
// last).
var Kinds = []Kind{KindDataSource, KindEntity, KindFeatureView, KindStreamView, KindOnDemandView, KindFeatureService, KindPermission}

// Object is one registry object of a project, as a proto message.
type Object struct {
	Kind Kind
	Name string
	Msg  proto.Message
}

// Objects returns every managed object of project in r.
func Objects(r *core.Registry, project string) []Object {
	var out []Object
	for _, m := range r.DataSources {
		if m.GetProject() == project {
			out = append(out, Object{KindDataSource, m.GetName(), m})
		}
	}
	for _, m := range r.Entities {
		if m.GetSpec().GetProject() == project {
			out = append(out, Object{KindEntity, m.GetSpec().GetName(), m})
		}
	}
	for _, m := range r.FeatureViews {
		if m.GetSpec().GetProject() == project {
			out = append(out, Object{KindFeatureView, m.GetSpec().GetName(), m})
		}
	}
	for _, m := range r.StreamFeatureViews {
		if m.GetSpec().GetProject() == project {
			out = append(out, Object{KindStreamView, m.GetSpec().GetName(), m})
		}
	}
	for _, m := range r.OnDemandFeatureViews {
		if m.GetSpec().GetProject() == project {
			out = append(out, Object{KindOnDemandView, m.GetSpec().GetName(), m})
		}
	}
	for _, m := range r.FeatureServices {
		if m.GetSpec().GetProject() == project {
			out = append(out, Object{KindFeatureService, m.GetSpec().GetName(), m})
		}
	}
	for _, m := range r.Permissions {
		if m.GetSpec().GetProject() == project {
			out = append(out, Object{KindPermission, m.GetSpec().GetName(), m})
		}
	}
	return out
}

// Put inserts or replaces (by kind and name) an object of project.
func Put(r *core.Registry, o Object) {
	switch m := o.Msg.(type) {
	case *core.DataSource:
		r.DataSources = putIn(r.DataSources, m, func(x *core.DataSource) bool { return x.GetProject() == m.GetProject() && x.GetName() == m.GetName() })
	case *core.Entity:
		r.Entities = putIn(r.Entities, m, func(x *core.Entity) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), m.GetSpec().GetProject(), m.GetSpec().GetName())
		})
	case *core.FeatureView:
		r.FeatureViews = putIn(r.FeatureViews, m, func(x *core.FeatureView) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), m.GetSpec().GetProject(), m.GetSpec().GetName())
		})
	case *core.StreamFeatureView:
		r.StreamFeatureViews = putIn(r.StreamFeatureViews, m, func(x *core.StreamFeatureView) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), m.GetSpec().GetProject(), m.GetSpec().GetName())
		})
	case *core.OnDemandFeatureView:
		r.OnDemandFeatureViews = putIn(r.OnDemandFeatureViews, m, func(x *core.OnDemandFeatureView) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), m.GetSpec().GetProject(), m.GetSpec().GetName())
		})
	case *core.FeatureService:
		r.FeatureServices = putIn(r.FeatureServices, m, func(x *core.FeatureService) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), m.GetSpec().GetProject(), m.GetSpec().GetName())
		})
	case *core.Permission:
		r.Permissions = putIn(r.Permissions, m, func(x *core.Permission) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), m.GetSpec().GetProject(), m.GetSpec().GetName())
		})
	default:
		panic(fmt.Sprintf("registry.Put: unsupported message %T", o.Msg))
	}
}

// Remove deletes the object of project with the kind and name, if present.
func Remove(r *core.Registry, project string, kind Kind, name string) {
	switch kind {
	case KindDataSource:
		r.DataSources = removeFrom(r.DataSources, func(x *core.DataSource) bool { return x.GetProject() == project && x.GetName() == name })
	case KindEntity:
		r.Entities = removeFrom(r.Entities, func(x *core.Entity) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), project, name)
		})
	case KindFeatureView:
		r.FeatureViews = removeFrom(r.FeatureViews, func(x *core.FeatureView) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), project, name)
		})
	case KindStreamView:
		r.StreamFeatureViews = removeFrom(r.StreamFeatureViews, func(x *core.StreamFeatureView) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), project, name)
		})
	case KindOnDemandView:
		r.OnDemandFeatureViews = removeFrom(r.OnDemandFeatureViews, func(x *core.OnDemandFeatureView) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), project, name)
		})
	case KindFeatureService:
		r.FeatureServices = removeFrom(r.FeatureServices, func(x *core.FeatureService) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), project, name)
		})
	case KindPermission:
		r.Permissions = removeFrom(r.Permissions, func(x *core.Permission) bool {
			return sameSpec(x.GetSpec().GetProject(), x.GetSpec().GetName(), project, name)
		})
	}
}

// DeleteProject removes every object that belongs to project, including its
// project record, metadata and infra.
func DeleteProject(r *core.Registry, project string) {
	for _, o := range Objects(r, project) {
		Remove(r, project, o.Kind, o.Name)
	}
	r.SavedDatasets = removeFrom(r.SavedDatasets, func(x *core.SavedDataset) bool { return x.GetSpec().GetProject() == project })
	r.ValidationReferences = removeFrom(r.ValidationReferences, func(x *core.ValidationReference) bool { return x.GetProject() == project })
	r.Permissions = removeFrom(r.Permissions, func(x *core.Permission) bool { return x.GetSpec().GetProject() == project })
	r.LabelViews = removeFrom(r.LabelViews, func(x *core.LabelView) bool { return x.GetSpec().GetProject() == project })
	r.Projects = removeFrom(r.Projects, func(x *core.Project) bool { return x.GetSpec().GetName() == project })
	SetInfra(r, project, nil)
	//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
	r.ProjectMetadata = removeFrom(r.ProjectMetadata, func(x *core.ProjectMetadata) bool { return x.GetProject() == project })
}

// EnsureProject records project in r (Project and the legacy ProjectMetadata)
// if it is not there yet.
func EnsureProject(r *core.Registry, project, description, uuid string, now time.Time) {
	found := false
	for _, p := range r.Projects {
		if p.GetSpec().GetName() == project {
			found = true
			if description != "" && p.GetSpec().GetDescription() != description {
				p.Spec.Description = description
				p.Meta.LastUpdatedTimestamp = timestamppb.New(now)
			}
		}
	}
	if !found {
		r.Projects = append(r.Projects, &core.Project{
			Spec: &core.ProjectSpec{Name: project, Description: description},
			Meta: &core.ProjectMeta{CreatedTimestamp: timestamppb.New(now), LastUpdatedTimestamp: timestamppb.New(now)},
		})
	}
	//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
	for _, m := range r.ProjectMetadata {
		if m.GetProject() == project {
			return
		}
	}
	//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
	r.ProjectMetadata = append(r.ProjectMetadata, &core.ProjectMetadata{Project: project, ProjectUuid: uuid})
}

// AppendInterval records a materialization interval on the named feature
// view (or stream feature view) of project and marks it available online,
// as Feast's apply_materialization does. It reports whether the view exists.
func AppendInterval(r *core.Registry, project, view string, start, end, now time.Time) bool {
	iv := &core.MaterializationInterval{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)}
	for _, fv := range r.FeatureViews {
		if sameSpec(fv.GetSpec().GetProject(), fv.GetSpec().GetName(), project, view) {
			if fv.Meta == nil {
				fv.Meta = &core.FeatureViewMeta{}
			}
			fv.Meta.MaterializationIntervals = append(fv.Meta.MaterializationIntervals, iv)
			fv.Meta.State = core.FeatureViewState_AVAILABLE_ONLINE
			fv.Meta.LastUpdatedTimestamp = timestamppb.New(now)
			return true
		}
	}
	for _, fv := range r.StreamFeatureViews {
		if sameSpec(fv.GetSpec().GetProject(), fv.GetSpec().GetName(), project, view) {
			if fv.Meta == nil {
				fv.Meta = &core.FeatureViewMeta{}
			}
			fv.Meta.MaterializationIntervals = append(fv.Meta.MaterializationIntervals, iv)
			fv.Meta.State = core.FeatureViewState_AVAILABLE_ONLINE
			fv.Meta.LastUpdatedTimestamp = timestamppb.New(now)
			return true
		}
	}
	return false
}

// SetInfra replaces the infra objects of the registry that belong to
// project's tables (by name prefix "<project>_") with objs.
func SetInfra(r *core.Registry, project string, objs []*core.InfraObject) {
	if r.Infra == nil {
		r.Infra = &core.Infra{}
	}
	prefix := project + "_"
	kept := r.Infra.InfraObjects[:0]
	for _, o := range r.Infra.InfraObjects {
		if t := o.GetSqliteTable(); t != nil && len(t.GetName()) > len(prefix) && t.GetName()[:len(prefix)] == prefix {
			continue
		}
		kept = append(kept, o)
	}
	r.Infra.InfraObjects = append(kept, objs...)
}

func sameSpec(p1, n1, p2, n2 string) bool { return p1 == p2 && n1 == n2 }

func putIn[T any](xs []T, m T, match func(T) bool) []T {
	for i, x := range xs {
		if match(x) {
			xs[i] = m
			return xs
		}
	}
	return append(xs, m)
}

func removeFrom[T any](xs []T, match func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if !match(x) {
			out = append(out, x)
		}
	}
	return out
}
