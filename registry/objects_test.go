package registry_test

import (
	"testing"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// TestPermissionObjects: permissions are objects of their project like
// every managed kind: listed, replaced by name, removed, and removed with
// their project.
func TestPermissionObjects(t *testing.T) {
	perm := func(project, name string, roles ...string) *core.Permission {
		return &core.Permission{Spec: &core.PermissionSpec{Name: name, Project: project,
			Policy: &core.Policy{PolicyType: &core.Policy_RoleBasedPolicy{RoleBasedPolicy: &core.RoleBasedPolicy{Roles: roles}}}}}
	}
	r := &core.Registry{}
	registry.Put(r, registry.Object{Kind: registry.KindPermission, Name: "a", Msg: perm("p", "a", "r1")})
	registry.Put(r, registry.Object{Kind: registry.KindPermission, Name: "a", Msg: perm("other", "a", "r1")})
	registry.Put(r, registry.Object{Kind: registry.KindPermission, Name: "b", Msg: perm("p", "b", "r1")})
	registry.Put(r, registry.Object{Kind: registry.KindPermission, Name: "a", Msg: perm("p", "a", "r2")})
	objs := registry.Objects(r, "p")
	if len(objs) != 2 || objs[0].Kind != registry.KindPermission || objs[0].Name != "a" || objs[1].Name != "b" {
		t.Fatalf("objects = %v", objs)
	}
	if roles := objs[0].Msg.(*core.Permission).GetSpec().GetPolicy().GetRoleBasedPolicy().GetRoles(); len(roles) != 1 || roles[0] != "r2" {
		t.Errorf("Put did not replace permission a: roles %v", roles)
	}
	registry.Remove(r, "p", registry.KindPermission, "b")
	if objs := registry.Objects(r, "p"); len(objs) != 1 || objs[0].Name != "a" {
		t.Errorf("after Remove: %v", objs)
	}
	registry.DeleteProject(r, "p")
	if len(r.Permissions) != 1 || r.Permissions[0].GetSpec().GetProject() != "other" {
		t.Errorf("after DeleteProject: %v", r.Permissions)
	}
}
