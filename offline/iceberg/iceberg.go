// Package iceberg reads and appends to Apache Iceberg tables for the
// embedded offline store, through github.com/apache/iceberg-go: REST, SQL
// and AWS Glue catalogs, warehouses on local disk, S3, GCS or Azure.
//
// A read loads the table from its catalog, plans a scan of one snapshot
// (the current one, or the source's pinned snapshot id or as-of time) with
// a row filter on the event timestamp column for the time window the read
// needs, so Iceberg's manifest partition summaries and per-file column
// statistics skip every data file that cannot hold rows in the window, and
// hands the engine local Parquet files: the planned data files themselves
// (read in place from a local warehouse, copied with bounded memory from a
// remote one) when no delete files apply and no column was ever renamed,
// else the scan's rows as iceberg-go merges them with their deletes,
// streamed to one local Parquet file. The engine still filters rows by
// time, so results never depend on pruning.
//
// An offline push appends a batch as one new snapshot (iceberg-go writes
// the data file, then commits the new metadata atomically through the
// catalog); a commit that loses a race with another writer is retried on
// the refreshed table, so concurrent pushes all land.
package iceberg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	iceberggo "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"golang.org/x/sync/errgroup"

	// Catalog implementations and warehouse file systems, registered with
	// iceberg-go by name and URL scheme.
	_ "github.com/apache/iceberg-go/catalog/glue"
	_ "github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/catalog/sql"
	_ "github.com/apache/iceberg-go/io/gocloud/azure"
	_ "github.com/apache/iceberg-go/io/gocloud/gcs"
	_ "github.com/apache/iceberg-go/io/gocloud/s3"

	// database/sql drivers of SQL catalogs: "sqlite" and "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/objstore"
)

// DefaultCatalog is the catalog of a source that names none.
const DefaultCatalog = "default"

// DefaultCommitRetries is how often a push retries a commit another writer
// won, when Options leaves it zero.
const DefaultCommitRetries = 20

// Options configures a Store.
type Options struct {
	// Catalogs are the named catalogs' iceberg-go properties (type, uri,
	// warehouse, ...), from offline_store.iceberg_catalogs, already expanded.
	Catalogs map[string]map[string]string
	// Dir receives the local Parquet files of reads (copies of remote data
	// files, merged scans); it is created if missing. Each read's files are
	// removed when it is released.
	Dir string
	// LookupEnv expands ${VAR} in a source's catalog_properties; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// CommitRetries bounds the retries of a push whose commit another
	// writer won; 0 means DefaultCommitRetries.
	CommitRetries int
	// Parallelism is how many data files are copied at once; 0 means 8.
	Parallelism int
	// S3Endpoint, when set, is the s3.endpoint (path-style) of catalogs
	// whose properties name none: the offline store's
	// s3_endpoint_override, for warehouses in S3-compatible stores.
	S3Endpoint string
	// Cache, when set, keeps the copies of remote data files across reads
	// (the offline store's object staging cache: object_cache_dir and
	// object_cache_max_bytes), so that a data file is copied once rather
	// than at every read. Nil means each read copies its files into Dir
	// and removes them when released.
	Cache FileCache
}

// FileCache keeps copies of immutable remote files on local disk
// (objstore.Store.CachedFile): it returns the local copy of the file name
// (of the given size), read through open when it is not cached, pinned
// until release is called.
type FileCache interface {
	CachedFile(ctx context.Context, name string, size int64, open func(context.Context) (io.ReadCloser, error)) (local string, release func(), err error)
}

// Stats counts what reads did since the Store was created.
type Stats struct {
	// Scans is the number of scans planned.
	Scans int64
	// DataFilesInSnapshots sums the data files of the scanned snapshots;
	// DataFilesRead those the scans kept after pruning.
	DataFilesInSnapshots, DataFilesRead int64
	// FilesCopied and BytesCopied count data files copied from remote
	// warehouses.
	FilesCopied, BytesCopied int64
	// MergedScans counts scans read through iceberg-go's reader (delete
	// files or renamed columns) instead of the data files themselves.
	MergedScans int64
	// CommitRetries counts push commits retried after another writer won.
	CommitRetries int64
}

