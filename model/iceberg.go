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
	t = &IcebergTable{Table: table, Catalog: f.GetCatalog()}
	// Spark resolves a leading catalog name in a three-part name; toProto
	// writes the namespace as everything before the last dot, and such a
	// table keeps its name even when its namespace starts like the
	// catalog.
	written := false
	if i := strings.LastIndexByte(t.Table, '.'); i > 0 {
		written = f.GetNamespace() == t.Table[:i]
	}
	if c := f.GetCatalog(); c != "" && !written && strings.Count(t.Table, ".") >= 2 {
		t.Table = strings.TrimPrefix(t.Table, c+".")
	}
	if ns := f.GetNamespace(); ns != "" && !strings.Contains(t.Table, ".") {
		t.Table = ns + "." + t.Table
	}
	props := maps.Clone(f.GetProperties())
	prefixed, python := false, false
	for k := range props {
		prefixed = prefixed || strings.HasPrefix(k, icebergCatalogProp)
		python = python || strings.HasPrefix(k, "iceberg.")
	}
	for k := range props {
		python = python || (!prefixed && k != icebergSnapshotProp && k != icebergAsOfProp)
	}
	// toProto records the namespace as everything before the table's last
	// dot (none for an undotted table): another shape was written by
	// Python Feast. A Python source whose namespace and properties look
	// like ours (an undotted table, no namespace, only a pin) is read as
	// ours, pin included.
	if i := strings.LastIndexByte(table, '.'); i > 0 {
		python = python || f.GetNamespace() != table[:i]
	} else {
		python = python || f.GetNamespace() != ""
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

// IcebergTableName reports whether a Spark source's path names an Iceberg
// table (Feast's path form: namespace.table, dotted) rather than a
// location: Iceberg's Spark source takes anything with a slash, a
// backslash or a colon for a location.
func IcebergTableName(path string) bool {
	return path != "" && !strings.ContainsAny(path, `/\:`)
}
