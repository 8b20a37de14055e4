package model

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/feastgo/feast/proto/feast/core"
)

// Feast has no Iceberg source of its own; its registry carries an Iceberg
// table as a Spark source with an Iceberg table format (SparkOptions.table
// and TableFormat.IcebergFormat), which is what Feast's SparkSource reads
// Iceberg tables with. The properties map holds the snapshot pin under
// Spark's read option names and the catalog properties prefixed with
// "catalog.".
const (
	classSparkSource = "feast.infra.offline_stores.contrib.spark_offline_store.spark_source.SparkSource"

	icebergSnapshotProp = "snapshot-id"
	icebergAsOfProp     = "as-of-timestamp" // milliseconds since the epoch
	icebergCatalogProp  = "catalog."
)

func (t *IcebergTable) toProto(p *core.DataSource) {
	p.Type = core.DataSource_BATCH_SPARK
	p.DataSourceClassType = classSparkSource
	props := map[string]string{}
	for k, v := range t.CatalogProperties {
		props[icebergCatalogProp+k] = v
	}
	if t.SnapshotID != 0 {
		props[icebergSnapshotProp] = strconv.FormatInt(t.SnapshotID, 10)
	}
	if !t.AsOf.IsZero() {
		props[icebergAsOfProp] = strconv.FormatInt(t.AsOf.UnixMilli(), 10)
	}
	ns := ""
	if i := strings.LastIndexByte(t.Table, '.'); i > 0 {
		ns = t.Table[:i]
	}
	p.Options = &core.DataSource_SparkOptions_{SparkOptions: &core.DataSource_SparkOptions{
		Table: t.Table,
		TableFormat: &core.TableFormat{Format: &core.TableFormat_IcebergFormat_{IcebergFormat: &core.TableFormat_IcebergFormat{
			Catalog: t.Catalog, Namespace: ns, Properties: props,
		}}},
	}}
}

// icebergFromProto reads a Spark source over an Iceberg table; ok is false
// for other Spark sources. Besides what toProto writes, it reads what
// Python Feast writes for SparkSource(table_format=IcebergFormat(...)):
// the table named by path (Feast's path form) when table is empty, and
// properties without the "catalog." prefix, which are then the catalog's
// (Feast's own iceberg.* keys and the snapshot pin aside).
func icebergFromProto(p *core.DataSource) (t *IcebergTable, ok bool) {
	so := p.GetSparkOptions()
	f := so.GetTableFormat().GetIcebergFormat()
	table, pathForm := so.GetTable(), false
	if table == "" && IcebergTableName(so.GetPath()) {
		table, pathForm = so.GetPath(), true
	}
	if f == nil || table == "" {
		return nil, false
	}
	// toProto records the namespace as everything before the table's last
	// dot (none for an undotted table); another shape was written by
	// Python Feast, whose table name is read as Spark reads it. A Python
	// source whose shape and properties look like ours (an undotted
	// table, no namespace, only a pin) is read as ours, pin included.
	ours := f.GetNamespace() == ""
	if i := strings.LastIndexByte(table, '.'); i > 0 {
		ours = f.GetNamespace() == table[:i]
	}
	t = &IcebergTable{Table: table, Catalog: f.GetCatalog()}
	if !ours {
		t.Table = SparkIcebergTable(table, f.GetCatalog(), f.GetNamespace())
	}
	props := maps.Clone(f.GetProperties())
	prefixed, python := false, !ours
	for k := range props {
		prefixed = prefixed || strings.HasPrefix(k, icebergCatalogProp)
		python = python || strings.HasPrefix(k, "iceberg.")
	}
	for k := range props {
		python = python || (!prefixed && k != icebergSnapshotProp && k != icebergAsOfProp)
	}
	for k, v := range props {
		name, found := strings.CutPrefix(k, icebergCatalogProp)
		if !found && (prefixed || k == icebergSnapshotProp || k == icebergAsOfProp || strings.HasPrefix(k, "iceberg.")) {
			continue
		}
		if t.CatalogProperties == nil {
			t.CatalogProperties = map[string]string{}
		}
		t.CatalogProperties[name] = v
	}
	// Python Feast applies a snapshot pin only in the path form: with
	// table= it reads the table through Spark's catalog, which ignores it.
	if python && !pathForm {
		return t, true
	}
	t.SnapshotID, _ = strconv.ParseInt(props[icebergSnapshotProp], 10, 64)
	if ms, err := strconv.ParseInt(props[icebergAsOfProp], 10, 64); err == nil {
		t.AsOf = time.UnixMilli(ms).UTC()
	}
	return t, true
}

// SparkIcebergTable is the Iceberg table (namespace.table) a Spark source
// names with table, as Spark resolves it: a leading catalog name of a
// three-part name dropped, the table format's namespace prefixed to a
// name that has none.
func SparkIcebergTable(table, catalog, namespace string) string {
	if catalog != "" && strings.Count(table, ".") >= 2 {
		table = strings.TrimPrefix(table, catalog+".")
	}
	if namespace != "" && !strings.Contains(table, ".") {
		table = namespace + "." + table
	}
	return table
}

// IcebergTableName reports whether a Spark source's path names an Iceberg
// table (Feast's path form: namespace.table, dotted) rather than a
// location: Iceberg's Spark source takes anything with a slash, a
// backslash or a colon for a location.
func IcebergTableName(path string) bool {
	return path != "" && !strings.ContainsAny(path, `/\:`)
}
