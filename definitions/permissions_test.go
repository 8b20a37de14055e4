package definitions_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
)

// TestGoodPermissions: the permissions of testdata/good parse into Feast's
// types, actions (aliases expanded, repeats dropped) and policies.
func TestGoodPermissions(t *testing.T) {
	repo, err := definitions.Load("testdata/good", definitions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Permissions) != 3 {
		t.Fatalf("permissions = %d, want 3", len(repo.Permissions))
	}
	a := repo.Permissions[0]
	if a.Name != "team_a_reads" || !slices.Equal(a.Types, []model.ResourceType{model.TypeFeatureView, model.TypeOnDemandFeatureView, model.TypeFeatureService}) ||
		!slices.Equal(a.NamePatterns, []string{"^team_a_.*"}) || a.RequiredTags["team"] != "a" || a.Tags["owner"] != "platform" ||
		!slices.Equal(a.Actions, []model.Action{model.ActionReadOnline, model.ActionReadOffline}) ||
		a.Policy.Kind != model.PolicyRoles || !slices.Equal(a.Policy.Roles, []string{"team-a-reader"}) {
		t.Errorf("team_a_reads = %+v", a)
	}
	in := repo.Permissions[1]
	if !slices.Equal(in.Actions, []model.Action{model.ActionWriteOnline, model.ActionWriteOffline, model.ActionReadOnline}) {
		t.Errorf("ingestion_push actions = %v (WRITE expanded, WRITE_ONLINE not repeated)", in.Actions)
	}
	if in.Policy.Kind != model.PolicyGroupsNamespaces || !slices.Equal(in.Policy.Groups, []string{"ingestion"}) || !slices.Equal(in.Policy.Namespaces, []string{"jobs"}) {
		t.Errorf("ingestion_push policy = %+v", in.Policy)
	}
	adm := repo.Permissions[2]
	if adm.Policy.Kind != model.PolicyAllowAll || !slices.Equal(adm.Actions, model.AllActions()) || len(adm.Types) != 0 || len(adm.NamePatterns) != 0 {
		t.Errorf("admins = %+v", adm)
	}
	if repo.Empty() {
		t.Error("a repository of permissions only is not empty")
	}
}

// pythonPermissions are Permission protos as Python Feast's
// Permission.to_proto and apply_permission write them: types listed one by
// one (ALL_RESOURCE_TYPES when omitted), a policy without project, AllowAll
// as an empty policy, meta timestamps, no managed-by tag.
func pythonPermissions() []*core.Permission {
	spec := func(name string, types []core.PermissionSpec_Type, patterns []string, actions []core.PermissionSpec_AuthzedAction, pol *core.Policy) *core.Permission {
		return &core.Permission{Spec: &core.PermissionSpec{Name: name, Project: "p", Types: types, NamePatterns: patterns, Actions: actions, Policy: pol,
			RequiredTags: map[string]string{"team": "a"}, Tags: map[string]string{"owner": "platform"}}}
	}
	all := make([]core.PermissionSpec_Type, 0, 11)
	for t := core.PermissionSpec_FEATURE_VIEW; t <= core.PermissionSpec_PROJECT; t++ {
		all = append(all, t)
	}
	allActions := []core.PermissionSpec_AuthzedAction{0, 1, 2, 3, 4, 5, 6, 7}
	out := []*core.Permission{
		spec("feast_admin_permission", all, nil, allActions,
			&core.Policy{PolicyType: &core.Policy_RoleBasedPolicy{RoleBasedPolicy: &core.RoleBasedPolicy{Roles: []string{"feast-writer"}}}}),
		spec("feast_user_permission", all, []string{"team_a_.*", "shared"},
			[]core.PermissionSpec_AuthzedAction{core.PermissionSpec_DESCRIBE, core.PermissionSpec_READ_ONLINE, core.PermissionSpec_READ_OFFLINE},
			&core.Policy{PolicyType: &core.Policy_GroupBasedPolicy{GroupBasedPolicy: &core.GroupBasedPolicy{Groups: []string{"readers"}}}}),
		spec("push_only", []core.PermissionSpec_Type{core.PermissionSpec_FEATURE_VIEW}, nil,
			[]core.PermissionSpec_AuthzedAction{core.PermissionSpec_WRITE_ONLINE, core.PermissionSpec_WRITE_OFFLINE},
			&core.Policy{PolicyType: &core.Policy_NamespaceBasedPolicy{NamespaceBasedPolicy: &core.NamespaceBasedPolicy{Namespaces: []string{"jobs"}}}}),
		spec("combined", []core.PermissionSpec_Type{core.PermissionSpec_FEATURE_SERVICE, core.PermissionSpec_STREAM_FEATURE_VIEW}, nil,
			[]core.PermissionSpec_AuthzedAction{core.PermissionSpec_READ_ONLINE},
			&core.Policy{PolicyType: &core.Policy_CombinedGroupNamespacePolicy{CombinedGroupNamespacePolicy: &core.CombinedGroupNamespacePolicy{
				Groups: []string{"g"}, Namespaces: []string{"n1", "n2"}}}}),
		spec("anyone_describes", nil, nil, []core.PermissionSpec_AuthzedAction{core.PermissionSpec_DESCRIBE}, &core.Policy{}),
	}
	for _, p := range out {
		p.Meta = &core.PermissionMeta{}
	}
	return out
}

