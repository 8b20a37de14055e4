package definitions

import (
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/model"
)

// parseIceberg reads an iceberg source's table, catalog and snapshot pin.
// Catalog property values are kept as written (${VAR} included): the
// offline store expands them when it reads the table, so the registry
// never holds credentials.
func (l *loader) parseIceberg(file string, m *yaml.Node, f map[string]*yaml.Node, obj string, s *model.DataSource) {
	t := &model.IcebergTable{
		Table:             l.str(file, f["table"], obj, "table"),
		Catalog:           l.str(file, f["catalog"], obj, "catalog"),
		CatalogProperties: l.strMap(file, f["catalog_properties"], obj, "catalog_properties"),
	}
	s.Iceberg = t
	if t.Table == "" {
		l.add(file, m.Line, obj, "table", "is required for an iceberg source (namespace.table)")
	}
	if s.TimestampField == "" {
		l.add(file, m.Line, obj, "timestamp_field", "is required (the event timestamp column)")
	}
	if n := f["snapshot_id"]; n != nil {
		id, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil || id == 0 || n.Kind != yaml.ScalarNode {
			l.add(file, n.Line, obj, "snapshot_id", "must be a snapshot id (a non-zero integer, as the table's snapshots list it)")
		}
		t.SnapshotID = id
	}
	if n := f["as_of"]; n != nil {
		at, err := time.Parse(time.RFC3339Nano, n.Value)
		if err != nil || n.Kind != yaml.ScalarNode {
			l.add(file, n.Line, obj, "as_of", "must be an RFC 3339 time such as 2026-03-01T00:00:00Z")
		}
		// Iceberg records snapshot times in milliseconds.
		t.AsOf = at.UTC().Truncate(time.Millisecond)
		if t.SnapshotID != 0 {
			l.add(file, n.Line, obj, "as_of", "set at most one of snapshot_id and as_of")
		}
	}
}

// exportIceberg writes an iceberg source's own fields.
func exportIceberg(m mapNode, t *model.IcebergTable) {
	if t == nil {
		return
	}
	m.set("table", str(t.Table))
	if t.Catalog != "" {
		m.set("catalog", str(t.Catalog))
	}
	if len(t.CatalogProperties) > 0 {
		m.set("catalog_properties", strMapNode(t.CatalogProperties, false))
	}
	if t.SnapshotID != 0 {
		m.set("snapshot_id", str(strconv.FormatInt(t.SnapshotID, 10)))
	}
	if !t.AsOf.IsZero() {
		m.set("as_of", str(t.AsOf.UTC().Format(time.RFC3339Nano)))
	}
}
