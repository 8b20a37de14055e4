package duckdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/offlinetest"
	"github.com/feastgo/feast/offline/sqlgen"
)

func newBackend(strategy sqlgen.Strategy) func(t *testing.T) *offlinetest.Backend {
	return func(t *testing.T) *offlinetest.Backend {
		s, err := OpenOptions(context.Background(), Options{Strategy: strategy, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return &offlinetest.Backend{Store: s, CreateSource: parquetSource}
	}
}

// parquetSource writes a table to a Parquet file in the test's temp dir.
func parquetSource(t *testing.T, name string, tbl *offlinetest.Table) *model.DataSource {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".parquet")
	writeParquet(t, tbl, path)
	return &model.DataSource{Kind: model.SourceFile, Path: path}
}

func writeParquet(t *testing.T, tbl *offlinetest.Table, path string) {
	t.Helper()
	rec, err := tbl.Record()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if _, err := offline.WriteParquet(context.Background(), rr, path); err != nil {
		t.Fatal(err)
	}
}

// The default strategy is PerView; the single-query ASOF and the window
// strategies go through the same suite.
func TestConformancePerView(t *testing.T) { offlinetest.Run(t, newBackend(sqlgen.Auto)) }

func TestConformanceAsOf(t *testing.T) { offlinetest.Run(t, newBackend(sqlgen.AsOf)) }

func TestConformanceWindow(t *testing.T) { offlinetest.Run(t, newBackend(sqlgen.Window)) }
