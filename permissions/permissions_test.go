package permissions

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
)

var (
	read  = []model.Action{model.ActionReadOnline}
	write = []model.Action{model.ActionWriteOnline}
)

func roles(r ...string) model.Policy { return model.Policy{Kind: model.PolicyRoles, Roles: r} }

func perm(name string, types []model.ResourceType, patterns []string, tags map[string]string, actions []model.Action, pol model.Policy) *model.Permission {
	return &model.Permission{Name: name, Types: types, NamePatterns: patterns, RequiredTags: tags, Actions: actions, Policy: pol}
}

func fv(name string, tags map[string]string) Resource {
	return Resource{Type: model.TypeFeatureView, Name: name, Tags: tags}
}

// TestDecide is the decision table of Feast's enforcer as this package
// implements it.
func TestDecide(t *testing.T) {
	fvType := []model.ResourceType{model.TypeFeatureView}
	reader := auth.NewUser("ann", []string{"reader"}, nil, nil)
	nobody := auth.NewUser("bob", nil, nil, nil)
	for _, tc := range []struct {
		name    string
		perms   []*model.Permission
		user    *auth.User
		res     Resource
		actions []model.Action
		// deny is "" for allow, else a substring of the denial.
		deny string
	}{
		{"no permissions: everyone may do everything", nil, nobody, fv("x", nil), model.AllActions(), ""},
		{"unmatched resource is denied",
			[]*model.Permission{perm("p", []model.ResourceType{model.TypeEntity}, nil, nil, read, roles("reader"))},
			reader, fv("x", nil), read, "no permission covers it"},
		{"type matches", []*model.Permission{perm("p", fvType, nil, nil, read, roles("reader"))},
			reader, fv("x", nil), read, ""},
		{"FeatureView covers StreamFeatureView", []*model.Permission{perm("p", fvType, nil, nil, read, roles("reader"))},
			reader, Resource{Type: model.TypeStreamFeatureView, Name: "s"}, read, ""},
		{"FeatureView covers BatchFeatureView", []*model.Permission{perm("p", fvType, nil, nil, read, roles("reader"))},
			reader, Resource{Type: model.TypeBatchFeatureView, Name: "b"}, read, ""},
		{"FeatureView does not cover OnDemandFeatureView", []*model.Permission{perm("p", fvType, nil, nil, read, roles("reader"))},
			reader, Resource{Type: model.TypeOnDemandFeatureView, Name: "o"}, read, "no permission covers it"},
		{"StreamFeatureView does not cover FeatureView",
			[]*model.Permission{perm("p", []model.ResourceType{model.TypeStreamFeatureView}, nil, nil, read, roles("reader"))},
			reader, fv("x", nil), read, "no permission covers it"},
		{"no types: every type", []*model.Permission{perm("p", nil, nil, nil, read, roles("reader"))},
			reader, Resource{Type: model.TypeDataSource, Name: "d"}, read, ""},
		{"name pattern full match", []*model.Permission{perm("p", nil, []string{"team_a_.*"}, nil, read, roles("reader"))},
			reader, fv("team_a_1", nil), read, ""},
		{"name pattern is anchored at the start", []*model.Permission{perm("p", nil, []string{"team_a_.*"}, nil, read, roles("reader"))},
			reader, fv("xteam_a_1", nil), read, "no permission covers it"},
		{"name pattern is anchored at the end", []*model.Permission{perm("p", nil, []string{"team_a"}, nil, read, roles("reader"))},
			reader, fv("team_a_1", nil), read, "no permission covers it"},
		{"alternation is anchored as a whole", []*model.Permission{perm("p", nil, []string{"a|b"}, nil, read, roles("reader"))},
			reader, fv("ab", nil), read, "no permission covers it"},
		{"any of several patterns", []*model.Permission{perm("p", nil, []string{"team_a_.*", "shared"}, nil, read, roles("reader"))},
			reader, fv("shared", nil), read, ""},
		{"required tag missing", []*model.Permission{perm("p", nil, nil, map[string]string{"team": "a"}, read, roles("reader"))},
			reader, fv("x", map[string]string{"other": "a"}), read, "no permission covers it"},
		{"required tag with another value", []*model.Permission{perm("p", nil, nil, map[string]string{"team": "a"}, read, roles("reader"))},
			reader, fv("x", map[string]string{"team": "b"}), read, "no permission covers it"},
		{"required tag equal (extra tags are fine)", []*model.Permission{perm("p", nil, nil, map[string]string{"team": "a"}, read, roles("reader"))},
			reader, fv("x", map[string]string{"team": "a", "env": "prod"}), read, ""},
		{"all required tags", []*model.Permission{perm("p", nil, nil, map[string]string{"team": "a", "env": "prod"}, read, roles("reader"))},
			reader, fv("x", map[string]string{"team": "a"}), read, "no permission covers it"},
		{"action not listed", []*model.Permission{perm("p", nil, nil, nil, read, roles("reader"))},
			reader, fv("x", nil), write, "no permission covers it"},
		{"the action list must hold every requested action",
			[]*model.Permission{perm("p", nil, nil, nil, read, roles("reader")), perm("q", nil, nil, nil, write, roles("reader"))},
			reader, fv("x", nil), []model.Action{model.ActionReadOnline, model.ActionWriteOnline}, "no permission covers it"},
		{"every requested action listed",
			[]*model.Permission{perm("p", nil, nil, nil, []model.Action{model.ActionReadOnline, model.ActionWriteOnline}, roles("reader"))},
			reader, fv("x", nil), []model.Action{model.ActionWriteOnline, model.ActionReadOnline}, ""},
		{"roles: one of the roles", []*model.Permission{perm("p", nil, nil, nil, read, roles("admin", "reader"))},
			reader, fv("x", nil), read, ""},
		{"roles: user lacks them", []*model.Permission{perm("p", nil, nil, nil, read, roles("admin"))},
			reader, fv("x", nil), read, `evaluated p; none grants`},
		{"groups", []*model.Permission{perm("p", nil, nil, nil, read, model.Policy{Kind: model.PolicyGroups, Groups: []string{"g"}})},
			auth.NewUser("u", nil, []string{"g"}, nil), fv("x", nil), read, ""},
		{"groups: not a member", []*model.Permission{perm("p", nil, nil, nil, read, model.Policy{Kind: model.PolicyGroups, Groups: []string{"g"}})},
			auth.NewUser("u", []string{"g"}, nil, []string{"g"}), fv("x", nil), read, "none grants"},
		{"namespaces", []*model.Permission{perm("p", nil, nil, nil, read, model.Policy{Kind: model.PolicyNamespaces, Namespaces: []string{"ns"}})},
			auth.NewUser("u", nil, nil, []string{"ns"}), fv("x", nil), read, ""},
		{"namespaces: another namespace", []*model.Permission{perm("p", nil, nil, nil, read, model.Policy{Kind: model.PolicyNamespaces, Namespaces: []string{"ns"}})},
			auth.NewUser("u", nil, []string{"ns"}, []string{"other"}), fv("x", nil), read, "none grants"},
		{"groups+namespaces: the group alone", []*model.Permission{perm("p", nil, nil, nil, read,
			model.Policy{Kind: model.PolicyGroupsNamespaces, Groups: []string{"g"}, Namespaces: []string{"ns"}})},
			auth.NewUser("u", nil, []string{"g"}, nil), fv("x", nil), read, ""},
		{"groups+namespaces: the namespace alone", []*model.Permission{perm("p", nil, nil, nil, read,
			model.Policy{Kind: model.PolicyGroupsNamespaces, Groups: []string{"g"}, Namespaces: []string{"ns"}})},
			auth.NewUser("u", nil, nil, []string{"ns"}), fv("x", nil), read, ""},
		{"groups+namespaces: neither", []*model.Permission{perm("p", nil, nil, nil, read,
			model.Policy{Kind: model.PolicyGroupsNamespaces, Groups: []string{"g"}, Namespaces: []string{"ns"}})},
			auth.NewUser("u", []string{"g", "ns"}, []string{"h"}, []string{"other"}), fv("x", nil), read, "none grants"},
		{"allow_all", []*model.Permission{perm("p", nil, nil, nil, read, model.Policy{Kind: model.PolicyAllowAll})},
			nobody, fv("x", nil), read, ""},
		{"affirmative: one of two matching grants",
			[]*model.Permission{perm("a", nil, nil, nil, read, roles("admin")), perm("b", nil, nil, nil, read, roles("reader"))},
			reader, fv("x", nil), read, ""},
		{"affirmative: neither grants, both evaluated",
			[]*model.Permission{perm("b", nil, nil, nil, read, roles("writer")), perm("a", nil, nil, nil, read, roles("admin"))},
			reader, fv("x", nil), read, "evaluated a, b; none grants"},
		{"a broken pattern matches nothing, even allow_all",
			[]*model.Permission{perm("p", nil, []string{"(?<=x)a"}, nil, read, model.Policy{Kind: model.PolicyAllowAll})},
			reader, fv("a", nil), read, "no permission covers it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Compile(tc.perms).Decide(tc.user, tc.res, tc.actions...)
			if tc.deny == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			var d *DeniedError
			if !errors.As(err, &d) {
				t.Fatalf("want a *DeniedError containing %q, got %v", tc.deny, err)
			}
			if !strings.Contains(err.Error(), tc.deny) {
				t.Errorf("denial %q lacks %q", err, tc.deny)
			}
			if d.User != tc.user.Username || d.Resource.Name != tc.res.Name {
				t.Errorf("denial names user %q resource %v", d.User, d.Resource)
			}
		})
	}
}

