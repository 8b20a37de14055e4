package objstore_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/feastgo/feast/offline/objstore"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

// parquetBytes writes n hourly rows in row groups of perGroup rows.
func parquetBytes(t *testing.T, n, perGroup int) []byte {
	t.Helper()
	rec := record(t, n)
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(perGroup))), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Plan prunes as Stage does without downloading; StageObject fetches the
// planned row groups alone, and refuses an object changed or deleted since.
func TestPlanAndStageObject(t *testing.T) {
	srv := fakes3.Start(t, "b")
	data := parquetBytes(t, 24, 6)
	srv.Put(t, "b", "p/a.parquet", data)
	s, err := objstore.New(objstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	req := objstore.Request{Source: "src", Path: srv.URL("b", "p/"), TimestampColumn: "ts",
		Window: objstore.Window{From: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)}}
	plan, err := s.Plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Objects) != 1 || plan.Format != "parquet" {
		t.Fatalf("plan %+v, want one parquet object", plan)
	}
	o := plan.Objects[0]
	if o.Key != "p/a.parquet" || o.URL != "s3://b/p/a.parquet" || o.Size != int64(len(data)) ||
		!reflect.DeepEqual(o.RowGroupRows, []int64{6, 6, 6, 6}) || !reflect.DeepEqual(o.RowGroups, []int{1, 2}) {
		t.Errorf("planned %+v", o)
	}
	if st := s.Stats(); st.ObjectsRead != 0 || st.FootersRead != 1 {
		t.Errorf("planning read %+v, want one footer and no object", st)
	}

	before := s.Stats().BytesRead
	part, err := s.StageObject(ctx, req, o, o.RowGroups)
	if err != nil {
		t.Fatal(err)
	}
	defer part.Release()
	r, err := file.OpenParquetFile(part.Path, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.NumRowGroups() != 2 || r.NumRows() != 12 || part.RowGroups != nil {
		t.Errorf("staged %d row groups, %d rows, read %v; want row groups 1 and 2 alone", r.NumRowGroups(), r.NumRows(), part.RowGroups)
	}
	r.Close()
	if n := s.Stats().BytesRead - before; n >= int64(len(data)) {
		t.Errorf("staging two row groups of four read %d bytes of %d", n, len(data))
	}
	whole, err := s.StageObject(ctx, req, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole.Release()
	if r, err := file.OpenParquetFile(whole.Path, false); err != nil || r.NumRowGroups() != 4 {
		t.Errorf("whole object: %v", err)
	} else {
		r.Close()
	}

	srv.Put(t, "b", "p/a.parquet", parquetBytes(t, 20, 6))
	if _, err := s.StageObject(ctx, req, o, o.RowGroups); err == nil || !strings.Contains(err.Error(), "s3://b/p/a.parquet changed since it was planned") {
		t.Errorf("changed object: %v", err)
	}
	b, err := srv.Bucket(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Delete(ctx, "p/a.parquet"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StageObject(ctx, req, o, nil); err == nil || !strings.Contains(err.Error(), "s3://b/p/a.parquet") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("deleted object: %v", err)
	}
}
