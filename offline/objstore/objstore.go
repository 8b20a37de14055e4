// Package objstore reads and writes file sources kept in object storage
// (s3://, gs://, azblob://, and mem:// in tests) for the embedded offline
// store, through gocloud.dev/blob and each cloud's standard credential
// chain, without any DuckDB extension.
//
// A read lists the source's objects (one object, a prefix or a glob),
// prunes them by their Hive partition folders (date_partition_column) and,
// for Parquet, by the min/max statistics of the timestamp column in each
// footer (two ranged reads per object), then streams every surviving object
// to a local staging directory with bounded memory (io.Copy) and hands the
// local files to the engine. Staged files double as a cache keyed by
// bucket, key, size, modification time and checksum, bounded in bytes, so
// unchanged objects are not downloaded again. Pruning only skips objects
// that cannot hold rows inside the requested time window; the engine still
// filters rows by time, so results never depend on it.
package objstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	// Object-store drivers of file source paths.
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// DefaultMaxCacheBytes is the staging cache bound when Options leaves it
// zero.
const DefaultMaxCacheBytes = 10 << 30

// Options configures a Store.
type Options struct {
	// Dir holds the staged objects; it is created if missing. Files left in
	// it by an earlier process are reused when still current.
	Dir string
	// MaxCacheBytes bounds the staged objects kept on disk between reads;
	// 0 means DefaultMaxCacheBytes. The objects a running read uses are
	// never removed, so one read may exceed it until the read ends.
	MaxCacheBytes int64
	// S3Endpoint, when set, is the endpoint of s3:// paths that do not name
	// one in their query (S3-compatible stores such as MinIO, Ceph or R2),
	// with path-style addressing.
	S3Endpoint string
	// Parallelism is how many objects are downloaded, or footers read, at
	// once; 0 means 8.
	Parallelism int
	// OpenBucket opens a bucket URL; nil means blob.OpenBucket.
	OpenBucket func(ctx context.Context, url string) (*blob.Bucket, error)
}

// Stats counts what reads fetched through the blob layer since the Store
// was created. Every byte read from a bucket is counted in BytesRead.
type Stats struct {
	// Listed is the number of objects listed.
	Listed int64
	// FootersRead is the number of Parquet footers read by ranged reads.
	FootersRead int64
	// ObjectsRead is the number of whole objects downloaded.
	ObjectsRead int64
	// BytesRead is every byte read from buckets: footers and objects.
	BytesRead int64
	// CacheHits counts objects served from the staging cache.
	CacheHits int64
	// PrunedPartition and PrunedFooter count objects skipped by partition
	// folders and by footer statistics.
	PrunedPartition, PrunedFooter int64
	// PrunedRowGroups counts row groups skipped, by footer statistics, in
	// objects read only in part.
	PrunedRowGroups int64
}

// Store stages object-store sources on local disk. It is safe for
// concurrent use.
type Store struct {
	opts  Options
	cache *cache

	mu      sync.Mutex
	buckets map[string]*blob.Bucket

	flight singleflight.Group

	listed, footers, objects, bytesRead, hits, prunedPart, prunedFooter, prunedRowGroups atomic.Int64
}

// New opens a Store staging into opts.Dir.
func New(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("object-store staging: no directory")
	}
	if opts.MaxCacheBytes <= 0 {
		opts.MaxCacheBytes = DefaultMaxCacheBytes
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 8
	}
	if opts.OpenBucket == nil {
		opts.OpenBucket = blob.OpenBucket
	}
	c, err := openCache(opts.Dir, opts.MaxCacheBytes)
	if err != nil {
		return nil, fmt.Errorf("object-store staging directory %s: %w", opts.Dir, err)
	}
	return &Store{opts: opts, cache: c, buckets: map[string]*blob.Bucket{}}, nil
}

// Close closes the buckets the store opened. Staged files stay in Dir.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, b := range s.buckets {
		errs = append(errs, b.Close())
	}
	s.buckets = map[string]*blob.Bucket{}
	return errors.Join(errs...)
}

