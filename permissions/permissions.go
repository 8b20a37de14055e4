// Package permissions decides what an authenticated user may do, with
// Feast's rules (sdk/python/feast/permissions): with no permission defined
// every authenticated user may do everything; otherwise an object no
// permission matches is denied, and one matching permission whose policy
// grants to the user is enough (affirmative decision).
//
// A Set is compiled once per registry snapshot; its decisions are cached
// per identity and request, so the serving hot path pays a map lookup.
package permissions

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
)

// Resource is a registry object a request acts on.
type Resource struct {
	Type model.ResourceType
	Name string
	Tags map[string]string
}

func (r Resource) String() string { return fmt.Sprintf("%s %q", r.Type, r.Name) }

// FeatureView returns the resource of a (batch or stream) feature view.
func FeatureView(fv *model.FeatureView) Resource {
	t := model.TypeFeatureView
	if fv.IsStream {
		t = model.TypeStreamFeatureView
	}
	return Resource{Type: t, Name: fv.Name, Tags: fv.Tags}
}

// OnDemandView returns the resource of an on-demand feature view.
func OnDemandView(v *model.OnDemandFeatureView) Resource {
	return Resource{Type: model.TypeOnDemandFeatureView, Name: v.Name, Tags: v.Tags}
}

// FeatureService returns the resource of a feature service.
func FeatureService(s *model.FeatureService) Resource {
	return Resource{Type: model.TypeFeatureService, Name: s.Name, Tags: s.Tags}
}

// Entity returns the resource of an entity.
func Entity(e *model.Entity) Resource {
	return Resource{Type: model.TypeEntity, Name: e.Name, Tags: e.Tags}
}

// DataSource returns the resource of a data source.
func DataSource(d *model.DataSource) Resource {
	return Resource{Type: model.TypeDataSource, Name: d.Name, Tags: d.Tags}
}

// Permission returns the resource of a permission.
func Permission(p *model.Permission) Resource {
	return Resource{Type: model.TypePermission, Name: p.Name, Tags: p.Tags}
}

type compiled struct {
	p        *model.Permission
	patterns []*regexp.Regexp
	// broken is why a pattern could not be compiled (Python regex syntax
	// Go's RE2 lacks); such a permission matches nothing, so it never
	// grants more than it says.
	broken string
}

// Set is the permissions of one project, compiled. The zero Set (and nil)
// has no permissions: every authenticated user is allowed.
type Set struct {
	perms []compiled

	mu    sync.RWMutex
	cache map[cacheKey]error
}

type cacheKey struct {
	user    string
	request any
	actions string
}

// maxCached bounds the decision cache; it is reset when full.
const maxCached = 100_000

// Compile compiles perms. A name pattern that does not compile makes its
// permission match nothing; Problems reports it.
func Compile(perms []*model.Permission) *Set {
	s := &Set{cache: map[cacheKey]error{}}
	for _, p := range perms {
		c := compiled{p: p}
		for _, pat := range p.NamePatterns {
			re, err := regexp.Compile(`^(?:` + pat + `)$`)
			if err != nil {
				c.broken = fmt.Sprintf("permission %q: name pattern %q: %v", p.Name, pat, err)
				break
			}
			c.patterns = append(c.patterns, re)
		}
		s.perms = append(s.perms, c)
	}
	sort.SliceStable(s.perms, func(i, j int) bool { return s.perms[i].p.Name < s.perms[j].p.Name })
	return s
}

// Problems lists permissions that cannot match anything.
func (s *Set) Problems() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, c := range s.perms {
		if c.broken != "" {
			out = append(out, c.broken)
		}
	}
	return out
}

// Len is the number of permissions.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.perms)
}

// Matching returns the permissions that apply to r (type, name and tags;
// not actions), by name.
func (s *Set) Matching(r Resource) []*model.Permission {
	if s == nil {
		return nil
	}
	var out []*model.Permission
	for i := range s.perms {
		if s.perms[i].matches(r) {
			out = append(out, s.perms[i].p)
		}
	}
	return out
}

