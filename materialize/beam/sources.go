package beam

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/redact"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/objstore"
	offlinepg "github.com/feastgo/feast/offline/postgres"
)

// Split kinds.
const (
	splitParquet  = "parquet"
	splitPostgres = "postgres"
	splitObject   = "object"
)

// Split is one unit of parallel reading: a range of row groups of one
// Parquet file, one Parquet object in object storage (or some of its row
// groups), or one key-hash bucket of a PostgreSQL source. Splits are
// planned by the launcher and processed independently by the workers.
type Split struct {
	Kind string
	// Path is the Parquet file; FirstRowGroup and EndRowGroup bound the
	// row groups [FirstRowGroup, EndRowGroup) of this split; Rows counts them.
	Path          string
	FirstRowGroup int
	EndRowGroup   int
	Rows          int64
	// Bucket of Buckets is the key-hash bucket of a PostgreSQL split: the
	// rows whose hash of the join-key columns modulo Buckets is Bucket. All
	// rows of one entity fall in one bucket.
	Bucket  int
	Buckets int
	// Key, Size, ModTime (unix ns) and MD5 are the listed version of the
	// object of an object split, whose URL is in Path; RowGroups are the
	// row groups of it to read (nil: all). See objstore.PlannedObject.
	Key       string
	Size      int64
	ModTime   int64
	MD5       []byte
	RowGroups []int
}

// planSplits lists the splits of the view's source for the interval
// [start, end] (unix ns), which prunes object-store sources.
func planSplits(ctx context.Context, fv *model.FeatureView, repoPath string, offlineCfg config.OfflineStoreConfig, cfg BeamConfig, start, end int64) ([]Split, error) {
	src := fv.Source
	if src == nil {
		return nil, fmt.Errorf("feature view %s has no batch source", fv.Name)
	}
	switch {
	case src.Kind == model.SourcePostgres || (src.Kind == "" && (src.Table != "" || src.Query != "")):
		if offlineCfg.Type != "postgres" {
			return nil, fmt.Errorf("source %s is a postgres source but offline_store is %s", src.Name, offlineCfg.Type)
		}
		splits := make([]Split, cfg.PostgresSplits)
		for i := range splits {
			splits[i] = Split{Kind: splitPostgres, Bucket: i, Buckets: cfg.PostgresSplits}
		}
		return splits, nil
	case src.Kind == model.SourceIceberg:
		return planIceberg(ctx, src, offlineCfg, start, end)
	case (src.Kind == model.SourceFile || src.Path != "") && objstore.IsRemote(src.Path):
		return planObjects(ctx, src, offlineCfg, cfg.SplitRows, start, end)
	case src.Kind == model.SourceFile || src.Path != "":
		return planParquet(src, repoPath, cfg.SplitRows)
	}
	return nil, fmt.Errorf("source %s (%s) of feature view %s: the beam engine reads parquet file, iceberg and postgres sources", src.Name, src.Kind, fv.Name)
}

// parquetFiles resolves a file source's path (file, folder or glob) to files.
func parquetFiles(src *model.DataSource, repoPath string) ([]string, error) {
	p := src.Path
	if strings.Contains(p, "://") {
		return nil, fmt.Errorf("source %s: %s: the beam engine reads local or mounted paths and %s:// object-store paths", src.Name, redact.String(p), strings.Join(objstore.Schemes[:3], "://, "))
	}
	format := strings.ToLower(src.FileFormat)
	if format == "" {
		format = offline.FileFormat(strings.TrimRight(p, "*"))
	}
	if format != "" && format != "parquet" {
		return nil, fmt.Errorf("source %s: %s is %s; the beam engine reads parquet", src.Name, p, format)
	}
	p = resolve(p, repoPath)
	var files []string
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && offline.FileFormat(path) == "parquet" {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p, err)
		}
	} else if strings.ContainsAny(p, "*?[") {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("glob %s: %w", p, err)
		}
		files = m
	} else {
		files = []string{p}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("source %s: no parquet files match %s", src.Name, src.Path)
	}
	return files, nil
}

func resolve(p, repoPath string) string {
	if filepath.IsAbs(p) || repoPath == "" {
		return p
	}
	return filepath.Join(repoPath, p)
}

// planParquet reads each file's footer and groups consecutive row groups
// into splits of about splitRows rows.
func planParquet(src *model.DataSource, repoPath string, splitRows int64) ([]Split, error) {
	files, err := parquetFiles(src, repoPath)
	if err != nil {
		return nil, err
	}
	var splits []Split
	for _, f := range files {
		r, err := file.OpenParquetFile(f, false)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f, err)
		}
		md := r.MetaData()
		cur := Split{Kind: splitParquet, Path: f}
		for rg := 0; rg < md.NumRowGroups(); rg++ {
			n := md.RowGroup(rg).NumRows()
			if cur.EndRowGroup > cur.FirstRowGroup && cur.Rows+n > splitRows {
				splits = append(splits, cur)
				cur = Split{Kind: splitParquet, Path: f, FirstRowGroup: rg, EndRowGroup: rg}
			}
			cur.EndRowGroup = rg + 1
			cur.Rows += n
		}
		if cur.EndRowGroup > cur.FirstRowGroup {
			splits = append(splits, cur)
		}
		r.Close()
	}
	return splits, nil
}

