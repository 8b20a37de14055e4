package duckdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/objstore"
)

// WriteBatch appends rows to a file source (offline push) as a new Parquet
// file, written under a temporary name (NAME.parquet.tmp, which *.parquet
// globs do not match), fsynced and renamed into place, so readers never see
// it half-written and an acknowledged push survives a crash. A source that receives pushes must therefore be
// a folder (path to a directory) or a glob whose directory part is fixed
// (data/stats/*.parquet); a single-file source is rejected. Columns named
// after a mapped feature or join key are renamed back to the source column.
// In object storage (s3://, gs://, azblob://) the new object is uploaded
// and becomes visible only once complete: a failed push leaves nothing.
// An iceberg source gets a new snapshot holding the batch (see
// offline/iceberg).
func (s *Store) WriteBatch(ctx context.Context, source *model.DataSource, rec arrow.RecordBatch) error {
	if source.Kind == model.SourceIceberg {
		return s.appendIceberg(ctx, source, rec)
	}
	if source.Kind != model.SourceFile || source.Path == "" {
		return fmt.Errorf("offline push to %s: only file sources are supported: %w", source.Name, offline.ErrNotSupported)
	}
	if f := strings.ToLower(source.FileFormat); f != "" && f != "parquet" {
		return fmt.Errorf("offline push to %s: file format %s is not supported; push needs a parquet folder or glob", source.Name, f)
	}
	if objstore.IsRemote(source.Path) {
		rec = renameToSource(source, rec)
		defer rec.Release()
		rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		if err != nil {
			return fmt.Errorf("offline push to %s: %w", source.Name, err)
		}
		defer rr.Release()
		req := objstore.Request{Source: source.Name, Path: source.Path, S3Endpoint: source.S3EndpointOverride}
		if _, err := s.objects.WriteParquet(ctx, req, rr); err != nil {
			return fmt.Errorf("offline push to %s: %w", source.Name, err)
		}
		return nil
	}
	if scheme, _, ok := strings.Cut(source.Path, "://"); ok && scheme != "file" {
		// Writing the URI as a local path would create a folder named
		// "s3:" and answer the push as if it had reached the bucket.
		return fmt.Errorf("offline push to %s: the source path %s is in an object store (%s://) this store does not write to (it writes %s); push with to=online, or give the source a local folder: %w",
			source.Name, source.Path, scheme, strings.Join(objstore.Schemes, ", "), offline.ErrNotSupported)
	}
	dir, err := pushDir(s.resolvePath(strings.TrimPrefix(source.Path, "file://")), strings.HasSuffix(source.Path, "/"))
	if err != nil {
		return fmt.Errorf("offline push to %s: %w", source.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("offline push to %s: %w", source.Name, err)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	name := fmt.Sprintf("push-%s-%s.parquet", time.Now().UTC().Format("20060102T150405.000000000"), hex.EncodeToString(suffix[:]))
	if pattern := s.resolvePath(strings.TrimPrefix(source.Path, "file://")); hasGlob(pattern) && !strings.Contains(pattern, "**") {
		if ok, _ := filepath.Match(pattern, filepath.Join(dir, name)); !ok {
			return fmt.Errorf("offline push to %s: a pushed file %s would not match the source path %s", source.Name, name, source.Path)
		}
	}
	rec = renameToSource(source, rec)
	defer rec.Release()
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return fmt.Errorf("offline push to %s: %w", source.Name, err)
	}
	defer rr.Release()
	if _, err := offline.WriteParquetDurable(ctx, rr, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("offline push to %s: %w", source.Name, err)
	}
	return nil
}

// pushDir is the folder new files go to: the path itself when it is (or
// is written as) a directory, or the fixed directory part of a glob.
func pushDir(p string, isDir bool) (string, error) {
	if hasGlob(p) {
		dir := p
		for hasGlob(dir) {
			dir = filepath.Dir(dir)
		}
		return dir, nil
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() || isDir {
		return p, nil
	}
	return "", fmt.Errorf("source path %s is a single file; a source that receives pushes must be a folder or a glob", p)
}

// renameToSource renames columns to the source's column names (reverse
// field mapping). The returned record must be released.
func renameToSource(src *model.DataSource, rec arrow.RecordBatch) arrow.RecordBatch {
	fields := rec.Schema().Fields()
	changed := false
	for i, f := range fields {
		if col := src.ColumnFor(f.Name); col != f.Name {
			fields[i].Name = col
			changed = true
		}
	}
	if !changed {
		rec.Retain()
		return rec
	}
	md := rec.Schema().Metadata()
	return array.NewRecordBatch(arrow.NewSchema(fields, &md), rec.Columns(), rec.NumRows())
}