// Store opens catalogs and tables for iceberg sources. It is safe for
// concurrent use.
type Store struct {
	opts Options

	mu       sync.Mutex
	catalogs map[string]catalog.Catalog

	seq                                                          atomic.Int64
	scans, inSnapshots, read, copied, copiedBytes, merged, retry atomic.Int64
}

// New returns a Store staging reads into opts.Dir.
func New(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("iceberg staging: no directory")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("iceberg staging directory %s: %w", opts.Dir, err)
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.CommitRetries <= 0 {
		opts.CommitRetries = DefaultCommitRetries
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 8
	}
	return &Store{opts: opts, catalogs: map[string]catalog.Catalog{}}, nil
}

// Close closes the catalogs the store opened.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.catalogs {
		if cl, ok := c.(io.Closer); ok {
			errs = append(errs, cl.Close())
		}
	}
	s.catalogs = map[string]catalog.Catalog{}
	return errors.Join(errs...)
}

// Stats returns the counters of what was read so far.
func (s *Store) Stats() Stats {
	return Stats{
		Scans: s.scans.Load(), DataFilesInSnapshots: s.inSnapshots.Load(), DataFilesRead: s.read.Load(),
		FilesCopied: s.copied.Load(), BytesCopied: s.copiedBytes.Load(), MergedScans: s.merged.Load(),
		CommitRetries: s.retry.Load(),
	}
}

func describeSource(src *model.DataSource) string {
	return fmt.Sprintf("iceberg source %s (table %s)", src.Name, src.Iceberg.Table)
}

// catalogProperties resolves a source's catalog: the named catalog's
// properties overridden by the source's own, ${VAR} expanded.
func (s *Store) catalogProperties(src *model.DataSource) (string, iceberggo.Properties, error) {
	ic := src.Iceberg
	name := cmpOr(ic.Catalog, DefaultCatalog)
	base, named := s.opts.Catalogs[name]
	if !named && len(ic.CatalogProperties) == 0 {
		known := slices.Sorted(maps.Keys(s.opts.Catalogs))
		return "", nil, fmt.Errorf("catalog %q is not configured (configured: %s): add it under offline_store.iceberg_catalogs in feature_store.yaml, or give the source catalog_properties",
			name, cmpOr(strings.Join(known, ", "), "none"))
	}
	props := iceberggo.Properties(maps.Clone(base))
	if props == nil {
		props = iceberggo.Properties{}
	}
	for k, v := range ic.CatalogProperties {
		x, err := config.Substitute(v, s.opts.LookupEnv)
		if err != nil {
			return "", nil, fmt.Errorf("catalog_properties.%s: %w", k, err)
		}
		props[k] = x
	}
	if s.opts.S3Endpoint != "" && props["s3.endpoint"] == "" {
		props["s3.endpoint"] = s.opts.S3Endpoint
		if props["s3.force-virtual-addressing"] == "" {
			props["s3.force-virtual-addressing"] = "false"
		}
	}
	if props["type"] == "" && !strings.Contains(props["uri"], "://") {
		return "", nil, fmt.Errorf("catalog %q has no type: set type (rest, sql or glue) in its properties", name)
	}
	return name, props, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Store) catalog(ctx context.Context, src *model.DataSource) (catalog.Catalog, error) {
	name, props, err := s.catalogProperties(src)
	if err != nil {
		return nil, err
	}
	keys := slices.Sorted(maps.Keys(props))
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		b.WriteString("\x00" + k + "\x00" + props[k])
	}
	key := b.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.catalogs[key]; ok {
		return c, nil
	}
	c, err := catalog.Load(ctx, name, props)
	if err != nil {
		return nil, fmt.Errorf("open catalog %s (type %s): %w", name, props["type"], err)
	}
	s.catalogs[key] = c
	return c, nil
}

// Table loads a source's table from its catalog.
func (s *Store) Table(ctx context.Context, src *model.DataSource) (*table.Table, error) {
	if src.Iceberg == nil || src.Iceberg.Table == "" {
		return nil, fmt.Errorf("iceberg source %s has no table: set table (namespace.table) in its definition", src.Name)
	}
	c, err := s.catalog(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeSource(src), err)
	}
	tbl, err := c.LoadTable(ctx, catalog.ToIdentifier(src.Iceberg.Table))
	if err != nil {
		hint := ""
		if errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace) {
			hint = "; check the table (namespace.table) and catalog in the source's definition"
		}
		return nil, fmt.Errorf("%s: load table from catalog %s: %w%s", describeSource(src), cmpOr(src.Iceberg.Catalog, DefaultCatalog), err, hint)
	}
	return tbl, nil
}

