package definitions

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/model"
)

const kindPermission = "permission"

var permissionKeys = []string{"name", "types", "name_patterns", "required_tags", "actions", "policy", "tags"}

// policyKeys are the keys of a permission's policy mapping.
var policyKeys = []string{"roles", "groups", "namespaces", "allow_all"}

// policyHint lists the policies a permission may have.
const policyHint = "{roles: [...]}, {groups: [...]}, {namespaces: [...]}, {groups: [...], namespaces: [...]} or {allow_all: true}"

// parsePermission reads one item of the permissions section: Feast's
// Permission, with types and actions by name, name patterns as Go regular
// expressions and the policy as a mapping. A policy is required: granting
// to every authenticated user (Feast's default AllowAll) must be written
// out as allow_all: true.
func (l *loader) parsePermission(file string, m *yaml.Node) {
	f, name := l.fields(file, m, kindPermission, permissionKeys)
	obj := objectLabel(kindPermission, name)
	p := &model.Permission{Name: name, RequiredTags: l.strMap(file, f["required_tags"], obj, "required_tags"),
		Tags: l.strMap(file, f["tags"], obj, "tags")}
	typeNames := model.ResourceTypeNames()
	for _, n := range l.strList(file, f["types"], obj, "types") {
		t, ok := model.ParseResourceType(n.Value)
		switch {
		case !ok:
			l.add(file, n.Line, obj, "types", "unknown type %q%s (Feast class names: %s; omit types to cover every type)",
				n.Value, didYouMean(n.Value, typeNames), strings.Join(typeNames, ", "))
		case slices.Contains(p.Types, t):
			l.add(file, n.Line, obj, "types", "%s is listed twice", t)
		default:
			p.Types = append(p.Types, t)
		}
	}
	for _, n := range l.strList(file, f["name_patterns"], obj, "name_patterns") {
		if _, err := regexp.Compile(`^(?:` + n.Value + `)$`); err != nil {
			l.add(file, n.Line, obj, "name_patterns", "%q is not a Go (RE2) regular expression: %v (RE2 has no lookaround or backreferences; a pattern must match the whole name)",
				n.Value, unwrapRegexpError(err))
			continue
		}
		p.NamePatterns = append(p.NamePatterns, n.Value)
	}
	actionNames := model.ActionNames()
	if n := f["actions"]; n == nil || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		line := m.Line
		if n != nil {
			line = n.Line
		}
		l.add(file, line, obj, "actions", "is required: list the actions it grants (%s), or an alias: READ (READ_ONLINE, READ_OFFLINE), WRITE (WRITE_ONLINE, WRITE_OFFLINE), CRUD (CREATE, DESCRIBE, UPDATE, DELETE) or ALL",
			strings.Join(actionNames[:len(model.AllActions())], ", "))
	}
	for _, n := range l.strList(file, f["actions"], obj, "actions") {
		acts, ok := model.ParseAction(n.Value)
		if !ok {
			l.add(file, n.Line, obj, "actions", "unknown action %q%s (actions: %s)", n.Value, didYouMean(strings.ToUpper(n.Value), actionNames), strings.Join(actionNames, ", "))
			continue
		}
		for _, a := range acts {
			if !slices.Contains(p.Actions, a) {
				p.Actions = append(p.Actions, a)
			}
		}
	}
	p.Policy = l.parsePolicy(file, m, f["policy"], obj)
	if name != "" && l.define(kindPermission, name, file, m.Line) {
		l.repo.Permissions = append(l.repo.Permissions, p)
	}
}

