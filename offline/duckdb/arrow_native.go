//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// With the duckdb_arrow build tag, entity rows cross into DuckDB through
// its Arrow C interface, without a copy through a file.

// stageRecords copies an Arrow stream into a temporary table, in order.
func (s *Store) stageRecords(ctx context.Context, conn *sql.Conn, rr array.RecordReader, table string) error {
	view := table + "_arrow"
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		release, err := ar.RegisterView(rr, view)
		if err != nil {
			return err
		}
		defer release()
		ex := dc.(driver.ExecerContext)
		q := fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT * FROM %s", s.dialect.QuoteIdent(table), s.dialect.QuoteIdent(view))
		if _, err := ex.ExecContext(ctx, q, nil); err != nil {
			return err
		}
		_, err = ex.ExecContext(ctx, "DROP VIEW IF EXISTS "+s.dialect.QuoteIdent(view), nil)
		return err
	})
}
