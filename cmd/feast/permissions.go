package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/registry"
)

// The `feast permissions` commands follow Feast's CLI
// (sdk/python/feast/cli/permissions.py): the same subcommands, headings and
// table columns. Decisions go through package permissions, so the CLI
// decides exactly as the servers do.

func newPermissionsCmd(g *globals) *cobra.Command {
	parent := &cobra.Command{
		Use:   "permissions",
		Short: "List, describe and check the project's access permissions",
		Long: `Shows the Permission objects of the project's registry and what they allow.
The servers enforce them when feature_store.yaml sets auth (oidc or kubernetes):
with no permission defined every authenticated user may do everything; with
permissions defined, what no permission covers is denied, and one matching
permission whose policy grants to the user is enough.`,
	}
	parent.AddCommand(newPermissionsListCmd(g), newPermissionsDescribeCmd(g), newPermissionsCheckCmd(g), newPermissionsListRolesCmd(g))
	return parent
}

// loadPermissions loads the project's snapshot and its permissions, sorted
// by name, and warns about permissions that can match nothing.
func (g *globals) loadPermissions(cmd *cobra.Command) (*registry.Snapshot, []*model.Permission, *permissions.Set, error) {
	fs, err := g.open(cmd.Context())
	if err != nil {
		return nil, nil, nil, err
	}
	defer fs.Close()
	snap, err := fs.Registry().Refresh(cmd.Context())
	if err != nil {
		return nil, nil, nil, err
	}
	perms := make([]*model.Permission, 0, len(snap.Permissions))
	for _, p := range snap.Permissions {
		perms = append(perms, p)
	}
	sort.Slice(perms, func(i, j int) bool { return perms[i].Name < perms[j].Name })
	set := permissions.Compile(perms)
	for _, p := range set.Problems() {
		fmt.Fprintf(g.stderr, "warning: %s: it matches nothing (Go's regular expressions lack some of Python's syntax: rewrite the pattern)\n", p)
	}
	return snap, perms, set, nil
}

// projectResources lists the project's objects as permission resources,
// in the order of Feast's CLI: entities, feature views (batch and stream,
// then on-demand), feature services, data sources and, with
// withPermissions, the permissions themselves. Names are sorted within a
// kind.
func projectResources(snap *registry.Snapshot, withPermissions bool) []permissions.Resource {
	var out []permissions.Resource
	for _, n := range slices.Sorted(maps.Keys(snap.Entities)) {
		if n == model.DummyEntityName {
			continue
		}
		e := snap.Entities[n]
		out = append(out, permissions.Entity(e))
	}
	for _, n := range slices.Sorted(maps.Keys(snap.FeatureViews)) {
		out = append(out, permissions.FeatureView(snap.FeatureViews[n]))
	}
	for _, n := range slices.Sorted(maps.Keys(snap.OnDemandViews)) {
		out = append(out, permissions.OnDemandView(snap.OnDemandViews[n]))
	}
	for _, n := range slices.Sorted(maps.Keys(snap.FeatureServices)) {
		out = append(out, permissions.FeatureService(snap.FeatureServices[n]))
	}
	for _, n := range slices.Sorted(maps.Keys(snap.DataSources)) {
		out = append(out, permissions.DataSource(snap.DataSources[n]))
	}
	if withPermissions {
		for _, n := range slices.Sorted(maps.Keys(snap.Permissions)) {
			out = append(out, permissions.Permission(snap.Permissions[n]))
		}
	}
	return out
}

// permissionTypes are the types p applies to; none listed means all, and
// Feast lists them all.
func permissionTypes(p *model.Permission) []model.ResourceType {
	if len(p.Types) == 0 {
		return model.AllResourceTypes()
	}
	return p.Types
}