func TestDeniedErrorMessage(t *testing.T) {
	s := Compile([]*model.Permission{perm("p", nil, nil, nil, read, roles("admin"))})
	err := s.Decide(auth.NewUser("ann", nil, nil, nil), fv("driver_stats", nil), model.ActionReadOnline)
	want := `permission denied: user "ann" may not READ_ONLINE FeatureView "driver_stats": evaluated p; none grants to this user's roles, groups or namespaces`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	err = s.Decide(auth.NewUser("ann", nil, nil, nil), fv("x", nil), model.ActionReadOnline, model.ActionWriteOnline)
	want = `permission denied: user "ann" may not READ_ONLINE, WRITE_ONLINE FeatureView "x": no permission covers it (with permissions defined, what none covers is denied)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestProblems(t *testing.T) {
	s := Compile([]*model.Permission{
		perm("ok", nil, []string{"a.*"}, nil, read, roles("r")),
		perm("broken", nil, []string{"fine", "(?<=x)a"}, nil, read, roles("r")),
	})
	p := s.Problems()
	if len(p) != 1 || !strings.HasPrefix(p[0], `permission "broken": name pattern "(?<=x)a": `) {
		t.Errorf("Problems: %q", p)
	}
	if s.Len() != 2 {
		t.Errorf("Len %d", s.Len())
	}
	var none *Set
	if none.Problems() != nil || none.Len() != 0 || none.Decide(auth.NewUser("u", nil, nil, nil), fv("x", nil), read...) != nil {
		t.Error("a nil Set has no permissions and allows")
	}
	if len(Compile([]*model.Permission{perm("broken", nil, []string{"("}, nil, read, roles("r"))}).Matching(fv("(", nil))) > 0 {
		t.Error("Matches: a broken pattern matched")
	}
}

func TestCheckCaches(t *testing.T) {
	s := Compile([]*model.Permission{perm("p", nil, []string{"allowed.*"}, nil, read, roles("reader"))})
	reader := auth.NewUser("ann", []string{"reader"}, nil, nil)
	other := auth.NewUser("bob", []string{"writer"}, nil, nil)
	resources := []Resource{fv("allowed_1", nil), fv("hidden", nil), fv("allowed_2", nil)}

	first := s.Check(other, "svc", resources, read...)
	var d *DeniedError
	if !errors.As(first, &d) || d.Resource.Name != "allowed_1" {
		t.Fatalf("first denial: %v", first)
	}
	second := s.Check(other, "svc", resources, read...)
	if second != first {
		t.Errorf("second call decided again: %p vs %p", second, first)
	}
	// Another identity under the same key is decided on its own; the
	// reader still fails on the resource it may not read.
	err := s.Check(reader, "svc", resources, read...)
	if !errors.As(err, &d) || d.Resource.Name != "hidden" || d.User != "ann" {
		t.Errorf("reader: %v", err)
	}
	if err := s.Check(reader, "ok", resources[:1], read...); err != nil {
		t.Errorf("reader on allowed_1: %v", err)
	}
	// The same roles in another order are the same identity.
	same := auth.NewUser("bob", []string{"writer", "writer"}, nil, nil)
	if s.Check(same, "svc", resources, read...) != first {
		t.Error("an equal identity missed the cache")
	}
	// Other actions are another decision.
	if err := s.Check(reader, "ok", resources[:1], write...); err == nil {
		t.Error("write was answered from the read decision")
	}
	if err := Compile(nil).Check(other, "svc", resources, read...); err != nil {
		t.Errorf("no permissions: %v", err)
	}
}

func TestFilter(t *testing.T) {
	s := Compile([]*model.Permission{
		perm("views", []model.ResourceType{model.TypeFeatureView}, []string{"team_a_.*"}, nil, read, roles("reader")),
	})
	u := auth.NewUser("ann", []string{"reader"}, nil, nil)
	in := []Resource{fv("team_a_1", nil), fv("team_b_1", nil), {Type: model.TypeStreamFeatureView, Name: "team_a_s"},
		{Type: model.TypeOnDemandFeatureView, Name: "team_a_o"}}
	var got []string
	for _, r := range s.Filter(u, in, read...) {
		got = append(got, r.Name)
	}
	if strings.Join(got, ",") != "team_a_1,team_a_s" {
		t.Errorf("Filter: %v", got)
	}
	if len(s.Filter(u, in, write...)) != 0 {
		t.Error("Filter kept resources for an action no permission lists")
	}
	if len(Compile(nil).Filter(auth.NewUser("x", nil, nil, nil), in, write...)) != len(in) {
		t.Error("with no permissions Filter must keep everything")
	}
}

// benchSet is ten permissions, the last one granting the benchmark's user.
func benchSet() (*Set, *auth.User, Resource) {
	var perms []*model.Permission
	for i := range 10 {
		perms = append(perms, perm(fmt.Sprintf("p%02d", i), []model.ResourceType{model.TypeFeatureView, model.TypeFeatureService},
			[]string{fmt.Sprintf("team_%d_.*", i%3), "shared_.*"}, map[string]string{"env": "prod"}, []model.Action{model.ActionReadOnline, model.ActionReadOffline},
			roles(fmt.Sprintf("role_%d", i))))
	}
	u := auth.NewUser("ann", []string{"role_9", "viewer", "other"}, []string{"g1", "g2"}, nil)
	return Compile(perms), u, fv("team_0_driver_stats", map[string]string{"env": "prod", "team": "zero"})
}

// BenchmarkDecide is an uncached decision: ten permissions, one resource.
func BenchmarkDecide(b *testing.B) {
	s, u, r := benchSet()
	if err := s.Decide(u, r, model.ActionReadOnline); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Decide(u, r, model.ActionReadOnline)
	}
}

// BenchmarkCheckCached is the serving hot path: a decision already cached
// for this identity and request.
func BenchmarkCheckCached(b *testing.B) {
	s, u, r := benchSet()
	rs := []Resource{r}
	if err := s.Check(u, "svc", rs, model.ActionReadOnline); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Check(u, "svc", rs, model.ActionReadOnline)
	}
}
