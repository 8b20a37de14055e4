package ui

import (
	"context"
	"net/http"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/registry"
)

// projectList is the registry's projects, listed once per catalog
// (registry.ListProjects, the code of feast projects list).
type projectList struct {
	items   []registry.ProjectInfo
	partial bool
	err     error
}

// projects lists the registry's projects on first use of the catalog.
func (u *UI) projects(ctx context.Context, c *catalog) *projectList {
	c.projectsOnce.Do(func() {
		p := &projectList{}
		p.items, p.partial, p.err = registry.ListProjects(ctx, u.fs.Registry().Store(), c.snap.Project)
		c.projects = p
	})
	return c.projects
}

type projectRow struct {
	Name, Description, Owner string
	Tags                     map[string]string
	Current                  bool
}

type projectsData struct {
	Current  string
	Projects []projectRow
	// Partial: the registry (SQL) can list only the configured project.
	Partial bool
}

// projectsPage lists the registry's projects (those the user may
// DESCRIBE when permissions are enforced). The UI browses the project of
// feature_store.yaml; the page says how to browse another.
func (u *UI) projectsPage(w http.ResponseWriter, r *http.Request, c *catalog, api bool) error {
	pl := u.projects(r.Context(), c)
	if pl.err != nil {
		return pl.err
	}
	d := projectsData{Current: c.snap.Project, Partial: pl.partial, Projects: []projectRow{}}
	user := auth.UserFrom(r.Context())
	for _, p := range pl.items {
		res := permissions.Resource{Type: model.TypeProject, Name: p.Name, Tags: p.Tags}
		if user != nil && c.perms.Len() > 0 && c.perms.Decide(user, res, model.ActionDescribe) != nil {
			continue
		}
		d.Projects = append(d.Projects, projectRow{Name: p.Name, Description: p.Description, Owner: p.Owner, Tags: p.Tags, Current: p.Name == c.snap.Project})
	}
	if api {
		writeJSON(w, http.StatusOK, d)
		return nil
	}
	return u.render(w, r, "projects", &page{Title: "Projects", Section: "projects", Data: d})
}
