package model

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feastgo/feast/proto/feast/core"
)

// Permission is Feast's access rule: the actions its policy grants on the
// registry objects it matches (by type, name pattern and tags).
type Permission struct {
	Name string
	// Types are the object types it applies to; empty means every type.
	Types []ResourceType
	// NamePatterns are regular expressions a name must fully match (one of
	// them); empty means every name.
	NamePatterns []string
	// RequiredTags must all be present on the object with these values.
	RequiredTags map[string]string
	Actions      []Action
	Policy       Policy
	Tags         map[string]string
	Created      time.Time
	Updated      time.Time
}

// ResourceType is a kind of registry object, numbered as Feast's
// PermissionSpec.Type.
type ResourceType int32

// Resource types.
const (
	TypeFeatureView ResourceType = iota
	TypeOnDemandFeatureView
	TypeBatchFeatureView
	TypeStreamFeatureView
	TypeEntity
	TypeFeatureService
	TypeDataSource
	TypeValidationReference
	TypeSavedDataset
	TypePermission
	TypeProject
	TypeLabelView
)

// resourceTypeNames are Feast's Python class names, by ResourceType.
var resourceTypeNames = []string{
	"FeatureView", "OnDemandFeatureView", "BatchFeatureView", "StreamFeatureView", "Entity",
	"FeatureService", "DataSource", "ValidationReference", "SavedDataset", "Permission", "Project", "LabelView",
}

// AllResourceTypes lists every type, in Feast's order.
func AllResourceTypes() []ResourceType {
	out := make([]ResourceType, len(resourceTypeNames))
	for i := range out {
		out[i] = ResourceType(i)
	}
	return out
}

// ResourceTypeNames returns the names ParseResourceType accepts.
func ResourceTypeNames() []string { return slices.Clone(resourceTypeNames) }

