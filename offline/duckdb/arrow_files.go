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

// Without the duckdb_arrow build tag, Arrow data crosses into and out of
// DuckDB through temporary Parquet files in the store's temp directory:
// streamed on both sides, so memory stays bounded.

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

// queryArrow runs a query and streams its result as Arrow batches.
func (s *Store) queryArrow(ctx context.Context, conn *sql.Conn, query string) (array.RecordReader, error) {
	path := filepath.Join(s.tmp, s.tempName("result")+".parquet")
	if _, err := conn.ExecContext(ctx, "COPY ("+query+") TO "+quoteString(path)+" (FORMAT parquet, COMPRESSION uncompressed)"); err != nil {
		os.Remove(path)
		return nil, err
	}
	return offline.ReadParquet(ctx, path, 64*1024, func() { os.Remove(path) })
}