// Staged is one read's local Parquet files of a table. They stay on disk
// until Release.
type Staged struct {
	// Files are local Parquet paths; each has the table's columns (files
	// written before a column was added lack it).
	Files []string
	// SnapshotID is the snapshot read; 0 for a table without snapshots.
	SnapshotID int64

	once    sync.Once
	release func()
	unpin   []func() // the cached copies of remote files this read uses
}

// Release removes the read's temporary files.
func (st *Staged) Release() {
	st.once.Do(func() {
		if st.release != nil {
			st.release()
		}
	})
}

// Stage plans a scan of the source's table for the event time window w
// and stages the data files it keeps. The caller must Release the result.
func (s *Store) Stage(ctx context.Context, src *model.DataSource, w objstore.Window) (*Staged, error) {
	tbl, err := s.Table(ctx, src)
	if err != nil {
		return nil, err
	}
	st, err := s.stage(ctx, src, tbl, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeSource(src), err)
	}
	return st, nil
}

func (s *Store) stage(ctx context.Context, src *model.DataSource, tbl *table.Table, w objstore.Window) (*Staged, error) {
	scan, err := newScan(src, tbl, w)
	if err != nil {
		return nil, err
	}
	snap, err := scan.ResolveSnapshot()
	if err != nil {
		return nil, fmt.Errorf("resolve snapshot: %w", err)
	}
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan scan: %w", err)
	}
	s.scans.Add(1)
	st := &Staged{}
	if snap != nil {
		st.SnapshotID = snap.SnapshotID
		if snap.Summary != nil {
			var total int64
			fmt.Sscan(snap.Summary.Properties["total-data-files"], &total)
			s.inSnapshots.Add(total)
		}
	}
	var paths []string
	sizes := map[string]int64{}
	direct := len(tasks) > 0 && !renamedColumns(tbl.Metadata())
	for _, t := range tasks {
		if f := t.File.FileFormat(); f != iceberggo.ParquetFile {
			return nil, fmt.Errorf("data file %s is %s; only Parquet data files are read (rewrite the table's data files as Parquet)", t.File.FilePath(), f)
		}
		if len(t.DeleteFiles)+len(t.EqualityDeleteFiles)+len(t.DeletionVectorFiles) > 0 || lacksIdentityColumn(tbl.Metadata(), t.File) {
			direct = false
		}
		if !slices.Contains(paths, t.File.FilePath()) {
			paths = append(paths, t.File.FilePath())
			sizes[t.File.FilePath()] = t.File.FileSizeBytes()
		}
	}
	s.read.Add(int64(len(paths)))
	dir, err := os.MkdirTemp(s.opts.Dir, "read-")
	if err != nil {
		return nil, err
	}
	st.release = func() {
		for _, r := range st.unpin {
			r()
		}
		os.RemoveAll(dir)
	}
	if direct {
		err = s.stageFiles(ctx, tbl, paths, sizes, dir, st)
	} else {
		s.merged.Add(1)
		err = s.stageMerged(ctx, scan, tasks, dir, st)
	}
	if err != nil {
		st.Release()
		return nil, err
	}
	return st, nil
}

// newScan is the scan of the source's snapshot (current, or pinned by
// snapshot_id or as_of) with the row filter of window w.
func newScan(src *model.DataSource, tbl *table.Table, w objstore.Window) (*table.Scan, error) {
	var opts []table.ScanOption
	switch ic := src.Iceberg; {
	case ic.SnapshotID != 0:
		if tbl.SnapshotByID(ic.SnapshotID) == nil {
			return nil, fmt.Errorf("snapshot %d does not exist (expired, or of another table): fix snapshot_id in the source's definition", ic.SnapshotID)
		}
		opts = append(opts, table.WithSnapshotID(ic.SnapshotID))
	case !ic.AsOf.IsZero():
		if tbl.SnapshotAsOf(ic.AsOf.UnixMilli(), true) == nil {
			return nil, fmt.Errorf("no snapshot was current at as_of %s (the table's history starts later, or it expired)", ic.AsOf.Format(time.RFC3339))
		}
		opts = append(opts, table.WithSnapshotAsOf(ic.AsOf.UnixMilli()))
	}
	if f := timeFilter(tbl.Schema(), src.TimestampField, w); f != nil {
		opts = append(opts, table.WithRowFilter(f))
	}
	return tbl.Scan(opts...), nil
}

