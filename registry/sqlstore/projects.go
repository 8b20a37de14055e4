package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/core"
)

// ListProjects returns every project of the database: the Project record of
// each projects row (sorted by name) and, as unrecorded, the sorted
// project_ids that own rows in an object table or feast_metadata but have
// no projects row (registries written by Feast before project records
// existed). It reads one statement, so it is one consistent snapshot.
// registry.ListProjects (`feast projects list`, the UI) uses it.
func (s *Store) ListProjects(ctx context.Context) (records []*core.Project, unrecorded []string, err error) {
	parts := []string{"SELECT 0, project_id, project_proto FROM projects"}
	for _, t := range tableDefs {
		if t.name == "projects" {
			continue
		}
		// An empty blob keeps the column types of the union alike.
		parts = append(parts, fmt.Sprintf("SELECT DISTINCT 1, project_id, %s FROM %s", s.dialect.textAsBytes("''"), t.name))
	}
	rows, err := s.db.QueryContext(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return nil, nil, fmt.Errorf("list registry projects: %w", err)
	}
	defer rows.Close()
	recorded := map[string]bool{}
	others := map[string]bool{}
	for rows.Next() {
		var (
			k    int
			id   string
			data []byte
		)
		if err := rows.Scan(&k, &id, &data); err != nil {
			return nil, nil, fmt.Errorf("list registry projects: %w", err)
		}
		if k == 1 {
			others[id] = true
			continue
		}
		p := &core.Project{}
		if err := proto.Unmarshal(data, p); err != nil {
			return nil, nil, fmt.Errorf("decode projects row %s: %w (the row is not a feast.core.Project; remove it or restore it from a backup)", id, err)
		}
		// As Load does for objects, the row's project_id is the project.
		if p.Spec == nil {
			p.Spec = &core.ProjectSpec{}
		}
		p.Spec.Name = id
		recorded[id] = true
		records = append(records, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list registry projects: %w", err)
	}
	for id := range others {
		if !recorded[id] && id != "" {
			unrecorded = append(unrecorded, id)
		}
	}
	sort.Slice(records, func(i, j int) bool { return records[i].GetSpec().GetName() < records[j].GetSpec().GetName() })
	sort.Strings(unrecorded)
	return records, unrecorded, nil
}