// Stats returns the counters of what was read so far.
func (s *Store) Stats() Stats {
	return Stats{
		Listed: s.listed.Load(), FootersRead: s.footers.Load(), ObjectsRead: s.objects.Load(),
		BytesRead: s.bytesRead.Load(), CacheHits: s.hits.Load(),
		PrunedPartition: s.prunedPart.Load(), PrunedFooter: s.prunedFooter.Load(), PrunedRowGroups: s.prunedRowGroups.Load(),
	}
}

// CacheBytes is the size of the staged files on disk.
func (s *Store) CacheBytes() int64 { return s.cache.size() }

func (s *Store) bucket(ctx context.Context, loc Location) (*blob.Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.buckets[loc.BucketURL]; ok {
		return b, nil
	}
	b, err := s.opts.OpenBucket(ctx, loc.BucketURL)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", loc, err)
	}
	s.buckets[loc.BucketURL] = b
	return b, nil
}

// Request is what to stage: a file source's path and format, and the time
// window the read needs.
type Request struct {
	// Source names the data source in errors.
	Source string
	// Path is the object-store path: an object, a prefix or a glob.
	Path string
	// Format is parquet or csv; empty means by extension (parquet for a
	// prefix).
	Format string
	// TimestampColumn is the event timestamp column whose footer statistics
	// prune Parquet objects; empty disables footer pruning.
	TimestampColumn string
	// DatePartitionColumn names the partition folders holding time (see
	// the package documentation); empty disables partition pruning.
	DatePartitionColumn string
	// Window is the event time the read needs; zero reads everything.
	Window Window
	// S3Endpoint overrides Options.S3Endpoint for this source (Feast's
	// FileOptions.s3_endpoint_override).
	S3Endpoint string
}

// Staged is a read's local copy of a source's objects. The files stay on
// disk until Release.
type Staged struct {
	// Files are the local paths, in key order. Hive partition folders of
	// the keys are kept in them.
	Files []string
	// Format is parquet or csv.
	Format string
	// Hive reports whether the keys have Hive partition folders (name=value).
	Hive bool
	// Listed is how many objects the source has; len(Files) of them are read.
	Listed int

	once    sync.Once
	release func()
}

// Release lets the cache remove the staged files when it needs room.
func (st *Staged) Release() {
	st.once.Do(func() {
		if st.release != nil {
			st.release()
		}
	})
}

// object is one listed object.
type object struct {
	key     string
	size    int64
	modTime time.Time
	md5     []byte
	// rowGroups, when set, are the only row groups a read needs.
	rowGroups *rowGroupSubset
	// rowGroupRows are the row counts of the row groups, and inWindow the
	// row groups footer statistics keep (nil: all), when the footer was read.
	rowGroupRows []int64
	inWindow     []int
}

// Stage lists, prunes and downloads the objects of a source for one read.
// The caller must Release the result.
func (s *Store) Stage(ctx context.Context, req Request) (*Staged, error) {
	sel, err := s.selectObjects(ctx, req)
	if err != nil {
		return nil, err
	}
	loc, b, objs, format, read := sel.loc, sel.bucket, sel.listed, sel.format, sel.read
	if len(read) == 0 {
		// Nothing in the window: the smallest object still gives the engine
		// the source's columns (its rows are filtered out by time).
		read = append(read, slices.MinFunc(objs, func(a, b object) int { return cmp.Compare(a.size, b.size) }))
	}
	st := &Staged{Format: format, Listed: len(objs), Files: make([]string, len(read))}
	var mu sync.Mutex
	var pinned []string
	st.release = func() { s.cache.unpin(pinned) }
	// Partition folders count from the source's root folder: the list
	// prefix up to its last slash (a glob's prefix may end inside one, as
	// in dt=*).
	root := loc.ListPrefix()
	root = root[:strings.LastIndexByte(root, '/')+1]
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Parallelism)
	for i, o := range read {
		g.Go(func() error {
			local, err := s.fetch(gctx, b, loc, o)
			if err != nil {
				return err
			}
			mu.Lock()
			pinned = append(pinned, local)
			mu.Unlock()
			st.Files[i] = local
			return nil
		})
		if hasHiveFolder(strings.TrimPrefix(o.key, root)) {
			st.Hive = true
		}
	}
	if err := g.Wait(); err != nil {
		st.Release()
		return nil, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	return st, nil
}

