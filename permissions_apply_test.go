package feast_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// permissionDefs are the permissions the tests of this file apply.
const permissionDefs = `permissions:
  - name: team_a_reads
    types: [FeatureView, OnDemandFeatureView, FeatureService]
    name_patterns: ["^team_a_.*"]
    required_tags: {team: a}
    actions: [READ_ONLINE, READ_OFFLINE]
    policy: {roles: [team-a-reader]}
    tags: {owner: platform}
  - name: ops_materialize
    actions: [WRITE_ONLINE]
    policy: {allow_all: true}
`

// storedPermissions returns the permissions of project demo as the
// registry stores them: decoded from the registry file's bytes for a file
// registry, loaded from the tables for a SQL registry.
func storedPermissions(t *testing.T, fs *feast.FeatureStore) map[string]*core.Permission {
	t.Helper()
	var r *core.Registry
	if fs.Config().Registry.RegistryType != "sql" {
		data, err := os.ReadFile(filepath.Join(fs.Config().RepoPath, "data", "registry.db"))
		if err != nil {
			t.Fatal(err)
		}
		r = &core.Registry{}
		if err := proto.Unmarshal(data, r); err != nil {
			t.Fatalf("the registry file does not decode: %v", err)
		}
	} else {
		var err error
		if r, err = fs.Registry().Store().Load(context.Background(), "demo"); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*core.Permission{}
	for _, p := range r.GetPermissions() {
		if p.GetSpec().GetProject() == "demo" {
			out[p.GetSpec().GetName()] = p
		}
	}
	return out
}

// TestApplyPermissions: permissions defined in YAML are planned, written
// to the file and SQL registries as Feast's Permission proto with the
// managed-by tag and meta timestamps, updated and deleted like any other
// object, and a second plan after each apply has no changes.
func TestApplyPermissions(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	ctx := context.Background()
	for _, reg := range unmanagedRegistries {
		t.Run(reg.kind, func(t *testing.T) {
			dir := newRepo(t, reg.yaml(t), map[string]string{"features.yaml": ownedDefs, "permissions.yaml": permissionDefs})
			fs := open(t, dir, t0)
			p, err := fs.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var created []string
			for _, o := range p.Objects {
				if o.Kind == registry.KindPermission {
					created = append(created, string(o.Action)+" "+o.Name)
				}
			}
			if got := strings.Join(created, ", "); got != "Created ops_materialize, Created team_a_reads" {
				t.Errorf("plan of permissions: %s", got)
			}
			if err := fs.Apply(ctx, p); err != nil {
				t.Fatal(err)
			}

			stored := storedPermissions(t, fs)
			a := stored["team_a_reads"]
			if a == nil || stored["ops_materialize"] == nil || len(stored) != 2 {
				t.Fatalf("stored permissions: %v", stored)
			}
			s := a.GetSpec()
			if s.GetProject() != "demo" || !slices.Equal(s.GetTypes(), []core.PermissionSpec_Type{core.PermissionSpec_FEATURE_VIEW, core.PermissionSpec_ON_DEMAND_FEATURE_VIEW, core.PermissionSpec_FEATURE_SERVICE}) ||
				!slices.Equal(s.GetNamePatterns(), []string{"^team_a_.*"}) || s.GetRequiredTags()["team"] != "a" ||
				!slices.Equal(s.GetActions(), []core.PermissionSpec_AuthzedAction{core.PermissionSpec_READ_ONLINE, core.PermissionSpec_READ_OFFLINE}) ||
				!slices.Equal(s.GetPolicy().GetRoleBasedPolicy().GetRoles(), []string{"team-a-reader"}) ||
				s.GetTags()["owner"] != "platform" || s.GetTags()[diff.ManagedByTag] != diff.ManagedByValue {
				t.Errorf("team_a_reads stored as %v", a)
			}
			if !a.GetMeta().GetCreatedTimestamp().AsTime().Equal(t0) || !a.GetMeta().GetLastUpdatedTimestamp().AsTime().Equal(t0) {
				t.Errorf("team_a_reads meta = %v, want created and updated %v", a.GetMeta(), t0)
			}
			if pol := stored["ops_materialize"].GetSpec().GetPolicy(); pol == nil || pol.GetPolicyType() != nil {
				t.Errorf("allow_all is stored as %v, want an empty policy as Python Feast writes AllowAll", pol)
			}
			// The serving snapshot reads them back.
			r, err := fs.Registry().Store().Load(ctx, "demo")
			if err != nil {
				t.Fatal(err)
			}
			snap := registry.NewSnapshot(r, "demo", t0)
			if got := snap.Permissions["ops_materialize"]; got == nil || got.Policy.Kind != model.PolicyAllowAll || !slices.Equal(got.Actions, []model.Action{model.ActionWriteOnline}) {
				t.Errorf("snapshot permission = %+v", got)
			}

			again, err := fs.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if again.HasChanges() {
				t.Fatalf("second plan has changes:\n%s", describe(again))
			}

			// Update one permission and delete the other, an hour later.
			os.WriteFile(filepath.Join(dir, "permissions.yaml"), []byte(strings.Replace(
				strings.Split(permissionDefs, "  - name: ops_materialize")[0], "actions: [READ_ONLINE, READ_OFFLINE]", "actions: [READ_ONLINE]", 1)), 0o644)
			fs = reopen(t, dir, t1)
			p, err = fs.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := describe(p), "Deleted permission ops_materialize\nUpdated permission team_a_reads\n\tactions: [READ_ONLINE, READ_OFFLINE] -> [READ_ONLINE]\n"; got != want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, want)
			}
			if len(p.UnmanagedDeletes()) != 0 {
				t.Errorf("apply's own permission counts as unmanaged: %v", p.UnmanagedDeletes())
			}
			if err := fs.Apply(ctx, p); err != nil {
				t.Fatal(err)
			}
			stored = storedPermissions(t, fs)
			a = stored["team_a_reads"]
			if len(stored) != 1 || a == nil || !slices.Equal(a.GetSpec().GetActions(), []core.PermissionSpec_AuthzedAction{core.PermissionSpec_READ_ONLINE}) {
				t.Fatalf("after the update: %v", stored)
			}
			if !a.GetMeta().GetCreatedTimestamp().AsTime().Equal(t0) || !a.GetMeta().GetLastUpdatedTimestamp().AsTime().Equal(t1) {
				t.Errorf("updated meta = %v, want created %v and updated %v", a.GetMeta(), t0, t1)
			}
			if again, err := fs.Plan(ctx); err != nil || again.HasChanges() {
				t.Fatalf("plan after the update: %v\n%s", err, describe(again))
			}
			// Managed permissions do not hold up teardown.
			if err := fs.Teardown(ctx); err != nil {
				t.Errorf("teardown of feast-go's own objects: %v", err)
			}
		})
	}
}