// timeFilter is the row filter of window w on the timestamp column, or
// nil when the window is unbounded or the column is not a timestamp or
// date (the scan then keeps every file).
func timeFilter(sc *iceberggo.Schema, column string, w objstore.Window) iceberggo.BooleanExpression {
	if column == "" || w == (objstore.Window{}) {
		return nil
	}
	f, ok := sc.FindFieldByName(column)
	if !ok {
		return nil
	}
	ref := iceberggo.Reference(column)
	var preds []iceberggo.BooleanExpression
	bound := func(t time.Time, lower bool) iceberggo.BooleanExpression {
		switch f.Type.(type) {
		case iceberggo.TimestampType, iceberggo.TimestampTzType:
			v := iceberggo.Timestamp(t.UnixMicro())
			if lower {
				return iceberggo.GreaterThanEqual(ref, v)
			}
			return iceberggo.LessThanEqual(ref, v)
		case iceberggo.TimestampNsType, iceberggo.TimestampTzNsType:
			v := iceberggo.TimestampNano(t.UnixNano())
			if lower {
				return iceberggo.GreaterThanEqual(ref, v)
			}
			return iceberggo.LessThanEqual(ref, v)
		case iceberggo.DateType:
			days := t.Unix() / 86400
			if t.Unix() < 0 && t.Unix()%86400 != 0 {
				days--
			}
			v := iceberggo.Date(days)
			if lower {
				return iceberggo.GreaterThanEqual(ref, v)
			}
			return iceberggo.LessThanEqual(ref, v)
		}
		return nil
	}
	if !w.From.IsZero() {
		if p := bound(w.From, true); p != nil {
			preds = append(preds, p)
		}
	}
	if !w.To.IsZero() {
		if p := bound(w.To, false); p != nil {
			preds = append(preds, p)
		}
	}
	switch len(preds) {
	case 0:
		return nil
	case 1:
		return preds[0]
	}
	return iceberggo.NewAnd(preds[0], preds[1])
}

// renamedColumns reports whether a field has had another name in an
// earlier schema: data files then hold it under the old name, which only
// iceberg-go's reader (by field id) maps back.
func renamedColumns(md table.Metadata) bool {
	cur := md.CurrentSchema()
	for _, old := range md.Schemas() {
		for _, f := range cur.Fields() {
			if of, ok := old.FindFieldByID(f.ID); ok && of.Name != f.Name {
				return true
			}
		}
	}
	return false
}

// lacksIdentityColumn reports whether a data file may lack the column of
// an identity partition field, as files added from Hive-style layouts do
// (the value lives in the partition tuple, which only iceberg-go's reader
// fills in). Without column counts in the manifest it cannot tell, and
// says so.
func lacksIdentityColumn(md table.Metadata, f iceberggo.DataFile) bool {
	spec := md.PartitionSpecByID(int(f.SpecID()))
	if spec == nil {
		return false
	}
	counts := f.ValueCounts()
	for _, pf := range spec.Fields() {
		if _, ok := pf.Transform.(iceberggo.IdentityTransform); !ok {
			continue
		}
		if _, ok := counts[pf.SourceID()]; !ok {
			return true
		}
	}
	return false
}

// localPath is the local path of a data file in a local warehouse: a
// file: URI (percent-decoded, as the URI escapes characters such as
// braces) or a plain path.
func localPath(p string) (string, bool) {
	if strings.HasPrefix(p, "file:") {
		if u, err := url.Parse(p); err == nil && u.Path != "" {
			return u.Path, true
		}
		return strings.TrimPrefix(strings.TrimPrefix(p, "file:"), "//"), true
	}
	return p, !strings.Contains(p, "://")
}

