package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/offlinetest"
)

var pgTypes = map[string]string{
	"int64": "BIGINT", "int32": "INTEGER", "float64": "DOUBLE PRECISION", "float32": "REAL",
	"string": "TEXT", "bool": "BOOLEAN", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ",
	"decimal(20,0)": "NUMERIC(20,0)", "decimal(10,2)": "NUMERIC(10,2)", "decimal(18,0)": "NUMERIC(18,0)", "decimal(38,18)": "NUMERIC(38,18)",
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), config.PostgresConfig{DSN: testenv.PostgresDSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// createTable stores a test table in a new uniquely named table.
func createTable(t *testing.T, s *Store, tbl *offlinetest.Table) string {
	t.Helper()
	ctx := context.Background()
	name := testenv.UniqueName("feast_offline_src")
	var defs, cols []string
	for _, c := range tbl.Cols {
		defs = append(defs, s.dialect.QuoteIdent(c.Name)+" "+pgTypes[c.Type])
		cols = append(cols, c.Name)
	}
	if _, err := s.pool.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", name, strings.Join(defs, ", "))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+name) })
	rr, err := tbl.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{name}, cols, &copySource{ctx: ctx, rr: rr}); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestConformance(t *testing.T) {
	offlinetest.Run(t, func(t *testing.T) *offlinetest.Backend {
		s := openStore(t)
		n := 0
		return &offlinetest.Backend{Store: s, CreateSource: func(t *testing.T, name string, tbl *offlinetest.Table) *model.DataSource {
			table := createTable(t, s, tbl)
			n++
			if n%2 == 0 { // every other source is a query source
				return &model.DataSource{Kind: model.SourcePostgres, Query: "SELECT * FROM " + table}
			}
			return &model.DataSource{Kind: model.SourcePostgres, Table: table}
		}}
	})
}