// selection is what a read of a source needs: its listed objects and,
// after pruning, those that may hold rows in the window.
type selection struct {
	loc    Location
	bucket *blob.Bucket
	format string
	listed []object
	read   []object
}

// selectObjects lists a source's objects and prunes them by partition
// folders and footer statistics to those the request's window needs.
func (s *Store) selectObjects(ctx context.Context, req Request) (selection, error) {
	loc, err := s.location(req)
	if err != nil {
		return selection{}, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	parts, err := parsePartitionScheme(req.DatePartitionColumn)
	if err != nil {
		return selection{}, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	b, err := s.bucket(ctx, loc)
	if err != nil {
		return selection{}, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	objs, format, err := s.list(ctx, b, loc, req.Format)
	if err != nil {
		return selection{}, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	keep := make([]bool, len(objs))
	for i, o := range objs {
		keep[i] = true
		if req.Window == (Window{}) {
			continue
		}
		if from, to, ok := parts.span(o.key); ok && !req.Window.overlaps(from, to, false) {
			keep[i] = false
			s.prunedPart.Add(1)
		}
	}
	if format == "parquet" && req.TimestampColumn != "" && req.Window != (Window{}) {
		if err := s.pruneByFooter(ctx, b, loc, objs, keep, req); err != nil {
			return selection{}, fmt.Errorf("file source %s: %w", req.Source, err)
		}
	}
	var read []object
	for i, o := range objs {
		if keep[i] {
			read = append(read, o)
		}
	}
	return selection{loc: loc, bucket: b, format: format, listed: objs, read: read}, nil
}

// location parses a request's path with its endpoint.
func (s *Store) location(req Request) (Location, error) {
	endpoint := req.S3Endpoint
	if endpoint == "" {
		endpoint = s.opts.S3Endpoint
	}
	return ParseLocation(req.Path, endpoint)
}

// hasHiveFolder reports whether a relative key has a name=value folder.
func hasHiveFolder(rel string) bool {
	dir := path.Dir(rel)
	for _, seg := range strings.Split(dir, "/") {
		if strings.Contains(seg, "=") {
			return true
		}
	}
	return false
}

// list finds the objects of a location: the object itself, or every
// object under the prefix (of the format's extension) or matching the glob.
func (s *Store) list(ctx context.Context, b *blob.Bucket, loc Location, format string) ([]object, string, error) {
	prefix := loc.ListPrefix()
	if !loc.HasGlob() && loc.Key != "" && !strings.HasSuffix(loc.Key, "/") {
		attrs, err := b.Attributes(ctx, loc.Key)
		switch {
		case err == nil:
			s.listed.Add(1)
			if format == "" {
				format = formatOf(loc.Key)
			}
			if format == "" {
				return nil, "", fmt.Errorf("object %s: unknown format (name it .parquet or .csv, or set file_format)", loc.ObjectURL(loc.Key))
			}
			return []object{{key: loc.Key, size: attrs.Size, modTime: attrs.ModTime, md5: attrs.MD5}}, format, nil
		case gcerrors.Code(err) == gcerrors.NotFound:
			prefix = loc.Key + "/" // a folder written without its slash
		default:
			return nil, "", describe("read", loc, loc.Key, err)
		}
	}
	folder := !loc.HasGlob()
	if format == "" && folder {
		format = "parquet"
	}
	if format == "" {
		format = formatOf(strings.TrimRight(loc.Key, "*"))
	}
	var objs []object
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", describe("list", loc, prefix, err)
		}
		s.listed.Add(1)
		base := path.Base(o.Key)
		if o.IsDir || strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
			continue
		}
		if loc.HasGlob() && !loc.Glob.MatchString(o.Key) {
			continue
		}
		f := formatOf(o.Key)
		if format == "" {
			format = f
		}
		if folder && f != format {
			continue
		}
		objs = append(objs, object{key: o.Key, size: o.Size, modTime: o.ModTime, md5: o.MD5})
	}
	if len(objs) == 0 {
		what := "under the prefix " + loc.ObjectURL(prefix)
		if loc.HasGlob() {
			what = "matching " + loc.ObjectURL(loc.Key)
		}
		if format == "" {
			format = "parquet or csv"
		}
		return nil, "", fmt.Errorf("no %s objects %s; check the path (a folder is read with all its .%s objects)", format, what, strings.Fields(format)[0])
	}
	if format == "" {
		return nil, "", fmt.Errorf("objects %s: unknown format (set file_format to parquet or csv)", loc.ObjectURL(loc.Key))
	}
	return objs, format, nil
}

// pruneByFooter clears keep for Parquet objects whose timestamp statistics
// lie outside the window, reading each remaining footer (from the staging
// cache when the object is there), and marks objects of which only some row
// groups are in the window to be staged partly.
func (s *Store) pruneByFooter(ctx context.Context, b *blob.Bucket, loc Location, objs []object, keep []bool, req Request) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Parallelism)
	for i, o := range objs {
		if !keep[i] {
			continue
		}
		g.Go(func() error {
			md, raw, cached, err := s.footer(gctx, b, loc, o)
			if err != nil {
				return err
			}
			objs[i].rowGroupRows = rowGroupRows(md)
			rgs, ok := rowGroupsInWindow(md, req.TimestampColumn, req.Window)
			if !ok {
				return nil
			}
			var sub []int
			for j, k := range rgs {
				if k {
					sub = append(sub, j)
				}
			}
			if len(sub) < len(rgs) {
				objs[i].inWindow = sub
			}
			switch {
			case len(sub) == 0:
				keep[i] = false
				s.prunedFooter.Add(1)
			case len(sub) < len(rgs) && !cached && copyableRowGroups(md):
				// Only these row groups are fetched (ranged reads), into a
				// local Parquet file of their own.
				objs[i].rowGroups = &rowGroupSubset{footer: raw, keep: sub}
				s.prunedRowGroups.Add(int64(len(rgs) - len(sub)))
			}
			return nil
		})
	}
	return g.Wait()
}