// stageFiles hands the engine the data files themselves: local ones in
// place, remote ones copied through the table's file IO into the cache
// (Options.Cache) or else into dir.
func (s *Store) stageFiles(ctx context.Context, tbl *table.Table, paths []string, sizes map[string]int64, dir string, st *Staged) error {
	st.Files = make([]string, len(paths))
	var remote []int
	for i, p := range paths {
		if lp, ok := localPath(p); ok {
			st.Files[i] = lp
		} else {
			remote = append(remote, i)
		}
	}
	if len(remote) == 0 {
		return nil
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return fmt.Errorf("open the table's file IO: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Parallelism)
	var mu sync.Mutex
	for _, i := range remote {
		g.Go(func() error {
			if s.opts.Cache == nil {
				local, err := s.copyDataFile(gctx, fsys, paths[i], dir)
				st.Files[i] = local
				return err
			}
			local, release, err := s.opts.Cache.CachedFile(gctx, paths[i], sizes[paths[i]], func(ctx context.Context) (io.ReadCloser, error) {
				f, err := fsys.Open(paths[i])
				if err != nil {
					return nil, err
				}
				s.copied.Add(1)
				return countingReader{f, &s.copiedBytes}, nil
			})
			if err != nil {
				return fmt.Errorf("read data file %s: %w", paths[i], err)
			}
			mu.Lock()
			st.unpin = append(st.unpin, release)
			mu.Unlock()
			st.Files[i] = local
			return nil
		})
	}
	return g.Wait()
}

// countingReader adds what it reads to n.
type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r countingReader) Read(p []byte) (int, error) {
	k, err := r.ReadCloser.Read(p)
	r.n.Add(int64(k))
	return k, err
}

// copyDataFile copies a remote data file into dir through the table's
// file IO and returns the local path.
func (s *Store) copyDataFile(ctx context.Context, fsys icebergio.IO, path, dir string) (string, error) {
	sum := sha256.Sum256([]byte(path))
	local := filepath.Join(dir, hex.EncodeToString(sum[:12])+".parquet")
	f, err := fsys.Open(path)
	if err != nil {
		return "", fmt.Errorf("read data file %s: %w", path, err)
	}
	defer f.Close()
	out, err := os.Create(local)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(out, objstore.ContextReader{Ctx: ctx, R: f})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("read data file %s: %w", path, err)
	}
	s.copied.Add(1)
	s.copiedBytes.Add(n)
	return local, nil
}

// stageMerged streams the scan's rows, as iceberg-go reads them with their
// deletes applied, to one local Parquet file. Memory is bounded by
// iceberg-go's reader (a batch per worker), not by the table's size.
func (s *Store) stageMerged(ctx context.Context, scan *table.Scan, tasks []table.FileScanTask, dir string, st *Staged) (err error) {
	schema, records, err := scan.ReadTasks(ctx, tasks)
	if err != nil {
		return fmt.Errorf("read scan: %w", err)
	}
	local := filepath.Join(dir, fmt.Sprintf("scan-%d.parquet", s.seq.Add(1)))
	out, err := os.Create(local)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
			err = cerr
		}
	}()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	w, err := pqarrow.NewFileWriter(schema, out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	for rec, err := range records {
		if err != nil {
			w.Close()
			return fmt.Errorf("read scan: %w", err)
		}
		err = w.Write(rec) // a row group per batch: nothing accumulates
		rec.Release()
		if err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	st.Files = []string{local}
	return nil
}

// Schema is the Arrow schema of the source's table (of the pinned snapshot
// when the source pins one).
func (s *Store) Schema(ctx context.Context, src *model.DataSource) (*arrow.Schema, error) {
	tbl, err := s.Table(ctx, src)
	if err != nil {
		return nil, err
	}
	var opts []table.ScanOption
	if ic := src.Iceberg; ic.SnapshotID != 0 {
		opts = append(opts, table.WithSnapshotID(ic.SnapshotID))
	} else if !ic.AsOf.IsZero() {
		opts = append(opts, table.WithSnapshotAsOf(ic.AsOf.UnixMilli()))
	}
	sc, err := tbl.Scan(opts...).Projection()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeSource(src), err)
	}
	as, err := table.SchemaToArrowSchema(sc, nil, false, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describeSource(src), err)
	}
	return as, nil
}

