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
// for other Spark sources.
func icebergFromProto(p *core.DataSource) (t *IcebergTable, ok bool) {
	so := p.GetSparkOptions()
	f := so.GetTableFormat().GetIcebergFormat()
	if f == nil || so.GetTable() == "" {
		return nil, false
	}
	t = &IcebergTable{Table: so.GetTable(), Catalog: f.GetCatalog()}
	if ns := f.GetNamespace(); ns != "" && !strings.HasPrefix(t.Table, ns+".") {
		t.Table = ns + "." + t.Table
	}
	props := maps.Clone(f.GetProperties())
	for k, v := range props {
		if name, found := strings.CutPrefix(k, icebergCatalogProp); found {
			if t.CatalogProperties == nil {
				t.CatalogProperties = map[string]string{}
			}
			t.CatalogProperties[name] = v
		}
	}
	t.SnapshotID, _ = strconv.ParseInt(props[icebergSnapshotProp], 10, 64)
	if ms, err := strconv.ParseInt(props[icebergAsOfProp], 10, 64); err == nil {
		t.AsOf = time.UnixMilli(ms).UTC()
	}
	return t, true
}