// footer reads an object's Parquet footer: the last 8 bytes, then the
// footer they point to.
func (s *Store) footer(ctx context.Context, b *blob.Bucket, loc Location, o object) (md *metadata.FileMetaData, raw []byte, cached bool, err error) {
	readAt := func(off, n int64) ([]byte, error) {
		r, err := b.NewRangeReader(ctx, o.key, off, n, nil)
		if err != nil {
			return nil, describe("read the footer of", loc, o.key, err)
		}
		defer r.Close()
		buf := make([]byte, n)
		got, err := io.ReadFull(r, buf)
		s.bytesRead.Add(int64(got))
		if err != nil {
			return nil, describe("read the footer of", loc, o.key, err)
		}
		return buf, nil
	}
	if local := s.localPath(loc, o); s.cache.pin(local) {
		defer s.cache.unpin([]string{local})
		f, err := os.Open(local)
		if err == nil {
			defer f.Close()
			cached = true
			readAt = func(off, n int64) ([]byte, error) {
				buf := make([]byte, n)
				_, err := f.ReadAt(buf, off)
				return buf, err
			}
		}
	} else {
		s.footers.Add(1)
	}
	if o.size < footerTail+4 {
		return nil, nil, false, fmt.Errorf("object %s: %d bytes is too short for a Parquet file", loc.ObjectURL(o.key), o.size)
	}
	tail, err := readAt(o.size-footerTail, footerTail)
	if err != nil {
		return nil, nil, false, err
	}
	n, err := parseFooterTail(tail, o.size)
	if err != nil {
		return nil, nil, false, fmt.Errorf("object %s: %w", loc.ObjectURL(o.key), err)
	}
	raw, err = readAt(o.size-footerTail-n, n)
	if err != nil {
		return nil, nil, false, err
	}
	md, err = metadata.NewFileMetaData(raw, nil)
	if err != nil {
		return nil, nil, false, fmt.Errorf("object %s: parse parquet footer: %w", loc.ObjectURL(o.key), err)
	}
	return md, raw, cached, nil
}