// Append commits rec to the source's table as one new snapshot. When
// another writer commits first, the table is reloaded and the append
// retried (a new data file each attempt; a lost attempt's file is left
// unreferenced for Iceberg's orphan-file cleanup), up to
// Options.CommitRetries times with jittered backoff.
func (s *Store) Append(ctx context.Context, src *model.DataSource, rec arrow.RecordBatch) error {
	if src.Iceberg != nil && (src.Iceberg.SnapshotID != 0 || !src.Iceberg.AsOf.IsZero()) {
		return fmt.Errorf("%s: the source is pinned to a snapshot (snapshot_id or as_of); pushes go to a source reading the current snapshot", describeSource(src))
	}
	for attempt := 0; ; attempt++ {
		tbl, err := s.Table(ctx, src)
		if err != nil {
			return err
		}
		err = s.appendOnce(ctx, tbl, rec)
		if err == nil {
			return nil
		}
		if !commitConflict(err) || attempt >= s.opts.CommitRetries {
			return fmt.Errorf("%s: append a snapshot: %w", describeSource(src), err)
		}
		s.retry.Add(1)
		wait := time.Duration(min(5<<attempt, 1000)) * time.Millisecond
		wait = wait/2 + rand.N(wait/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: append a snapshot: %w", describeSource(src), ctx.Err())
		case <-time.After(wait):
		}
	}
}

// commitConflict reports whether a commit lost a race with another writer:
// table.ErrCommitFailed (REST catalogs' 409, a SQL catalog's moved metadata
// pointer), or a SQL or Glue catalog's check that the branch still points
// at the snapshot the append started from, which iceberg-go reports
// without a sentinel.
func commitConflict(err error) bool {
	if errors.Is(err, table.ErrCommitFailed) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "requirement failed") && strings.Contains(msg, "has changed")
}

func (s *Store) appendOnce(ctx context.Context, tbl *table.Table, rec arrow.RecordBatch) error {
	conformed, err := conform(tbl.Schema(), rec)
	if err != nil {
		return err
	}
	defer conformed.Release()
	rr, err := array.NewRecordReader(conformed.Schema(), []arrow.RecordBatch{conformed})
	if err != nil {
		return err
	}
	defer rr.Release()
	txn := tbl.NewTransaction()
	if err := txn.Append(ctx, rr, iceberggo.Properties{"feast.push": "true"}); err != nil {
		return err
	}
	_, err = txn.Commit(ctx)
	return err
}

// conform shapes a pushed record as the table's schema: columns by name in
// the table's order and types (cast when they differ, such as a timestamp's
// time zone or an int32 into a long), absent optional columns as nulls.
// The result must be released.
func conform(sc *iceberggo.Schema, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	target, err := table.SchemaToArrowSchema(sc, nil, false, false)
	if err != nil {
		return nil, err
	}
	for _, f := range rec.Schema().Fields() {
		if _, ok := sc.FindFieldByName(f.Name); !ok {
			return nil, fmt.Errorf("pushed column %s is not in the table (columns: %s): add it to the table's schema, or map it with the source's field_mapping", f.Name, strings.Join(fieldNames(target), ", "))
		}
	}
	cols := make([]arrow.Array, 0, target.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, f := range target.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			if !f.Nullable {
				return nil, fmt.Errorf("the push has no column %s, which the table requires", f.Name)
			}
			cols = append(cols, array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, int(rec.NumRows())))
			continue
		}
		col := rec.Column(idx[0])
		if !f.Nullable && col.NullN() > 0 {
			return nil, fmt.Errorf("pushed column %s has nulls; the table requires a value", f.Name)
		}
		if arrow.TypeEqual(col.DataType(), f.Type) {
			col.Retain()
			cols = append(cols, col)
			continue
		}
		cast, err := compute.CastArray(context.Background(), col, compute.SafeCastOptions(f.Type))
		if err != nil {
			return nil, fmt.Errorf("pushed column %s is %s; the table's column is %s: %w", f.Name, col.DataType(), f.Type, err)
		}
		cols = append(cols, cast)
	}
	return array.NewRecordBatch(target, cols, rec.NumRows()), nil
}

func fieldNames(sc *arrow.Schema) []string {
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	return names
}
