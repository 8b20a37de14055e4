package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/feastgo/feast/proto/feast/core"
)

// dummyEntity is Feast's DUMMY_ENTITY name, which entity-less feature views
// list; registries written by some Feast versions do not store it.
const dummyEntity = "__dummy"

// IntegrityError lists the references of a project's objects that point at
// objects the registry does not hold.
type IntegrityError struct {
	Project string
	Missing []string // sorted, e.g. `feature view "a" uses entity "b"`
}

func (e *IntegrityError) Error() string {
	const show = 10
	list := e.Missing
	more := ""
	if len(list) > show {
		more = fmt.Sprintf("; and %d more", len(list)-show)
		list = list[:show]
	}
	return fmt.Sprintf("registry of project %q is inconsistent: %s%s, which it does not hold "+
		"(was it truncated or written by another tool? restore it from a backup, or fix the objects with the tool that wrote them)",
		e.Project, strings.Join(list, "; "), more)
}

// CheckIntegrity reports (as *IntegrityError) every reference between
// objects of project in r that points at an object r does not hold: the
// entities and data sources of feature views, the source views of
// on-demand views, and the views of feature services. (Request sources are
// carried whole inside on-demand views, and Feast does not always register
// them as data sources, so they are not checked.) A
// registry written by a complete apply always passes; one that was cut
// short or edited by hand may not, and serving or planning against it
// would silently drop what it lost.
func CheckIntegrity(r *core.Registry, project string) error {
	entities := map[string]bool{dummyEntity: true}
	sources := map[string]bool{}
	views := map[string]bool{}
	for _, o := range Objects(r, project) {
		switch o.Kind {
		case KindEntity:
			entities[o.Name] = true
		case KindDataSource:
			sources[o.Name] = true
		case KindFeatureView, KindStreamView, KindOnDemandView:
			views[o.Name] = true
		}
	}
	var missing []string
	need := func(ok bool, format string, args ...any) {
		if !ok {
			missing = append(missing, fmt.Sprintf(format, args...))
		}
	}
	needSource := func(kind, view string, ds *core.DataSource) {
		if name := ds.GetName(); name != "" {
			need(sources[name], "%s %q uses data source %q", kind, view, name)
		}
	}
	for _, m := range r.FeatureViews {
		s := m.GetSpec()
		if s.GetProject() != project {
			continue
		}
		for _, e := range s.GetEntities() {
			need(entities[e], "feature view %q uses entity %q", s.GetName(), e)
		}
		needSource("feature view", s.GetName(), s.GetBatchSource())
		needSource("feature view", s.GetName(), s.GetStreamSource())
	}
	for _, m := range r.StreamFeatureViews {
		s := m.GetSpec()
		if s.GetProject() != project {
			continue
		}
		for _, e := range s.GetEntities() {
			need(entities[e], "stream feature view %q uses entity %q", s.GetName(), e)
		}
		needSource("stream feature view", s.GetName(), s.GetBatchSource())
		needSource("stream feature view", s.GetName(), s.GetStreamSource())
	}
	for _, m := range r.OnDemandFeatureViews {
		s := m.GetSpec()
		if s.GetProject() != project {
			continue
		}
		for _, src := range s.GetSources() {
			switch {
			case src.GetFeatureView() != nil:
				name := src.GetFeatureView().GetSpec().GetName()
				need(views[name], "on demand feature view %q uses feature view %q", s.GetName(), name)
			case src.GetFeatureViewProjection() != nil:
				name := src.GetFeatureViewProjection().GetFeatureViewName()
				need(views[name], "on demand feature view %q uses feature view %q", s.GetName(), name)
			}
		}
	}
	for _, m := range r.FeatureServices {
		s := m.GetSpec()
		if s.GetProject() != project {
			continue
		}
		for _, p := range s.GetFeatures() {
			need(views[p.GetFeatureViewName()], "feature service %q uses feature view %q", s.GetName(), p.GetFeatureViewName())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return &IntegrityError{Project: project, Missing: missing}
}
