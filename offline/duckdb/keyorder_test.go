package duckdb

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/offlinetest"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// TestKeyOrderAtScale: a key-ordered pull of 200k entities keeps its order
// through DuckDB's threads, its sort (which spills at the default memory
// limit) and the temporary Parquet file read back in several batches.
func TestKeyOrderAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("large pull")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenOptions(ctx, Options{RepoPath: dir, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const entities, rows = 200_000, 300_000
	r := rand.New(rand.NewPCG(3, 4))
	ids := make([]int64, entities)
	for i := range ids {
		ids[i] = r.Int64() - 1<<62
	}
	tbl := &offlinetest.Table{Cols: []offlinetest.Col{{Name: "driver_id", Type: "int64"}, {Name: "event_timestamp", Type: "timestamptz"}, {Name: "v", Type: "int64"}}}
	for i := range rows {
		tbl.Rows = append(tbl.Rows, []any{ids[i%entities], t0.Add(time.Duration(i) * time.Millisecond), int64(i)})
	}
	writeParquet(t, tbl, filepath.Join(dir, "f.parquet"))
	view := statsView(&model.DataSource{Name: "f", Kind: model.SourceFile, Path: "f.parquet", TimestampField: "event_timestamp"})
	rr, err := s.PullLatestInKeyOrder(ctx, view, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var prev []byte
	n, batches := 0, 0
	for rr.Next() {
		batches++
		rec := rr.RecordBatch()
		col := rec.Column(rec.Schema().FieldIndices("driver_id")[0]).(*array.Int64)
		vs := rec.Column(rec.Schema().FieldIndices("v")[0]).(*array.Int64)
		for i := range col.Len() {
			key, err := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: col.Value(i)}}})
			if err != nil {
				t.Fatal(err)
			}
			if prev != nil && bytes.Compare(prev, key) >= 0 {
				t.Fatalf("row %d (driver %d, bytes %x) is not after the previous key %x", n, col.Value(i), key[len(key)-8:], prev[len(prev)-8:])
			}
			// The latest row of an entity is its second one, when it has two.
			if v := vs.Value(i); v < entities && v+entities < rows {
				t.Fatalf("driver %d: v %d is not its latest row", col.Value(i), v)
			}
			prev = key
			n++
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	if n != entities || batches < 2 {
		t.Fatalf("%d rows in %d batches, want %d rows in several batches", n, batches, entities)
	}
}
