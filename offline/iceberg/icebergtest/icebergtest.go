// Package icebergtest creates Iceberg tables for tests and benchmarks: a
// SQL catalog in a SQLite file with a warehouse on local disk (or any
// warehouse URL iceberg-go writes to), tables made from Arrow records, one
// snapshot per appended record.
package icebergtest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	iceberggo "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// SQLiteCatalog returns the properties of a SQL catalog kept in a SQLite
// file in dir, with its warehouse at warehouse (a local folder under dir
// when empty). Writers wait for SQLite's lock instead of failing.
func SQLiteCatalog(dir, warehouse string) map[string]string {
	if warehouse == "" {
		warehouse = "file://" + filepath.Join(dir, "warehouse")
	}
	return map[string]string{
		"type":        "sql",
		"uri":         "file:" + filepath.Join(dir, "catalog.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)",
		"sql.driver":  "sqlite",
		"sql.dialect": "sqlite",
		"warehouse":   warehouse,
	}
}

// Options shape a created table.
type Options struct {
	// PartitionDay partitions the table by day(column).
	PartitionDay string
	// PartitionIdentity partitions the table by a column's value.
	PartitionIdentity string
	// Properties are table properties.
	Properties map[string]string
}

// CreateTable creates the table ident (namespace.table, the namespace
// created if missing) with recs[0]'s schema and appends each record as its
// own snapshot. It returns the table after the last append.
func CreateTable(tb testing.TB, props map[string]string, ident string, opts Options, recs ...arrow.RecordBatch) *table.Table {
	tb.Helper()
	ctx := context.Background()
	cat, err := catalog.Load(ctx, "default", iceberggo.Properties(props))
	if err != nil {
		tb.Fatal(err)
	}
	if c, ok := cat.(interface{ Close() error }); ok {
		tb.Cleanup(func() { c.Close() })
	}
	id := catalog.ToIdentifier(ident)
	ns := catalog.NamespaceFromIdent(id)
	if ok, err := cat.CheckNamespaceExists(ctx, ns); err != nil {
		tb.Fatal(err)
	} else if !ok {
		if err := cat.CreateNamespace(ctx, ns, nil); err != nil && !strings.Contains(err.Error(), "exists") {
			tb.Fatal(err)
		}
	}
	sc, err := table.ArrowSchemaToIcebergWithFreshIDs(recs[0].Schema(), false)
	if err != nil {
		tb.Fatal(err)
	}
	var create []catalog.CreateTableOpt
	var fields []iceberggo.PartitionOption
	if opts.PartitionDay != "" {
		fields = append(fields, iceberggo.AddPartitionFieldByName(opts.PartitionDay, opts.PartitionDay+"_day", iceberggo.DayTransform{}, sc, nil))
	}
	if opts.PartitionIdentity != "" {
		fields = append(fields, iceberggo.AddPartitionFieldByName(opts.PartitionIdentity, opts.PartitionIdentity, iceberggo.IdentityTransform{}, sc, nil))
	}
	if len(fields) > 0 {
		spec, err := iceberggo.NewPartitionSpecOpts(fields...)
		if err != nil {
			tb.Fatal(err)
		}
		create = append(create, catalog.WithPartitionSpec(&spec))
	}
	if opts.Properties != nil {
		create = append(create, catalog.WithProperties(opts.Properties))
	}
	tbl, err := cat.CreateTable(ctx, id, sc, create...)
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		if rec.NumRows() == 0 {
			continue
		}
		rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		if err != nil {
			tb.Fatal(err)
		}
		tbl, err = tbl.Append(ctx, rr, nil)
		rr.Release()
		if err != nil {
			tb.Fatal(err)
		}
	}
	return tbl
}