// pythonPermission is a permission as Python Feast writes it: no
// managed-by tag, AllowAll as an empty policy.
func pythonPermission(name string) *core.Permission {
	return &core.Permission{
		Spec: &core.PermissionSpec{Name: name, Project: "demo", Types: []core.PermissionSpec_Type{core.PermissionSpec_FEATURE_VIEW},
			Actions: []core.PermissionSpec_AuthzedAction{core.PermissionSpec_READ_ONLINE},
			Policy:  &core.Policy{PolicyType: &core.Policy_RoleBasedPolicy{RoleBasedPolicy: &core.RoleBasedPolicy{Roles: []string{"py-reader"}}}}},
		Meta: &core.PermissionMeta{},
	}
}

// TestPythonPermissionIsProtected: a permission Python Feast wrote is not
// deleted by an apply of a repository that does not define it, nor by
// teardown, unless deleting unmanaged objects is allowed; the refusal
// changes nothing.
func TestPythonPermissionIsProtected(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, reg := range unmanagedRegistries {
		t.Run(reg.kind, func(t *testing.T) {
			dir := newRepo(t, reg.yaml(t), map[string]string{"features.yaml": ownedDefs, "permissions.yaml": permissionDefs})
			fs := open(t, dir, now)
			applyRepo(t, fs)
			err := fs.Registry().Store().Update(ctx, "demo", func(r *core.Registry) error {
				registry.Put(r, registry.Object{Kind: registry.KindPermission, Name: "py_perm", Msg: pythonPermission("py_perm")})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			before := registryState(t, fs)

			p, err := fs.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(p); got != "Deleted permission py_perm\n" {
				t.Errorf("plan:\n%s", got)
			}
			if u := p.UnmanagedDeletes(); len(u) != 1 || u[0].Kind != registry.KindPermission || u[0].Name != "py_perm" {
				t.Errorf("unmanaged deletions: %v", u)
			}
			var ue *feast.UnmanagedError
			if err := fs.Apply(ctx, p); !errors.As(err, &ue) || !slices.Equal(ue.Objects, []string{"permission py_perm"}) {
				t.Fatalf("apply: err = %v, want an UnmanagedError naming permission py_perm", err)
			}
			if err := fs.Teardown(ctx); !errors.As(err, &ue) || !slices.Equal(ue.Objects, []string{"permission py_perm"}) {
				t.Fatalf("teardown: err = %v, want an UnmanagedError naming only permission py_perm", err)
			}
			if after := registryState(t, fs); !sameState(before, after) {
				t.Error("the refused apply or teardown changed the registry")
			}
			if got := storedPermissions(t, fs)["py_perm"]; !proto.Equal(got, pythonPermission("py_perm")) {
				t.Errorf("the Python permission is now %v", got)
			}

			if err := fs.Apply(ctx, p, feast.ApplyOptions{AllowDeleteUnmanaged: true}); err != nil {
				t.Fatal(err)
			}
			if hasObject(t, fs, registry.KindPermission, "py_perm") || !hasObject(t, fs, registry.KindPermission, "team_a_reads") {
				t.Error("apply with AllowDeleteUnmanaged: wrong permissions left")
			}
		})
	}
}

// TestDefiningPythonPermissionAdoptsIt: a repository that defines a
// permission Python Feast wrote takes it over, as for every other kind:
// the plan shows the changes (the managed-by tag among them) and apply
// keeps its creation time.
func TestDefiningPythonPermissionAdoptsIt(t *testing.T) {
	t.Setenv(diff.RepoIDEnv, "r")
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	defs := "permissions:\n  - {name: py_perm, types: [FeatureView], actions: [READ_ONLINE], policy: {roles: [py-reader]}}\n"
	dir := newRepo(t, "registry: data/registry.db\n", map[string]string{"features.yaml": ownedDefs, "permissions.yaml": defs})
	fs := open(t, dir, t0)
	err := fs.Registry().Store().Update(ctx, "demo", func(r *core.Registry) error {
		py := pythonPermission("py_perm")
		py.Meta.CreatedTimestamp = nil
		registry.Put(r, registry.Object{Kind: registry.KindPermission, Name: "py_perm", Msg: py})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var perm []string
	for _, o := range p.Objects {
		if o.Kind == registry.KindPermission {
			perm = append(perm, string(o.Action)+" "+o.Name)
			for _, prop := range o.Properties {
				perm = append(perm, prop.Path+": "+prop.Old+" -> "+prop.New)
			}
		}
	}
	if got, want := strings.Join(perm, "\n"), "Updated py_perm\ntags[feast-go/managed-by]: (none) -> \"feast-go\"\ntags[feast-go/repo]: (none) -> \"r\""; got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	applyRepo(t, fs)
	if got := storedPermissions(t, fs)["py_perm"]; !diff.Managed(got) {
		t.Errorf("adopted permission = %v", got)
	}
}