func newPermissionsListCmd(g *globals) *cobra.Command {
	var (
		name    string
		tags    []string
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the project's permissions",
		Long: `Lists the permissions as Feast does: name, types, name patterns, actions, the
roles of a role-based policy and the required tags. -v shows, per permission,
the project's objects it matches, by type. --tags filters the permissions by
their own tags (and, with -v, the objects by theirs, as Feast does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			snap, perms, set, err := g.loadPermissions(cmd)
			if err != nil {
				return err
			}
			var shown []*model.Permission
			for _, p := range perms {
				if (name == "" || p.Name == name) && tagsMatch(p.Tags, tags) {
					shown = append(shown, p)
				}
			}
			if name != "" && len(shown) == 0 && snap.Permissions[name] == nil {
				return &registry.NotFoundError{Kind: "permission", Name: name, Project: snap.Project, Suggestions: config.Closest(name, slices.Sorted(maps.Keys(snap.Permissions)), 3)}
			}
			if !verbose {
				var rows [][]string
				for _, p := range shown {
					rows = append(rows, []string{p.Name, typeLines(permissionTypes(p)), lines(p.NamePatterns), actionLines(p.Actions), lines(policyRoles(p)), tagLines(p.RequiredTags)})
				}
				plainTable(g.stdout, []string{"NAME", "TYPES", "NAME_PATTERNS", "ACTIONS", "ROLES", "REQUIRED_TAGS"}, rows)
				return nil
			}
			var resources []permissions.Resource
			for _, r := range projectResources(snap, false) {
				if tagsMatch(r.Tags, tags) {
					resources = append(resources, r)
				}
			}
			root := &treeNode{label: "permissions"}
			for _, p := range shown {
				pn := root.add(p.Name)
				if roles := policyRoles(p); len(roles) > 0 {
					pn.label += " " + pyList(roles)
				}
				for _, t := range permissionTypes(p) {
					if !listableType(t) {
						continue
					}
					var names []string
					for _, r := range resources {
						if t.Includes(r.Type) && slices.Contains(set.Matching(r), p) {
							names = append(names, r.Name)
						}
					}
					if len(names) == 0 {
						pn.add(t.String() + ": none")
					} else {
						pn.add(t.String() + ": " + pyList(names))
					}
				}
			}
			fmt.Fprint(g.stdout, "Permissions:\n\n")
			root.print(g.stdout)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "only the permission of this name")
	cmd.Flags().StringSliceVar(&tags, "tags", nil, "only permissions with these tags (key:value, repeatable; all must match)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the objects each permission matches")
	return cmd
}

// listableType reports whether `list -v` can show the objects of type t
// (the kinds a snapshot holds).
func listableType(t model.ResourceType) bool {
	switch t {
	case model.TypeFeatureView, model.TypeOnDemandFeatureView, model.TypeBatchFeatureView, model.TypeStreamFeatureView,
		model.TypeEntity, model.TypeFeatureService, model.TypeDataSource:
		return true
	}
	return false
}

func newPermissionsDescribeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe a permission as YAML",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			snap, _, _, err := g.loadPermissions(cmd)
			if err != nil {
				return err
			}
			for _, m := range snap.Proto.GetPermissions() {
				if m.GetSpec().GetProject() != snap.Project || m.GetSpec().GetName() != args[0] {
					continue
				}
				v, err := protoToPlain(m)
				if err != nil {
					return err
				}
				enc := yaml.NewEncoder(g.stdout)
				enc.SetIndent(2)
				return enc.Encode(v)
			}
			return &registry.NotFoundError{Kind: "permission", Name: args[0], Project: snap.Project, Suggestions: config.Closest(args[0], slices.Sorted(maps.Keys(snap.Permissions)), 3)}
		},
	}
}

// Feast's headings of `feast permissions check`.
const (
	uncoveredHeading        = "The following resources are not secured by any permission configuration:"
	uncoveredActionsHeading = "The following actions are not secured by any permission configuration (Note: this might not be a security concern, depending on the used APIs):"
)

func newPermissionsCheckCmd(g *globals) *cobra.Command {
	var (
		user                     string
		roles, groups, nss, acts []string
		verbose                  bool
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Show what no permission covers, or what an identity may do",
		Long: `Without identity flags, prints Feast's check: the objects no permission matches,
then per object the actions no matching permission lists. With permissions defined,
the servers deny those to everyone.

With --roles, --groups, --namespaces, --user or --action, decides for that identity
what it may do on every object of the project, as the servers would decide for a
token carrying it: a table of allow/deny per object and action (--action narrows
the columns; aliases READ, WRITE, CRUD and ALL are accepted). -v adds the reason
of each denial. Use it to try a rule before deploying it. The exit code is 0
whatever the decisions.

  feast permissions check --roles reader --action READ_ONLINE
  feast permissions check --groups data-eng --namespaces feast -v`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			actions, err := parseActions(acts)
			if err != nil {
				return err
			}
			snap, perms, set, err := g.loadPermissions(cmd)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			if f.Changed("user") || f.Changed("roles") || f.Changed("groups") || f.Changed("namespaces") || f.Changed("action") {
				return checkIdentity(g, snap, set, auth.NewUser(user, roles, groups, nss), actions, verbose)
			}
			if len(perms) == 0 {
				fmt.Fprintln(g.stderr, "note: no permissions are defined: the servers let every authenticated user do every action on every resource")
			} else {
				fmt.Fprintln(g.stderr, "note: permissions are defined: the servers deny what these tables list to everyone")
			}
			resources := projectResources(snap, true)
			var uncovered, uncoveredActions [][]string
			for _, r := range resources {
				covered := false
				listed := map[model.Action]bool{}
				for _, p := range set.Matching(r) {
					covered = true
					for _, a := range p.Actions {
						listed[a] = true
					}
				}
				if !covered {
					uncovered = append(uncovered, []string{r.Name, r.Type.String()})
				}
				var missing []model.Action
				for _, a := range model.AllActions() {
					if !listed[a] {
						missing = append(missing, a)
					}
				}
				if len(missing) > 0 {
					uncoveredActions = append(uncoveredActions, []string{r.Name, r.Type.String(), actionLines(missing)})
				}
			}
			fmt.Fprintln(g.stdout, color(g.stdout, "1;31", uncoveredHeading))
			plainTable(g.stdout, []string{"NAME", "TYPE"}, uncovered)
			fmt.Fprintln(g.stdout, color(g.stdout, "1;31", uncoveredActionsHeading))
			plainTable(g.stdout, []string{"NAME", "TYPE", "UNSECURED ACTIONS"}, uncoveredActions)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "the user name of the identity to decide for (shown in denials; policies do not look at it)")
	f.StringSliceVar(&roles, "roles", nil, "roles of the identity (comma-separated or repeated)")
	f.StringSliceVar(&groups, "groups", nil, "groups of the identity (comma-separated or repeated)")
	f.StringSliceVar(&nss, "namespaces", nil, "namespaces of the identity (comma-separated or repeated)")
	f.StringSliceVar(&acts, "action", nil, "only these actions: "+strings.Join(model.ActionNames(), ", ")+" (comma-separated or repeated)")
	f.BoolVarP(&verbose, "verbose", "v", false, "with an identity, print why each denied action is denied")
	return cmd
}

// parseActions parses --action values, in Feast's order of actions; none
// given means all.
func parseActions(values []string) ([]model.Action, error) {
	if len(values) == 0 {
		return model.AllActions(), nil
	}
	want := map[model.Action]bool{}
	for _, v := range values {
		as, ok := model.ParseAction(strings.TrimSpace(v))
		if !ok {
			return nil, fmt.Errorf("--action %q: unknown action; use one of %s", v, strings.Join(model.ActionNames(), ", "))
		}
		for _, a := range as {
			want[a] = true
		}
	}
	var out []model.Action
	for _, a := range model.AllActions() {
		if want[a] {
			out = append(out, a)
		}
	}
	return out, nil
}

// checkIdentity prints what u may do on every object of the project.
func checkIdentity(g *globals, snap *registry.Snapshot, set *permissions.Set, u *auth.User, actions []model.Action, verbose bool) error {
	fmt.Fprintf(g.stdout, "Decisions for user %q (roles: %s; groups: %s; namespaces: %s) under %d permission(s) of project %q:\n\n",
		u.Username, dashJoin(u.Roles), dashJoin(u.Groups), dashJoin(u.Namespaces), set.Len(), snap.Project)
	headers := []string{"NAME", "TYPE"}
	for _, a := range actions {
		headers = append(headers, a.String())
	}
	var rows [][]string
	var denials []string
	for _, r := range projectResources(snap, false) {
		row := []string{r.Name, r.Type.String()}
		for _, a := range actions {
			if err := set.Decide(u, r, a); err != nil {
				row = append(row, "deny")
				denials = append(denials, err.Error())
			} else {
				row = append(row, "allow")
			}
		}
		rows = append(rows, row)
	}
	plainTable(g.stdout, headers, rows)
	if set.Len() == 0 {
		fmt.Fprintln(g.stdout, "\nNo permissions are defined: every authenticated user may do every action on every resource.")
	}
	if verbose && len(denials) > 0 {
		fmt.Fprintln(g.stdout, "\nDenials:")
		for _, d := range denials {
			fmt.Fprintln(g.stdout, "  "+d)
		}
	}
	return nil
}

func newPermissionsListRolesCmd(g *globals) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "list-roles",
		Short: "List the roles the permissions' role-based policies name",
		Long: `Lists the roles named by role-based policies, as Feast does. -v shows, for each
role and each object of the project, the actions a user with only that role may
do (decided as the servers decide; "-" when none).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			snap, perms, set, err := g.loadPermissions(cmd)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			var roles []string
			for _, p := range perms {
				for _, r := range policyRoles(p) {
					if !seen[r] {
						seen[r] = true
						roles = append(roles, r)
					}
				}
			}
			sort.Strings(roles)
			if !verbose {
				var rows [][]string
				for _, r := range roles {
					rows = append(rows, []string{r})
				}
				gridTable(g.stdout, []string{"ROLE NAME"}, rows)
				return nil
			}
			resources := projectResources(snap, true)
			var rows [][]string
			for _, role := range roles {
				u := auth.NewUser("", []string{role}, nil, nil)
				for _, r := range resources {
					var allowed []model.Action
					for _, a := range model.AllActions() {
						if set.Decide(u, r, a) == nil {
							allowed = append(allowed, a)
						}
					}
					rows = append(rows, []string{role, r.Name, r.Type.String(), actionLines(allowed)})
				}
			}
			plainTable(g.stdout, []string{"ROLE NAME", "RESOURCE NAME", "RESOURCE TYPE", "PERMITTED ACTIONS"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the objects and actions each role may act on")
	return cmd
}

// policyRoles are the roles of a role-based policy (sorted), else none.
func policyRoles(p *model.Permission) []string {
	if p.Policy.Kind != model.PolicyRoles {
		return nil
	}
	out := make([]string, 0, len(p.Policy.Roles))
	for _, r := range p.Policy.Roles {
		if r != "" {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// lines joins values one per line, "-" when there are none (Feast's
// multi-line table cells).
func lines(values []string) string {
	if len(values) == 0 {
		return "-"
	}
	return strings.Join(values, "\n")
}

func typeLines(ts []model.ResourceType) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return lines(out)
}

func actionLines(as []model.Action) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return lines(out)
}

func tagLines(tags map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, k+" : "+tags[k])
	}
	return lines(out)
}

func dashJoin(values []string) string {
	if len(values) == 0 {
		return "-"
	}
	return strings.Join(values, ", ")
}

// pyList formats names as Python prints a list of strings, as Feast's
// verbose listing does.
func pyList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// columnWidths returns the widths of the columns: the longest line of a
// cell, and at least two more than the header, as tabulate pads headers.
func columnWidths(headers []string, rows [][]string) []int {
	w := make([]int, len(headers))
	for i, h := range headers {
		w[i] = utf8.RuneCountInString(h) + 2
	}
	for _, row := range rows {
		for i, c := range row {
			for _, l := range strings.Split(c, "\n") {
				w[i] = max(w[i], utf8.RuneCountInString(l))
			}
		}
	}
	return w
}

// rowLines renders one table row (whose cells may span several lines) as
// the lines of its cells padded to widths, each line's cells joined by sep
// between left and right.
func rowLines(row []string, widths []int, left, sep, right string) []string {
	cells := make([][]string, len(row))
	height := 1
	for i, c := range row {
		cells[i] = strings.Split(c, "\n")
		height = max(height, len(cells[i]))
	}
	out := make([]string, height)
	for l := range height {
		parts := make([]string, len(row))
		for i := range row {
			s := ""
			if l < len(cells[i]) {
				s = cells[i][l]
			}
			parts[i] = s + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
		}
		out[l] = left + strings.Join(parts, sep) + right
	}
	return out
}

// plainTable writes Feast's tabulate "plain" table: a header line, then
// the rows, columns left-aligned and two spaces apart (trailing spaces
// trimmed).
func plainTable(w io.Writer, headers []string, rows [][]string) {
	widths := columnWidths(headers, rows)
	var b strings.Builder
	for _, row := range append([][]string{headers}, rows...) {
		for _, l := range rowLines(row, widths, "", "  ", "") {
			b.WriteString(strings.TrimRight(l, " "))
			b.WriteByte('\n')
		}
	}
	io.WriteString(w, b.String())
}

// gridTable writes Feast's tabulate "grid" table: cells boxed with +, -
// and |, "=" under the header.
func gridTable(w io.Writer, headers []string, rows [][]string) {
	widths := columnWidths(headers, rows)
	rule := func(c string) string {
		parts := make([]string, len(widths))
		for i, n := range widths {
			parts[i] = strings.Repeat(c, n+2)
		}
		return "+" + strings.Join(parts, "+") + "+\n"
	}
	var b strings.Builder
	b.WriteString(rule("-"))
	for _, l := range rowLines(headers, widths, "| ", " | ", " |") {
		b.WriteString(l + "\n")
	}
	b.WriteString(rule("="))
	for i, row := range rows {
		for _, l := range rowLines(row, widths, "| ", " | ", " |") {
			b.WriteString(l + "\n")
		}
		if i < len(rows)-1 {
			b.WriteString(rule("-"))
		}
	}
	b.WriteString(rule("-"))
	io.WriteString(w, b.String())
}

// treeNode is a node of the tree `list -v` prints (as Feast's bigtree
// show()).
type treeNode struct {
	label    string
	children []*treeNode
}

func (n *treeNode) add(label string) *treeNode {
	c := &treeNode{label: label}
	n.children = append(n.children, c)
	return c
}

func (n *treeNode) print(w io.Writer) {
	fmt.Fprintln(w, n.label)
	n.printChildren(w, "")
}

func (n *treeNode) printChildren(w io.Writer, prefix string) {
	for i, c := range n.children {
		branch, indent := "├── ", "│   "
		if i == len(n.children)-1 {
			branch, indent = "└── ", "    "
		}
		fmt.Fprintln(w, prefix+branch+c.label)
		c.printChildren(w, prefix+indent)
	}
}
