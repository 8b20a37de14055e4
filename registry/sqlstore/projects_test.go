package sqlstore

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/registry/registrytest"
)

// TestListProjects checks every project of the database is listed (the
// projects table and, for registries written before project records, the
// object tables), not only the one a Load names.
func TestListProjects(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := openStore(t, b.url(t), Options{})
			ctx := context.Background()
			for _, p := range []string{"beta", "alpha"} {
				if err := s.Update(ctx, p, func(r *core.Registry) error {
					r.Entities = append(r.Entities, registrytest.Entity(p, "driver"))
					if p == "alpha" {
						r.Projects = []*core.Project{{Spec: &core.ProjectSpec{Name: p, Description: "the alpha team", Owner: "a@example.com"}}}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			// A project Python Feast wrote before project records: an
			// entity row and nothing in projects.
			raw, err := proto.Marshal(&core.Entity{Spec: &core.EntitySpecV2{Name: "rider", JoinKey: "rider_id", ValueType: types.ValueType_INT64}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.ExecContext(ctx, s.dialect.rebind(
				"INSERT INTO entities (entity_name, project_id, last_updated_timestamp, entity_proto) VALUES (?, ?, ?, ?)"),
				"rider", "legacy", 1, raw); err != nil {
				t.Fatal(err)
			}

			records, unrecorded, err := s.ListProjects(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range records {
				names = append(names, p.GetSpec().GetName())
			}
			if !slices.Equal(names, []string{"alpha", "beta"}) || !slices.Equal(unrecorded, []string{"legacy"}) {
				t.Fatalf("ListProjects = records %v, unrecorded %v; want [alpha beta] and [legacy]", names, unrecorded)
			}
			if d := records[0].GetSpec().GetDescription(); d != "the alpha team" {
				t.Errorf("alpha description = %q", d)
			}

			// registry.ListProjects (feast projects list) sees all three,
			// and says the list is complete, whichever project is configured.
			infos, partial, err := registry.ListProjects(ctx, s, "beta")
			if err != nil {
				t.Fatal(err)
			}
			names = nil
			for _, i := range infos {
				names = append(names, i.Name)
			}
			if partial || !slices.Equal(names, []string{"alpha", "beta", "legacy"}) {
				t.Fatalf("registry.ListProjects = %v (partial %v), want [alpha beta legacy] complete", names, partial)
			}
			if infos[0].Owner != "a@example.com" || infos[0].Proto == nil || infos[2].Proto != nil {
				t.Errorf("alpha owner %q proto %v, legacy proto %v", infos[0].Owner, infos[0].Proto != nil, infos[2].Proto)
			}

			if err := s.Delete(ctx, "beta"); err != nil {
				t.Fatal(err)
			}
			records, unrecorded, err = s.ListProjects(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != 1 || records[0].GetSpec().GetName() != "alpha" || !slices.Equal(unrecorded, []string{"legacy"}) {
				t.Errorf("after deleting beta: records %v unrecorded %v", records, unrecorded)
			}
		})
	}
}