// unwrapRegexpError drops the "error parsing regexp: " prefix.
func unwrapRegexpError(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// parsePolicy reads a permission's policy mapping.
func (l *loader) parsePolicy(file string, perm, n *yaml.Node, obj string) model.Policy {
	if n == nil {
		l.add(file, perm.Line, obj, "policy", "is required: %s (allow_all grants to every authenticated user, Feast's default, which must be written out)", policyHint)
		return model.Policy{}
	}
	if n.Kind != yaml.MappingNode {
		l.add(file, n.Line, obj, "policy", "expected a mapping: %s", policyHint)
		return model.Policy{}
	}
	var pol model.Policy
	var allowAll *yaml.Node
	set, unknown := map[string]bool{}, false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := "policy." + k.Value
		var names []string
		switch k.Value {
		case "allow_all":
			allowAll = v
			set[k.Value] = true
			continue
		case "roles", "groups", "namespaces":
			for _, c := range l.strList(file, v, obj, field) {
				names = append(names, c.Value)
			}
			if len(names) == 0 && v.Kind == yaml.SequenceNode {
				l.add(file, v.Line, obj, field, "is empty, so it grants to nobody: list at least one, or remove the permission")
			}
		default:
			l.add(file, k.Line, obj, field, "unknown key%s (allowed: %s)", didYouMean(k.Value, policyKeys), strings.Join(policyKeys, ", "))
			unknown = true
			continue
		}
		set[k.Value] = true
		switch k.Value {
		case "roles":
			pol.Roles = names
		case "groups":
			pol.Groups = names
		case "namespaces":
			pol.Namespaces = names
		}
	}
	switch {
	case set["allow_all"]:
		if len(set) > 1 {
			l.add(file, allowAll.Line, obj, "policy.allow_all", "cannot be combined with roles, groups or namespaces: it grants to every authenticated user")
			return model.Policy{}
		}
		if !l.boolean(file, allowAll, obj, "policy.allow_all", false) {
			l.add(file, allowAll.Line, obj, "policy.allow_all", "false grants nothing: set roles, groups or namespaces instead")
			return model.Policy{}
		}
		return model.Policy{Kind: model.PolicyAllowAll}
	case set["roles"] && (set["groups"] || set["namespaces"]):
		l.add(file, n.Line, obj, "policy", "roles cannot be combined with groups or namespaces (Feast has no such policy): define one permission per policy; any one that grants is enough")
		return model.Policy{}
	case set["roles"]:
		pol.Kind = model.PolicyRoles
	case set["groups"] && set["namespaces"]:
		pol.Kind = model.PolicyGroupsNamespaces
	case set["groups"]:
		pol.Kind = model.PolicyGroups
	case set["namespaces"]:
		pol.Kind = model.PolicyNamespaces
	case !unknown:
		l.add(file, n.Line, obj, "policy", "is empty: %s", policyHint)
	}
	if pol.Kind == "" {
		return model.Policy{} // only unknown keys, reported above
	}
	return pol
}

// permission writes a permission for Export: every field as the registry
// holds it (types and actions listed one by one, the policy by kind), so
// that applying the written definition gives back the same spec.
func (b *exporter) permission(p *model.Permission) {
	m := mapping()
	m.set("name", str(p.Name))
	if len(p.Types) > 0 {
		names := make([]string, len(p.Types))
		for i, t := range p.Types {
			names[i] = t.String()
		}
		m.set("types", flowSeq(names))
	}
	if len(p.NamePatterns) > 0 {
		m.set("name_patterns", flowSeq(p.NamePatterns))
	}
	if len(p.RequiredTags) > 0 {
		m.set("required_tags", strMapNode(p.RequiredTags, true))
	}
	if len(p.Actions) > 0 {
		m.set("actions", flowSeq(actionList(p.Actions)))
	}
	pol := mapping()
	switch p.Policy.Kind {
	case model.PolicyRoles:
		pol.set("roles", flowSeq(p.Policy.Roles))
	case model.PolicyGroups:
		pol.set("groups", flowSeq(p.Policy.Groups))
	case model.PolicyNamespaces:
		pol.set("namespaces", flowSeq(p.Policy.Namespaces))
	case model.PolicyGroupsNamespaces:
		pol.set("groups", flowSeq(p.Policy.Groups))
		pol.set("namespaces", flowSeq(p.Policy.Namespaces))
	default:
		pol.set("allow_all", boolNode(true))
	}
	pol.node.Style = yaml.FlowStyle
	m.set("policy", pol.node)
	if t := userTags(p.Tags); len(t) > 0 {
		m.set("tags", strMapNode(t, true))
	}
	b.add(kindPermission, p.Name, m.node)
}

// actionList names actions, with an alias when the list is exactly one
// (ALL for every action in Feast's order, READ, WRITE, CRUD).
func actionList(acts []model.Action) []string {
	for _, alias := range []string{"ALL", "READ", "WRITE", "CRUD"} {
		if slices.Equal(acts, model.ActionAliases[alias]) {
			return []string{alias}
		}
	}
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.String()
	}
	return out
}

// permissionGap describes a registry permission the definitions cannot
// write as it is.
func permissionGap(p *model.Permission) (string, bool) {
	for _, t := range p.Types {
		if t < 0 || int(t) >= len(model.AllResourceTypes()) {
			return fmt.Sprintf("it names a resource type this version does not know (%s)", t), true
		}
	}
	for _, a := range p.Actions {
		if a < 0 || int(a) >= len(model.AllActions()) {
			return fmt.Sprintf("it names an action this version does not know (%s)", a), true
		}
	}
	return "", false
}