// localPath is where an object version is staged: the bucket's folder,
// then the key's folders (keeping Hive partition folders for the engine),
// then a file named by the version and the key's base name.
func (s *Store) localPath(loc Location, o object) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%x", o.key, o.size, o.modTime.UnixNano(), o.md5)
	version := hex.EncodeToString(h.Sum(nil))[:16]
	bucketID := sha256.Sum256([]byte(loc.BucketURL))
	segs := strings.Split(o.key, "/")
	for i, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			segs[i] = "%" + hex.EncodeToString([]byte(seg))
		}
	}
	base := segs[len(segs)-1]
	if o.rowGroups != nil {
		version += "-rg" + o.rowGroups.id()
	}
	segs[len(segs)-1] = version + "-" + base
	return filepath.Join(append([]string{s.opts.Dir, loc.Scheme, loc.Bucket + "-" + hex.EncodeToString(bucketID[:4])}, segs...)...)
}

// fetch stages one object, pinned for the caller, and returns its local
// path: from the cache when this version is there, else downloaded.
func (s *Store) fetch(ctx context.Context, b *blob.Bucket, loc Location, o object) (string, error) {
	local := s.localPath(loc, o)
	pinned, err := s.pinned(ctx, local, func() error {
		if o.rowGroups != nil {
			return s.downloadRowGroups(ctx, b, loc, o, local)
		}
		return s.download(ctx, b, loc, o, local)
	})
	if err != nil {
		return "", err
	}
	if !pinned {
		return "", fmt.Errorf("object %s: the staging cache is too small to keep it; raise its size", loc.ObjectURL(o.key))
	}
	return local, nil
}

// pinned pins the cached file local for the caller: from the cache when
// it is there, else after download, run once for all the callers of local
// at a time. A caller whose shared download ended with another read's
// cancellation downloads again under its own context. pinned is false,
// with no error, when the file was evicted between each of three
// downloads and the pin: the cache is too small to keep it.
func (s *Store) pinned(ctx context.Context, local string, download func() error) (bool, error) {
	var lastErr error
	for range 3 {
		if s.cache.pin(local) {
			s.hits.Add(1)
			return true, nil
		}
		err := s.shared(ctx, local, download)
		if sharedCancel(ctx, err) {
			lastErr = err
			continue
		}
		if err != nil {
			return false, err
		}
		if s.cache.pin(local) {
			return true, nil
		}
		// Evicted between the download and the pin: try again.
	}
	return false, lastErr
}

// downloadCanceled is a shared download's error when the context it ran
// under (the first caller's) ended: a waiter whose own context is live
// downloads again instead of failing with another read's cancellation. A
// download's own timeout (an HTTP client's deadline) is not one.
type downloadCanceled struct{ err error }

func (e *downloadCanceled) Error() string { return e.err.Error() }
func (e *downloadCanceled) Unwrap() error { return e.err }

// shared runs download once for the callers of one key at a time
// (singleflight) and marks its error when the runner's context ended.
func (s *Store) shared(ctx context.Context, key string, download func() error) error {
	_, err, _ := s.flight.Do(key, func() (any, error) {
		err := download()
		if err != nil && ctx.Err() != nil {
			err = &downloadCanceled{err}
		}
		return nil, err
	})
	return err
}

// sharedCancel reports whether err ended a download this caller shared
// with a read whose context ended first, while the caller's own is live.
func sharedCancel(ctx context.Context, err error) bool {
	var dc *downloadCanceled
	return errors.As(err, &dc) && ctx.Err() == nil
}

// CachedFile stages an immutable remote file in the staging cache, pinned
// for the caller until release: an Iceberg data file, whose path names one
// content for ever (Iceberg writes a new file rather than rewrite one). A
// file already cached (by this process, or by an earlier one when the
// directory persists) is not read again; object_cache_max_bytes and the
// least-recently-used eviction cover these files as they cover objects.
// name identifies the file (its URL); size, when positive, is its length
// as the table's metadata records it and is checked; open reads it. Errors
// do not repeat name: the caller says which file it read.
func (s *Store) CachedFile(ctx context.Context, name string, size int64, open func(context.Context) (io.ReadCloser, error)) (local string, release func(), err error) {
	// The size is part of the key: a copy of another length (a file
	// rewritten in place) is never served for this one.
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", name, size))
	id := hex.EncodeToString(sum[:16])
	local = filepath.Join(s.opts.Dir, "iceberg", id[:2], id+".parquet")
	ok, err := s.pinned(ctx, local, func() error { return s.downloadFile(ctx, name, size, open, local) })
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, errors.New("the staging cache is too small to keep it; raise object_cache_max_bytes")
	}
	return local, func() { s.cache.unpin([]string{local}) }, nil
}

