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

// With the duckdb_arrow build tag, Arrow data crosses into and out of
// DuckDB through its Arrow C interface, without copies through files.

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

// queryArrow runs a query and streams its result as Arrow batches. The
// reader uses conn until it is released.
func (s *Store) queryArrow(ctx context.Context, conn *sql.Conn, query string) (array.RecordReader, error) {
	var rr array.RecordReader
	err := conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err = ar.QueryContext(ctx, query)
		return err
	})
	return rr, err
}
