package main

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

func newProjectsCmd(g *globals) *cobra.Command {
	parent := &cobra.Command{Use: "projects", Short: "List and describe the projects of the registry"}
	var tags []string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the projects of the registry",
		Long: `Lists every project of the registry feature_store.yaml names, with its description,
tags and owner, as Feast does. A file registry holds every project; a SQL registry
lists only the configured project unless its store can enumerate projects (a note
on stderr says so).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			projects, partial, err := registry.ListProjects(cmd.Context(), fs.Registry().Store(), fs.Project())
			if err != nil {
				return err
			}
			if partial {
				fmt.Fprintf(g.stderr, "note: this registry type lists only the configured project %q\n", fs.Project())
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tDESCRIPTION\tTAGS\tOWNER")
			for _, p := range projects {
				if !tagsMatch(p.Tags, tags) {
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, p.Description, formatTags(p.Tags), p.Owner)
			}
			return w.Flush()
		},
	}
	list.Flags().StringSliceVar(&tags, "tags", nil, "only projects with these tags (key:value, repeatable; all must match)")
	describe := &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe a project of the registry as YAML",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			store := fs.Registry().Store()
			var names []string
			var found *registry.ProjectInfo
			projects, _, err := registry.ListProjects(cmd.Context(), store, fs.Project())
			if err != nil {
				return err
			}
			for i, p := range projects {
				names = append(names, p.Name)
				if p.Name == args[0] {
					found = &projects[i]
				}
			}
			if found == nil && args[0] != fs.Project() {
				// A SQL registry loads one project at a time: ask for it.
				r, err := store.Load(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				for _, p := range r.Projects {
					if p.GetSpec().GetName() == args[0] {
						found = &registry.ProjectInfo{Name: args[0], Proto: p}
					}
				}
			}
			if found == nil {
				msg := fmt.Sprintf("project %q not found in the registry", args[0])
				if s := config.Closest(args[0], names, 3); len(s) > 0 {
					msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
				} else if len(names) > 0 {
					msg += " (projects: " + strings.Join(names, ", ") + ")"
				}
				return errors.New(msg)
			}
			var v any = map[string]any{"spec": map[string]any{"name": found.Name}}
			if found.Proto != nil {
				if v, err = protoToPlain(found.Proto); err != nil {
					return err
				}
			}
			enc := yaml.NewEncoder(g.stdout)
			enc.SetIndent(2)
			return enc.Encode(v)
		},
	}
	parent.AddCommand(list, describe)
	return parent
}

func tagsMatch(tags map[string]string, want []string) bool {
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, ":")
		if tags[k] != v {
			return false
		}
	}
	return true
}

func formatTags(tags map[string]string) string {
	if len(tags) == 0 {
		return "{}"
	}
	var kv []string
	for k, v := range tags {
		kv = append(kv, k+": "+v)
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ", ") + "}"
}

// deleteOrder is the order in which `feast delete` looks a name up, as
// Feast's CLI does: the first kind holding the name wins.
var deleteOrder = []registry.Kind{
	registry.KindEntity, registry.KindFeatureView, registry.KindFeatureService,
	registry.KindDataSource, registry.KindStreamView, registry.KindOnDemandView, registry.KindPermission,
}

// findObject returns the object of project named name, looked up in
// deleteOrder, and every kind that holds the name.
func findObject(r *core.Registry, project, name string) (registry.Object, []registry.Kind, bool) {
	objs := registry.Objects(r, project)
	var found registry.Object
	var kinds []registry.Kind
	for _, k := range deleteOrder {
		for _, o := range objs {
			if o.Kind == k && o.Name == name {
				if len(kinds) == 0 {
					found = o
				}
				kinds = append(kinds, k)
			}
		}
	}
	return found, kinds, len(kinds) > 0
}

// dependents lists the objects of project in r that use o: what the
// registry would lose if o were removed.
func dependents(r *core.Registry, project string, o registry.Object) []string {
	seen := map[string]bool{}
	var out []string
	addDep := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if o.Kind == registry.KindDataSource {
		// Request sources are embedded in on-demand views, which the
		// integrity check does not follow.
		for _, m := range r.OnDemandFeatureViews {
			if m.GetSpec().GetProject() != project {
				continue
			}
			for _, src := range m.GetSpec().GetSources() {
				if src.GetRequestDataSource().GetName() == o.Name {
					addDep(fmt.Sprintf("on demand feature view %q uses data source %q", m.GetSpec().GetName(), o.Name))
				}
			}
		}
	}
	for _, d := range integrityDependents(r, project, o) {
		addDep(d)
	}
	return out
}

func integrityDependents(r *core.Registry, project string, o registry.Object) []string {
	clone := proto.Clone(r).(*core.Registry)
	registry.Remove(clone, project, o.Kind, o.Name)
	var ie *registry.IntegrityError
	if err := registry.CheckIntegrity(clone, project); errors.As(err, &ie) {
		// Only what the removal broke, not damage already there.
		var before []string
		var be *registry.IntegrityError
		if err := registry.CheckIntegrity(r, project); errors.As(err, &be) {
			before = be.Missing
		}
		var out []string
		for _, m := range ie.Missing {
			if !slices.Contains(before, m) {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// checkDeletable refuses to delete an object feast-go did not create
// (unless allowed) or one that other objects use.
// repo is this feature repository's identity (diff.RepoIdentity): an
// object another repository applied is refused like an unmanaged one.
func checkDeletable(r *core.Registry, project string, o registry.Object, repo diff.RepoID, allowUnmanaged bool) error {
	if foreign, other := diff.Foreign(o.Msg, o.Kind, o.Name, repo.ID); foreign && !allowUnmanaged {
		if other != "" {
			return fmt.Errorf("refusing to delete %s %q of project %q: another feature repository applied it (%s: %q; this one is %q, from %s). "+
				"Delete it from that repository, set %s if both are the same repository, or pass --allow-delete-unmanaged to delete it anyway",
				o.Kind, o.Name, project, diff.RepoTag, other, repo.ID, repo.From, diff.RepoIDEnv)
		}
		return fmt.Errorf("refusing to delete %s %q of project %q: feast-go did not create it (no %q tag; Python Feast or another tool may own it). Pass --allow-delete-unmanaged to delete it anyway",
			o.Kind, o.Name, project, diff.ManagedByTag+": "+diff.ManagedByValue)
	}
	if deps := dependents(r, project, o); len(deps) > 0 {
		return fmt.Errorf("refusing to delete %s %q of project %q: other objects use it (%s). Delete or change them first",
			o.Kind, o.Name, project, strings.Join(deps, "; "))
	}
	return nil
}

func newDeleteCmd(g *globals) *cobra.Command {
	var allowUnmanaged bool
	cmd := &cobra.Command{
		Use:   "delete OBJECT_NAME",
		Short: "Delete an object from the registry by name",
		Long: `Deletes the entity, feature view, feature service, data source, stream feature view
or on-demand feature view named OBJECT_NAME from the configured project, looked up in
that order as Feast does, and drops the online table of a deleted feature view. A
name that matches nothing prints "Object not found. Deletion skipped." and succeeds,
as in Feast.

Two safety rules Feast does not have:
  - an object without the ` + diff.ManagedByTag + ` tag (written by Python Feast or
    another tool), or one another feature repository applied (its ` + diff.RepoTag + `
    tag names another repository), is deleted only with --allow-delete-unmanaged;
  - an object that other objects use (an entity or data source of a feature view, a
    feature view of a feature service or on-demand view) is never deleted: the error
    names the objects that use it.

The next apply recreates an object the repository still defines.

  feast delete driver_activity_v2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
			fs, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer fs.Close()
			project := fs.Project()
			r, err := fs.Registry().Store().Load(ctx, project)
			if err != nil {
				return err
			}
			o, kinds, ok := findObject(r, project, name)
			if !ok || name == model.DummyEntityName {
				fmt.Fprintln(g.stdout, "Object not found. Deletion skipped.")
				var names []string
				for _, o := range registry.Objects(r, project) {
					if o.Name != model.DummyEntityName {
						names = append(names, o.Name)
					}
				}
				if s := config.Closest(name, names, 3); len(s) > 0 {
					fmt.Fprintf(g.stderr, "did you mean %s?\n", strings.Join(s, " or "))
				}
				return nil
			}
			if len(kinds) > 1 {
				fmt.Fprintf(g.stderr, "warning: %q names a %s; deleting the %s, as Feast would\n", name, joinKinds(kinds), o.Kind)
			}
			repo, err := fs.RepoID()
			if err != nil {
				return err
			}
			if err := checkDeletable(r, project, o, repo, allowUnmanaged); err != nil {
				return err
			}
			var drop *model.FeatureView
			if (o.Kind == registry.KindFeatureView || o.Kind == registry.KindStreamView) && fs.Config().OnlineStore.Type != "none" {
				drop = registry.NewSnapshot(r, project, fs.Now()).FeatureViews[name]
			}
			err = fs.Registry().Update(ctx, func(reg *core.Registry) error {
				// Check again against the registry as it is now.
				cur, _, ok := findObject(reg, project, name)
				if !ok || cur.Kind != o.Kind {
					return fmt.Errorf("%s %q was deleted or changed concurrently; run feast delete again", o.Kind, name)
				}
				if err := checkDeletable(reg, project, cur, repo, allowUnmanaged); err != nil {
					return err
				}
				registry.Remove(reg, project, o.Kind, name)
				if drop != nil && reg.Infra != nil {
					kept := reg.Infra.InfraObjects[:0]
					for _, io := range reg.Infra.InfraObjects {
						if t := io.GetSqliteTable(); t != nil && t.GetName() == project+"_"+name {
							continue
						}
						kept = append(kept, io)
					}
					reg.Infra.InfraObjects = kept
				}
				return nil
			})
			if err != nil {
				return err
			}
			if drop != nil {
				store, err := fs.OnlineStore(ctx)
				if err == nil {
					err = store.Update(ctx, project, nil, []*model.FeatureView{drop})
				}
				if err != nil {
					return fmt.Errorf("deleted %s %q from the registry, but dropping its online table failed: %w", o.Kind, name, err)
				}
			}
			fmt.Fprintf(g.stdout, "Deleted %s %s from %s.\n", o.Kind, name, project)
			return nil
		},
	}
	cmd.Flags().BoolVar(&allowUnmanaged, "allow-delete-unmanaged", false, "also delete an object feast-go did not create (no "+diff.ManagedByTag+" tag) or another feature repository applied")
	return cmd
}

func joinKinds(ks []registry.Kind) string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return strings.Join(s, " and a ")
}