// TestPythonPermissionsRoundTrip: permissions Python Feast wrote export to
// YAML that parses back into the same spec (tags aside: apply adds its
// managed-by tag), and a plan of the exported definitions against the
// registry changes nothing but that tag.
func TestPythonPermissionsRoundTrip(t *testing.T) {
	reg := &core.Registry{Permissions: pythonPermissions()}
	exp := definitions.FromRegistry(reg, "p")
	if len(exp.Gaps()) > 0 {
		t.Fatalf("gaps: %v", exp.Gaps())
	}
	files := exp.Files(definitions.LayoutKind)
	yamlText := string(files["permissions.yaml"])
	for _, want := range []string{"actions: [ALL]", "policy: {allow_all: true}", "policy: {groups: [g], namespaces: [n1, n2]}", "name_patterns: [team_a_.*, shared]"} {
		if !strings.Contains(yamlText, want) {
			t.Errorf("permissions.yaml lacks %q:\n%s", want, yamlText)
		}
	}
	repo, err := definitions.ParseFiles(toStrings(files), definitions.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, yamlText)
	}
	if len(repo.Permissions) != len(reg.Permissions) {
		t.Fatalf("parsed %d permissions, want %d", len(repo.Permissions), len(reg.Permissions))
	}
	byName := map[string]*core.PermissionSpec{}
	for _, p := range reg.Permissions {
		byName[p.Spec.Name] = p.Spec
	}
	for _, p := range repo.Permissions {
		got := p.ToProto("p").Spec
		want := proto.Clone(byName[p.Name]).(*core.PermissionSpec)
		got.Tags, want.Tags = nil, nil
		if !proto.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", p.Name, got, want)
		}
	}
	for _, o := range diff.Compute(reg, "p", diff.Desired(repo, "p")).Objects {
		for _, prop := range o.Properties {
			if !strings.HasPrefix(prop.Path, "tags["+diff.ManagedByTag) {
				t.Errorf("%s %s: %s: %s -> %s", o.Action, o.Name, prop.Path, prop.Old, prop.New)
			}
		}
		if o.Action != diff.Update {
			t.Errorf("%s %s: want Updated (the managed-by tag only)", o.Action, o.Name)
		}
	}
}

// TestExportDropsUnknownPermissionTypes: a permission naming a type a
// newer Feast added is listed as not carried over instead of written.
func TestExportDropsUnknownPermissionTypes(t *testing.T) {
	reg := &core.Registry{Permissions: pythonPermissions()[:1]}
	reg.Permissions[0].Spec.Types = append(reg.Permissions[0].Spec.Types, 42)
	exp := definitions.FromRegistry(reg, "p")
	if g := exp.Gaps(); len(g) != 1 || !g[0].Dropped || !strings.Contains(g[0].Reason, "Type(42)") {
		t.Fatalf("gaps = %v", g)
	}
	if exp.Written() != 0 {
		t.Errorf("written = %d", exp.Written())
	}
}

// TestSecurityGuidePermissionsParse: the permissions examples of
// docs/security.md and README.md are valid definitions.
func TestSecurityGuidePermissionsParse(t *testing.T) {
	n := 0
	for _, doc := range []string{"../docs/security.md", "../README.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(string(data), "```yaml\n")[1:] {
			block, _, _ = strings.Cut(block, "```")
			if !strings.HasPrefix(block, "permissions:") {
				continue
			}
			n++
			repo, err := definitions.ParseFiles(map[string]string{"permissions.yaml": block}, definitions.Options{})
			if err != nil {
				t.Errorf("%s: %v\n%s", doc, err, block)
			} else if len(repo.Permissions) == 0 {
				t.Errorf("%s: no permissions in\n%s", doc, block)
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d permissions examples, want at least 3 (two in the security guide, one in the README)", n)
	}
}