// downloadFile is download for CachedFile; its errors do not name the
// file, which CachedFile's callers do.
func (s *Store) downloadFile(ctx context.Context, name string, size int64, open func(context.Context) (io.ReadCloser, error), local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	r, err := open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := local + ".download-" + hex.EncodeToString(suffix[:])
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	defer os.Remove(tmp) // no-op after the rename
	n, err := io.Copy(f, ContextReader{Ctx: ctx, R: r})
	s.bytesRead.Add(n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if size > 0 && n != size {
		return fmt.Errorf("%d bytes, but the table's metadata records %d (rewritten in place?)", n, size)
	}
	if err := os.Rename(tmp, local); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	s.objects.Add(1)
	s.cache.add(local, n)
	return nil
}

// ContextReader stops a copy (io.Copy) when its context ends: each Read
// first checks Ctx.
type ContextReader struct {
	Ctx context.Context
	R   io.Reader
}

func (r ContextReader) Read(p []byte) (int, error) {
	if err := r.Ctx.Err(); err != nil {
		return 0, err
	}
	return r.R.Read(p)
}

// download streams an object to local through a temporary file, with
// bounded memory, and records it in the cache.
func (s *Store) download(ctx context.Context, b *blob.Bucket, loc Location, o object, local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	r, err := b.NewReader(ctx, o.key, nil)
	if err != nil {
		return describe("read", loc, o.key, err)
	}
	defer r.Close()
	// Only the size is compared: listings and object headers disagree on
	// modification times (precision, and some stores report the upload's
	// start in one and its end in the other).
	if r.Size() != o.size {
		return fmt.Errorf("object %s changed after it was listed (size %d, now %d); run again", loc.ObjectURL(o.key), o.size, r.Size())
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := local + ".download-" + hex.EncodeToString(suffix[:])
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	defer os.Remove(tmp) // no-op after the rename
	n, err := io.Copy(f, r)
	s.bytesRead.Add(n)
	if err != nil {
		f.Close()
		return describe("read", loc, o.key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	if n != o.size {
		return fmt.Errorf("object %s: read %d bytes of %d (changed while read?); run again", loc.ObjectURL(o.key), n, o.size)
	}
	if err := os.Rename(tmp, local); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	s.objects.Add(1)
	s.cache.add(local, n)
	return nil
}

// describe wraps a blob error with the action, the object and what to do
// about the common causes.
func describe(action string, loc Location, key string, err error) error {
	what := loc.ObjectURL(key)
	hint := ""
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		hint = "; the bucket or object does not exist (deleted after listing, or a wrong bucket name?)"
		if action == "list" {
			hint = fmt.Sprintf("; the bucket %s does not exist or is not visible with these credentials", loc.Bucket)
		}
	case gcerrors.PermissionDenied:
		hint = "; access denied: check the credentials (for S3: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role; GCS: application default credentials; Azure: AZURE_STORAGE_ACCOUNT and a key, SAS token or workload identity)"
	case gcerrors.DeadlineExceeded, gcerrors.Canceled:
	default:
		if msg := err.Error(); strings.Contains(msg, "InvalidAccessKeyId") || strings.Contains(msg, "SignatureDoesNotMatch") ||
			strings.Contains(msg, "AccessDenied") || strings.Contains(msg, "NoCredentialProviders") || strings.Contains(msg, "failed to retrieve credentials") {
			hint = "; the credentials were refused: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role (or the cloud's own credential chain)"
		} else if strings.Contains(msg, "NoSuchBucket") {
			hint = fmt.Sprintf("; the bucket %s does not exist", loc.Bucket)
		}
	}
	return fmt.Errorf("%s %s: %w%s", action, what, err, hint)
}
