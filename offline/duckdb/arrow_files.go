//go:build !duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/offline"
)

// Without the duckdb_arrow build tag, entity rows cross into DuckDB
// through a temporary Parquet file in the store's temp directory.

// stageRecords copies an Arrow stream into a temporary table, in order.
func (s *Store) stageRecords(ctx context.Context, conn *sql.Conn, rr array.RecordReader, table string) error {
	path := filepath.Join(s.tmp, table+".parquet")
	defer os.Remove(path)
	if _, err := offline.WriteParquet(ctx, rr, path); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, "CREATE TEMP TABLE "+s.dialect.QuoteIdent(table)+" AS SELECT * FROM read_parquet("+quoteString(path)+")")
	return err
}
