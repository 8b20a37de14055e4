package objstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"

	"github.com/feastgo/feast/offline/objstore"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

func TestParseLocation(t *testing.T) {
	for _, c := range []struct {
		path, bucketURL, key, prefix string
		match, noMatch               []string
	}{
		{path: "s3://b/features/", bucketURL: "s3://b", key: "features/", prefix: "features/"},
		{path: "s3://b/f/?endpoint=http://127.0.0.1:9000&use_path_style=true&region=us-east-1",
			bucketURL: "s3://b?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=us-east-1&use_path_style=true", key: "f/", prefix: "f/"},
		{path: "gs://b/f/dt=*/part-*.parquet", bucketURL: "gs://b", key: "f/dt=*/part-*.parquet", prefix: "f/dt=",
			match: []string{"f/dt=2026-01-01/part-0.parquet"}, noMatch: []string{"f/dt=1/x/part-0.parquet", "f/dt=1/part-0.csv"}},
		{path: "azblob://c/f/**/*.parquet", bucketURL: "azblob://c", key: "f/**/*.parquet", prefix: "f/",
			match: []string{"f/a.parquet", "f/x/y/a.parquet"}, noMatch: []string{"g/a.parquet"}},
	} {
		l, err := objstore.ParseLocation(c.path, "")
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if l.BucketURL != c.bucketURL || l.Key != c.key || l.ListPrefix() != c.prefix {
			t.Errorf("%s: got bucket %s key %s prefix %s", c.path, l.BucketURL, l.Key, l.ListPrefix())
		}
		for _, k := range c.match {
			if !l.Glob.MatchString(k) {
				t.Errorf("%s does not match %s", c.path, k)
			}
		}
		for _, k := range c.noMatch {
			if l.Glob.MatchString(k) {
				t.Errorf("%s matches %s", c.path, k)
			}
		}
	}
	l, err := objstore.ParseLocation("s3://b/f/", "http://minio:9000")
	if err != nil || l.BucketURL != "s3://b?disable_https=true&endpoint=http%3A%2F%2Fminio%3A9000&use_path_style=true" {
		t.Errorf("endpoint option: %v %v", l.BucketURL, err)
	}
	for _, bad := range []string{"s3:///nobucket", "hdfs://x/y"} {
		if _, err := objstore.ParseLocation(bad, ""); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func record(t *testing.T, n int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(time.Date(2026, 3, 1, i, 0, 0, 0, time.UTC).UnixMilli()))
	}
	return b.NewRecordBatch()
}

// failingReader yields one batch, then an error.
type failingReader struct {
	array.RecordReader
	n int
}

func (r *failingReader) Next() bool { r.n++; return r.n == 1 && r.RecordReader.Next() }
func (r *failingReader) Err() error {
	if r.n > 1 {
		return errors.New("upstream failed")
	}
	return nil
}

func keys(t *testing.T, srv *fakes3.Server, prefix string) []string {
	t.Helper()
	b, err := srv.Bucket(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	objs, _, err := b.ListPage(context.Background(), blob.FirstPageToken, 1000, &blob.ListOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

// A push that fails midway leaves no object; one that succeeds is a
// readable Parquet object whose footer statistics prune it.
func TestWriteParquetAtomic(t *testing.T) {
	srv := fakes3.Start(t, "b")
	s, err := objstore.New(objstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	rec := record(t, 5)
	defer rec.Release()
	rr, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec, rec})
	defer rr.Release()
	_, err = s.WriteParquet(ctx, objstore.Request{Source: "src", Path: srv.URL("b", "push/")}, &failingReader{RecordReader: rr})
	if err == nil || !strings.Contains(err.Error(), "upstream failed") || !strings.Contains(err.Error(), "nothing written") {
		t.Errorf("failed push: err = %v", err)
	}
	if k := keys(t, srv, "push/"); len(k) != 0 {
		t.Errorf("a failed push left %v", k)
	}
	rr2, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	defer rr2.Release()
	url, err := s.WriteParquet(ctx, objstore.Request{Source: "src", Path: srv.URL("b", "push/*.parquet")}, rr2)
	if err != nil {
		t.Fatal(err)
	}
	if k := keys(t, srv, "push/"); len(k) != 1 || !strings.HasPrefix(url, "s3://b/"+k[0]) {
		t.Errorf("pushed %v, reported %s", k, url)
	}
	req := objstore.Request{Source: "src", Path: srv.URL("b", "push/"), TimestampColumn: "ts",
		Window: objstore.Window{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}}
	st, err := s.Stage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	st.Release()
	if got := s.Stats(); got.PrunedFooter != 1 || got.FootersRead != 1 {
		t.Errorf("stats %+v, want the pushed object pruned by its footer", got)
	}
	req.Window = objstore.Window{From: time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)}
	st, err = s.Stage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	// The first read staged the object anyway, for its columns (nothing
	// else was left): the second reads it, and its footer, from the cache.
	if got := s.Stats(); got.PrunedFooter != 1 || got.FootersRead != 1 || got.ObjectsRead != 1 || got.CacheHits != 1 || len(st.Files) != 1 {
		t.Errorf("stats %+v, files %v: want the object served from the cache", got, st.Files)
	}
}

// A persistent staging directory serves unchanged objects to a new Store
// without reading them again; a changed object is read again.
func TestCacheAcrossStores(t *testing.T) {
	srv := fakes3.Start(t, "b")
	dir := t.TempDir()
	srv.Put(t, "b", "d/a.csv", []byte("id,ts\n1,2026-01-01T00:00:00Z\n"))
	stage := func() objstore.Stats {
		s, err := objstore.New(objstore.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		st, err := s.Stage(context.Background(), objstore.Request{Source: "src", Path: srv.URL("b", "d/*.csv")})
		if err != nil {
			t.Fatal(err)
		}
		st.Release()
		if st.Format != "csv" || len(st.Files) != 1 {
			t.Errorf("staged %+v", st)
		}
		return s.Stats()
	}
	if st := stage(); st.ObjectsRead != 1 {
		t.Errorf("first read: %+v", st)
	}
	if st := stage(); st.ObjectsRead != 0 || st.CacheHits != 1 {
		t.Errorf("second read: %+v, want a cache hit", st)
	}
	srv.Put(t, "b", "d/a.csv", []byte("id,ts\n1,2026-01-01T00:00:00Z\n2,2026-01-02T00:00:00Z\n"))
	if st := stage(); st.ObjectsRead != 1 {
		t.Errorf("changed object: %+v, want it read again", st)
	}
}
