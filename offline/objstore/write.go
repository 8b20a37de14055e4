package objstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// WriteParquet writes rr as a new Parquet object in the folder of a
// source's path (req.Path: a prefix, or the fixed folder of a glob; only
// req.Source, req.Path and req.S3Endpoint are used) and returns its URL. The object
// becomes visible only when it is complete: gocloud's writer commits on
// Close, and any error cancels the upload first, so readers never see a
// partial object. A path naming a single existing object is rejected: a
// source that receives pushes must be a folder or a glob.
func (s *Store) WriteParquet(ctx context.Context, req Request, rr array.RecordReader) (string, error) {
	source := req.Source
	loc, err := s.location(req)
	if err != nil {
		return "", fmt.Errorf("file source %s: %w", source, err)
	}
	b, err := s.bucket(ctx, loc)
	if err != nil {
		return "", fmt.Errorf("file source %s: %w", source, err)
	}
	dir, err := s.pushFolder(ctx, b, loc)
	if err != nil {
		return "", fmt.Errorf("file source %s: %w", source, err)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	key := dir + fmt.Sprintf("push-%s-%s.parquet", time.Now().UTC().Format("20060102T150405.000000000"), hex.EncodeToString(suffix[:]))
	if loc.HasGlob() && !loc.Glob.MatchString(key) {
		return "", fmt.Errorf("file source %s: a pushed object %s would not match the source path %s; give the source a folder or a glob ending in *.parquet", source, loc.ObjectURL(key), loc.ObjectURL(loc.Key))
	}
	if err := s.write(ctx, b, loc, key, rr); err != nil {
		return "", fmt.Errorf("file source %s: %w", source, err)
	}
	return loc.ObjectURL(key), nil
}

// pushFolder is the key prefix pushed objects go to.
func (s *Store) pushFolder(ctx context.Context, b *blob.Bucket, loc Location) (string, error) {
	if loc.HasGlob() {
		dir := loc.ListPrefix()
		if i := strings.LastIndexByte(dir, '/'); i >= 0 {
			return dir[:i+1], nil
		}
		return "", nil
	}
	if loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
		return loc.Key, nil
	}
	switch _, err := b.Attributes(ctx, loc.Key); {
	case err == nil:
		return "", fmt.Errorf("the path %s is a single object; a source that receives pushes must be a folder (end the path with /) or a glob", loc.ObjectURL(loc.Key))
	case gcerrors.Code(err) != gcerrors.NotFound:
		return "", describe("read", loc, loc.Key, err)
	}
	return loc.Key + "/", nil
}

func (s *Store) write(ctx context.Context, b *blob.Bucket, loc Location, key string, rr array.RecordReader) (err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/vnd.apache.parquet"})
	if err != nil {
		return describe("write", loc, key, err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(1<<20))
	pw, err := pqarrow.NewFileWriter(rr.Schema(), w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		cancel()
		w.Close()
		return fmt.Errorf("write %s: %w", loc.ObjectURL(key), err)
	}
	abort := func(err error) error {
		cancel() // before Close, so the writer discards the object
		pw.Close()
		return fmt.Errorf("write %s (nothing written): %w", loc.ObjectURL(key), err)
	}
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return abort(err)
		}
		if err := pw.WriteBuffered(rr.RecordBatch()); err != nil {
			return abort(err)
		}
	}
	if err := rr.Err(); err != nil {
		return abort(err)
	}
	if err := pw.Close(); err != nil { // closes w, which commits the object
		return describe("write", loc, key, err)
	}
	return nil
}