// readParquet streams the row groups of a split in batches of batchRows
// rows, reading only the columns the converter needs.
func readParquet(ctx context.Context, sp Split, conv *converter, batchRows int, emit func(key, row []byte)) (int64, error) {
	groups := make([]int, 0, sp.EndRowGroup-sp.FirstRowGroup)
	for g := sp.FirstRowGroup; g < sp.EndRowGroup; g++ {
		groups = append(groups, g)
	}
	return readParquetFile(ctx, sp.Path, sp.Path, groups, conv, batchRows, emit)
}

// readParquetFile streams the given row groups (nil: all) of a local
// Parquet file; name is the file in messages.
func readParquetFile(ctx context.Context, path, name string, groups []int, conv *converter, batchRows int, emit func(key, row []byte)) (int64, error) {
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	r, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", name, err)
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, memory.DefaultAllocator)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", name, err)
	}
	var leaves []int
	for _, col := range conv.columns() {
		found := false
		for _, f := range fr.Manifest.Fields {
			if f.Field.Name == col {
				leaves = appendLeaves(leaves, f)
				found = true
				break
			}
		}
		if !found {
			if conv.absentNull && col != conv.tsCol && !slices.Contains(conv.keyCols, col) {
				continue
			}
			if conv.absentNull {
				return 0, nil // no key or no event time: no rows, as the in-process engine reads it
			}
			return 0, &missingColumnError{file: name, column: col}
		}
	}
	if groups == nil {
		groups = make([]int, r.NumRowGroups())
		for i := range groups {
			groups[i] = i
		}
	}
	if len(groups) == 0 {
		return 0, nil
	}
	rr, err := fr.GetRecordReader(ctx, leaves, groups)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		k, err := conv.convert(rr.RecordBatch(), emit)
		n += k
		if err != nil {
			return n, fmt.Errorf("%s: %w", name, err)
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return n, fmt.Errorf("read %s: %w", name, err)
	}
	return n, nil
}

// missingColumnError is a column the converter needs that a Parquet file
// lacks.
type missingColumnError struct{ file, column string }

func (e *missingColumnError) Error() string {
	return fmt.Sprintf("%s: column %q is missing", e.file, e.column)
}

func appendLeaves(dst []int, f pqarrow.SchemaField) []int {
	if len(f.Children) == 0 {
		return append(dst, f.ColIndex)
	}
	for _, c := range f.Children {
		dst = appendLeaves(dst, c)
	}
	return dst
}

// postgresBucketView returns a copy of fv whose source is the rows of one
// key-hash bucket, so that the offline store's latest-per-entity query runs
// per bucket on the database.
func postgresBucketView(fv *model.FeatureView, sp Split) *model.FeatureView {
	src := *fv.Source
	rel := src.Table
	if src.Query != "" {
		rel = "(" + src.Query + ")"
	}
	var keys []string
	for _, k := range fv.EntityColumns {
		keys = append(keys, fmt.Sprintf("CAST(%s AS text)", quoteIdent(src.ColumnFor(k.Name))))
	}
	src.Table = ""
	src.Query = fmt.Sprintf("SELECT * FROM %s AS __feast_src WHERE mod(abs(CAST(hashtext(concat_ws(chr(31), %s)) AS bigint)), %d) = %d",
		rel, strings.Join(keys, ", "), sp.Buckets, sp.Bucket)
	out := *fv
	out.Source = &src
	return &out
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// readPostgres runs the latest-per-entity query of one bucket.
func readPostgres(ctx context.Context, store *offlinepg.Store, fv *model.FeatureView, sp Split, conv *converter, emit func(key, row []byte)) (int64, error) {
	view := postgresBucketView(fv, sp)
	rr, err := store.PullLatest(ctx, view, time.Unix(0, conv.start).UTC(), time.Unix(0, conv.end).UTC())
	if err != nil {
		return 0, fmt.Errorf("bucket %d/%d: %w", sp.Bucket, sp.Buckets, err)
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		k, err := conv.convert(rr.RecordBatch(), emit)
		n += k
		if err != nil {
			return n, fmt.Errorf("bucket %d/%d: %w", sp.Bucket, sp.Buckets, err)
		}
	}
	if err := rr.Err(); err != nil {
		return n, fmt.Errorf("bucket %d/%d: %w", sp.Bucket, sp.Buckets, err)
	}
	return n, nil
}

// newPullConverter reads the columns of an offline store's PullLatest result.
func newPullConverter(fv *model.FeatureView, start, end int64) *converter {
	c := &converter{tsCol: offline.PullEventTimestamp, start: start, end: end}
	if fv.Source.CreatedTimestampColumn != "" {
		c.createdCol = offline.PullCreatedTimestamp
	}
	for _, k := range fv.EntityColumns {
		c.joinKeys = append(c.joinKeys, k.Name)
		c.keyTypes = append(c.keyTypes, k.Type)
		c.keyCols = append(c.keyCols, k.Name)
	}
	for _, f := range fv.Features {
		c.featTypes = append(c.featTypes, f.Type)
		c.featCols = append(c.featCols, f.Name)
	}
	return c
}
