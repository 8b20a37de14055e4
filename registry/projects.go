package registry

import (
	"context"
	"sort"

	"github.com/feastgo/feast/proto/feast/core"
)

// projectLister is implemented by stores that can enumerate every project
// they hold (the SQL registry; the file registry holds them all in one
// Load). records are the stored Project records; unrecorded names projects
// that own objects but have no record (written before records existed).
type projectLister interface {
	ListProjects(ctx context.Context) (records []*core.Project, unrecorded []string, err error)
}

// ProjectInfo is one project of a registry (`feast projects list`, the
// UI's project list).
type ProjectInfo struct {
	Name, Description, Owner string
	Tags                     map[string]string
	// Proto is the project record; nil when the project has objects but
	// no record (registries written before records existed).
	Proto *core.Project
}

// ListProjects lists the projects of store, sorted by name. A store that
// cannot enumerate projects (neither a file nor a SQL registry) reports
// what a Load of the current project shows; partial says so.
func ListProjects(ctx context.Context, store Store, current string) (out []ProjectInfo, partial bool, err error) {
	byName := map[string]*ProjectInfo{}
	add := func(name string) *ProjectInfo {
		if p, ok := byName[name]; ok {
			return p
		}
		p := &ProjectInfo{Name: name}
		byName[name] = p
		return p
	}
	addRecord := func(p *core.Project) {
		i := add(p.GetSpec().GetName())
		i.Description, i.Owner, i.Tags, i.Proto = p.GetSpec().GetDescription(), p.GetSpec().GetOwner(), p.GetSpec().GetTags(), p
	}
	if l, ok := store.(projectLister); ok {
		ps, names, err := l.ListProjects(ctx)
		if err != nil {
			return nil, false, err
		}
		for _, p := range ps {
			addRecord(p)
		}
		for _, name := range names {
			add(name)
		}
	} else {
		r, err := store.Load(ctx, current)
		if err != nil {
			return nil, false, err
		}
		_, isFile := store.(*FileStore)
		partial = !isFile
		for _, p := range r.Projects {
			addRecord(p)
		}
		// Registries written before project records existed (and Feast's
		// legacy metadata) still name their projects.
		//lint:ignore SA1019 Feast still reads and writes the legacy project_metadata (the project UUID)
		for _, m := range r.ProjectMetadata {
			add(m.GetProject())
		}
		for _, name := range objectProjects(r) {
			add(name)
		}
	}
	for _, p := range byName {
		if p.Name != "" {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, partial, nil
}

// objectProjects lists the projects that own at least one object in r.
func objectProjects(r *core.Registry) []string {
	seen := map[string]bool{}
	for _, m := range r.DataSources {
		seen[m.GetProject()] = true
	}
	for _, m := range r.Entities {
		seen[m.GetSpec().GetProject()] = true
	}
	for _, m := range r.FeatureViews {
		seen[m.GetSpec().GetProject()] = true
	}
	for _, m := range r.StreamFeatureViews {
		seen[m.GetSpec().GetProject()] = true
	}
	for _, m := range r.OnDemandFeatureViews {
		seen[m.GetSpec().GetProject()] = true
	}
	for _, m := range r.FeatureServices {
		seen[m.GetSpec().GetProject()] = true
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	return out
}