// String is the Feast class name (or the number of a type this version does
// not know).
func (t ResourceType) String() string {
	if t >= 0 && int(t) < len(resourceTypeNames) {
		return resourceTypeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Includes reports whether a permission for type t covers an object of type
// o: the same type, or a subclass of it in Feast (batch and stream feature
// views are feature views).
func (t ResourceType) Includes(o ResourceType) bool {
	return t == o || t == TypeFeatureView && (o == TypeBatchFeatureView || o == TypeStreamFeatureView)
}

// ParseResourceType accepts Feast's class name (FeatureView) or its enum
// name (FEATURE_VIEW).
func ParseResourceType(s string) (ResourceType, bool) {
	for i, n := range resourceTypeNames {
		if s == n || s == core.PermissionSpec_Type_name[int32(i)] {
			return ResourceType(i), true
		}
	}
	return 0, false
}

// Action is what a request does to an object, numbered as Feast's
// AuthzedAction.
type Action int32

// Actions.
const (
	ActionCreate Action = iota
	ActionDescribe
	ActionUpdate
	ActionDelete
	ActionReadOnline
	ActionReadOffline
	ActionWriteOnline
	ActionWriteOffline
)

var actionNames = []string{"CREATE", "DESCRIBE", "UPDATE", "DELETE", "READ_ONLINE", "READ_OFFLINE", "WRITE_ONLINE", "WRITE_OFFLINE"}

// AllActions lists every action, in Feast's order.
func AllActions() []Action {
	out := make([]Action, len(actionNames))
	for i := range out {
		out[i] = Action(i)
	}
	return out
}

// String is the enum name (READ_ONLINE).
func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// ActionAliases are Feast's groups of actions (feast.permissions.action):
// ALL (also ALL_ACTIONS), READ, WRITE and CRUD.
var ActionAliases = map[string][]Action{
	"ALL":         AllActions(),
	"ALL_ACTIONS": AllActions(),
	"READ":        {ActionReadOnline, ActionReadOffline},
	"WRITE":       {ActionWriteOnline, ActionWriteOffline},
	"CRUD":        {ActionCreate, ActionDescribe, ActionUpdate, ActionDelete},
}

// ParseAction accepts an action name (READ_ONLINE, case-insensitive) or an
// alias and returns the actions it stands for.
func ParseAction(s string) ([]Action, bool) {
	u := strings.ToUpper(strings.TrimPrefix(s, "AuthzedAction."))
	if l, ok := ActionAliases[u]; ok {
		return slices.Clone(l), true
	}
	for i, n := range actionNames {
		if u == n {
			return []Action{Action(i)}, true
		}
	}
	return nil, false
}

// ActionNames returns the names and aliases ParseAction accepts.
func ActionNames() []string {
	out := slices.Clone(actionNames)
	return append(out, "READ", "WRITE", "CRUD", "ALL")
}

// PolicyKind is which of Feast's policies a Policy is.
type PolicyKind string

// Policy kinds. PolicyAllowAll is Feast's AllowAll: any authenticated user.
const (
	PolicyAllowAll         PolicyKind = "allow_all"
	PolicyRoles            PolicyKind = "roles"
	PolicyGroups           PolicyKind = "groups"
	PolicyNamespaces       PolicyKind = "namespaces"
	PolicyGroupsNamespaces PolicyKind = "groups_namespaces"
)

// Policy is who a permission grants to.
type Policy struct {
	Kind       PolicyKind
	Roles      []string
	Groups     []string
	Namespaces []string
}

// ToProto converts p for project, as Python Feast writes it (the policy
// without a project, AllowAll as an empty policy), so the same permission
// written by either compares equal.
func (p *Permission) ToProto(project string) *core.Permission {
	spec := &core.PermissionSpec{
		Name:         p.Name,
		Project:      project,
		NamePatterns: slices.Clone(p.NamePatterns),
		RequiredTags: copyTags(p.RequiredTags),
		Tags:         copyTags(p.Tags),
		Policy:       p.Policy.toProto(),
	}
	for _, t := range p.Types {
		spec.Types = append(spec.Types, core.PermissionSpec_Type(t))
	}
	for _, a := range p.Actions {
		spec.Actions = append(spec.Actions, core.PermissionSpec_AuthzedAction(a))
	}
	out := &core.Permission{Spec: spec}
	if !p.Created.IsZero() || !p.Updated.IsZero() {
		out.Meta = &core.PermissionMeta{CreatedTimestamp: ts(p.Created), LastUpdatedTimestamp: ts(p.Updated)}
	}
	return out
}

// toProto writes the policy as Python Feast does: without a project, and
// AllowAll as an empty Policy.
func (p Policy) toProto() *core.Policy {
	switch p.Kind {
	case PolicyRoles:
		return &core.Policy{PolicyType: &core.Policy_RoleBasedPolicy{RoleBasedPolicy: &core.RoleBasedPolicy{Roles: slices.Clone(p.Roles)}}}
	case PolicyGroups:
		return &core.Policy{PolicyType: &core.Policy_GroupBasedPolicy{GroupBasedPolicy: &core.GroupBasedPolicy{Groups: slices.Clone(p.Groups)}}}
	case PolicyNamespaces:
		return &core.Policy{PolicyType: &core.Policy_NamespaceBasedPolicy{NamespaceBasedPolicy: &core.NamespaceBasedPolicy{Namespaces: slices.Clone(p.Namespaces)}}}
	case PolicyGroupsNamespaces:
		return &core.Policy{PolicyType: &core.Policy_CombinedGroupNamespacePolicy{CombinedGroupNamespacePolicy: &core.CombinedGroupNamespacePolicy{
			Groups: slices.Clone(p.Groups), Namespaces: slices.Clone(p.Namespaces)}}}
	}
	return &core.Policy{}
}

// PermissionFromProto converts a registry permission.
func PermissionFromProto(m *core.Permission) *Permission {
	spec := m.GetSpec()
	p := &Permission{
		Name:         spec.GetName(),
		NamePatterns: slices.Clone(spec.GetNamePatterns()),
		RequiredTags: copyTags(spec.GetRequiredTags()),
		Tags:         copyTags(spec.GetTags()),
		Created:      fromTS(m.GetMeta().GetCreatedTimestamp()),
		Updated:      fromTS(m.GetMeta().GetLastUpdatedTimestamp()),
	}
	for _, t := range spec.GetTypes() {
		p.Types = append(p.Types, ResourceType(t))
	}
	for _, a := range spec.GetActions() {
		p.Actions = append(p.Actions, Action(a))
	}
	pol := spec.GetPolicy()
	switch {
	case pol.GetRoleBasedPolicy() != nil:
		p.Policy = Policy{Kind: PolicyRoles, Roles: slices.Clone(pol.GetRoleBasedPolicy().GetRoles())}
	case pol.GetGroupBasedPolicy() != nil:
		p.Policy = Policy{Kind: PolicyGroups, Groups: slices.Clone(pol.GetGroupBasedPolicy().GetGroups())}
	case pol.GetNamespaceBasedPolicy() != nil:
		p.Policy = Policy{Kind: PolicyNamespaces, Namespaces: slices.Clone(pol.GetNamespaceBasedPolicy().GetNamespaces())}
	case pol.GetCombinedGroupNamespacePolicy() != nil:
		c := pol.GetCombinedGroupNamespacePolicy()
		p.Policy = Policy{Kind: PolicyGroupsNamespaces, Groups: slices.Clone(c.GetGroups()), Namespaces: slices.Clone(c.GetNamespaces())}
	default:
		p.Policy = Policy{Kind: PolicyAllowAll}
	}
	return p
}
