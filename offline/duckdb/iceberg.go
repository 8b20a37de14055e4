package duckdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/iceberg"
	"github.com/feastgo/feast/offline/objstore"
)

// icebergRelation stages an iceberg source for the window a read needs
// (offline/iceberg plans the snapshot's data files with the window as row
// filter) and reads the local Parquet files it hands back. Views sharing
// the source and window read it once per read.
func (s *Store) icebergRelation(ctx context.Context, src *model.DataSource, w objstore.Window, st *staging) (string, error) {
	if src.Iceberg == nil {
		return "", fmt.Errorf("iceberg source %s has no table: set table (namespace.table) in its definition", src.Name)
	}
	ic := src.Iceberg
	key := objstore.Request{
		Source: src.Name, TimestampColumn: src.TimestampField, Window: w,
		Path: fmt.Sprintf("iceberg:%s/%s@%d/%s", ic.Catalog, ic.Table, ic.SnapshotID, ic.AsOf),
	}
	if rel, ok := st.relation(key); ok {
		return rel, nil
	}
	staged, err := s.tables.Stage(ctx, src, w)
	if err != nil {
		return "", err
	}
	files := make([]string, len(staged.Files))
	for i, f := range staged.Files {
		files[i] = quoteString(f)
	}
	rel := "read_parquet([" + strings.Join(files, ", ") + "], union_by_name = true, hive_partitioning = false)"
	st.mu.Lock()
	st.releases = append(st.releases, staged.Release)
	if st.relations == nil {
		st.relations = map[objstore.Request]string{}
	}
	st.relations[key] = rel
	st.mu.Unlock()
	return rel, nil
}

// appendIceberg is the offline push to an iceberg source: one new snapshot
// holding the batch, columns renamed back to the source's (field mapping).
func (s *Store) appendIceberg(ctx context.Context, source *model.DataSource, rec arrow.RecordBatch) error {
	rec = renameToSource(source, rec)
	defer rec.Release()
	if err := s.tables.Append(ctx, source, rec); err != nil {
		return fmt.Errorf("offline push to %s: %w", source.Name, err)
	}
	return nil
}

// IcebergStats counts what reads of iceberg sources planned and read so far.
func (s *Store) IcebergStats() iceberg.Stats { return s.tables.Stats() }