func (c *compiled) matches(r Resource) bool {
	if c.broken != "" {
		return false
	}
	if len(c.p.Types) > 0 && !slices.ContainsFunc(c.p.Types, func(t model.ResourceType) bool { return t.Includes(r.Type) }) {
		return false
	}
	if len(c.patterns) > 0 && !slices.ContainsFunc(c.patterns, func(re *regexp.Regexp) bool { return re.MatchString(r.Name) }) {
		return false
	}
	for k, v := range c.p.RequiredTags {
		if got, ok := r.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// grants reports whether the permission's policy grants to u.
func grants(p *model.Permission, u *auth.User) bool {
	switch p.Policy.Kind {
	case model.PolicyRoles:
		return u.HasRole(p.Policy.Roles)
	case model.PolicyGroups:
		return u.InGroup(p.Policy.Groups)
	case model.PolicyNamespaces:
		return u.InNamespace(p.Policy.Namespaces)
	case model.PolicyGroupsNamespaces:
		return u.InGroup(p.Policy.Groups) || u.InNamespace(p.Policy.Namespaces)
	case model.PolicyAllowAll, "":
		return true
	}
	return false
}

// DeniedError is a denied request: 403 / PERMISSION_DENIED.
type DeniedError struct {
	User     string
	Actions  []model.Action
	Resource Resource
	// Evaluated are the permissions that matched the resource and actions
	// (none granted); empty means no permission covers it.
	Evaluated []string
}

func (e *DeniedError) Error() string {
	acts := make([]string, len(e.Actions))
	for i, a := range e.Actions {
		acts[i] = a.String()
	}
	msg := fmt.Sprintf("permission denied: user %q may not %s %s", e.User, strings.Join(acts, ", "), e.Resource)
	if len(e.Evaluated) == 0 {
		return msg + ": no permission covers it (with permissions defined, what none covers is denied)"
	}
	return msg + ": evaluated " + strings.Join(e.Evaluated, ", ") + "; none grants to this user's roles, groups or namespaces"
}

// Decide returns nil if u may do all of actions on r, else a *DeniedError.
// A permission counts for r when it matches r and lists every requested
// action (Feast's actions_match_config).
func (s *Set) Decide(u *auth.User, r Resource, actions ...model.Action) error {
	if s == nil || len(s.perms) == 0 {
		return nil
	}
	var evaluated []string
	for i := range s.perms {
		c := &s.perms[i]
		if !c.matches(r) || !hasAll(c.p.Actions, actions) {
			continue
		}
		if grants(c.p, u) {
			return nil
		}
		evaluated = append(evaluated, c.p.Name)
	}
	return &DeniedError{User: u.Username, Actions: slices.Clone(actions), Resource: r, Evaluated: evaluated}
}

func hasAll(have, want []model.Action) bool {
	for _, a := range want {
		if !slices.Contains(have, a) {
			return false
		}
	}
	return true
}

// Check decides actions on every resource and returns the first denial.
// Decisions are cached by request (a comparable value naming the resolved
// request, for example its plan pointer or the push source's name), the
// user's identity and the actions: the same request must always stand for
// the same resources.
func (s *Set) Check(u *auth.User, request any, resources []Resource, actions ...model.Action) error {
	if s == nil || len(s.perms) == 0 {
		return nil
	}
	ck := cacheKey{user: u.Key(), request: request, actions: actionKey(actions)}
	s.mu.RLock()
	err, ok := s.cache[ck]
	s.mu.RUnlock()
	if ok {
		return err
	}
	for _, r := range resources {
		if err = s.Decide(u, r, actions...); err != nil {
			break
		}
	}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[ck] = err
	s.mu.Unlock()
	return err
}

func actionKey(actions []model.Action) string {
	b := make([]byte, len(actions))
	for i, a := range actions {
		b[i] = byte('a' + a)
	}
	return string(b)
}

// Filter returns the resources u may do actions on (Feast's filter_only).
func (s *Set) Filter(u *auth.User, resources []Resource, actions ...model.Action) []Resource {
	out := make([]Resource, 0, len(resources))
	for _, r := range resources {
		if s.Decide(u, r, actions...) == nil {
			out = append(out, r)
		}
	}
	return out
}
