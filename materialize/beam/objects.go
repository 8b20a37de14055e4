package beam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/objstore"
)

// objectRequest is the objstore request of a file source in object storage
// for the interval [start, end] (unix ns): the same window the in-process
// engine stages for materialization, so both read the same objects.
func objectRequest(src *model.DataSource, start, end int64) objstore.Request {
	return objstore.Request{
		Source: src.Name, Path: src.Path, Format: strings.ToLower(src.FileFormat),
		TimestampColumn: src.TimestampField, DatePartitionColumn: src.DatePartitionColumn,
		Window:     objstore.Window{From: time.Unix(0, start).UTC(), To: time.Unix(0, end).UTC()},
		S3Endpoint: src.S3EndpointOverride,
	}
}

// planObjects lists and prunes an object-store source through objstore
// (partition folders, then footer statistics: nothing is downloaded) and
// makes one split per remaining object, or, for an object of more than
// splitRows rows, one per run of its row groups up to about splitRows rows.
func planObjects(ctx context.Context, src *model.DataSource, offlineCfg config.OfflineStoreConfig, splitRows, start, end int64) ([]Split, error) {
	dir, err := os.MkdirTemp("", "feast-beam-plan-")
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	defer os.RemoveAll(dir)
	store, err := objstore.New(objstore.Options{Dir: dir, S3Endpoint: offlineCfg.S3EndpointOverride})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	plan, err := store.Plan(ctx, objectRequest(src, start, end))
	if err != nil {
		return nil, err
	}
	if plan.Format != "parquet" {
		return nil, fmt.Errorf("source %s: %s holds %s objects; the beam engine reads parquet", src.Name, src.Path, plan.Format)
	}
	return objectSplits(plan.Objects, splitRows), nil
}

// objectSplits divides planned objects into splits.
func objectSplits(objs []objstore.PlannedObject, splitRows int64) []Split {
	var splits []Split
	for _, o := range objs {
		groups := o.RowGroups
		if groups == nil {
			groups = make([]int, len(o.RowGroupRows))
			for i := range groups {
				groups[i] = i
			}
		}
		base := Split{Kind: splitObject, Path: o.URL, Key: o.Key, Size: o.Size, ModTime: o.ModTime.UnixNano(), MD5: o.MD5}
		var total int64
		for _, g := range groups {
			total += o.RowGroupRows[g]
		}
		if total <= splitRows {
			sp := base
			sp.Rows = total
			if o.RowGroups != nil {
				sp.RowGroups = groups
			}
			splits = append(splits, sp)
			continue
		}
		first := len(splits)
		var cur Split
		for _, g := range groups {
			n := o.RowGroupRows[g]
			if len(cur.RowGroups) > 0 && cur.Rows+n > splitRows {
				splits = append(splits, cur)
				cur = Split{}
			}
			if len(cur.RowGroups) == 0 {
				cur = base
			}
			cur.RowGroups = append(cur.RowGroups, g)
			cur.Rows += n
		}
		if len(cur.RowGroups) > 0 {
			splits = append(splits, cur)
		}
		if len(splits) == first+1 && o.RowGroups == nil {
			splits[first].RowGroups = nil // one row group larger than a split: the whole object
		}
	}
	return splits
}

// readObject stages the object (or the row groups) of a split on the
// worker through objstore, which refuses an object deleted or changed
// since it was planned, and reads it.
func readObject(ctx context.Context, store *objstore.Store, req objstore.Request, sp Split, conv *converter, batchRows int, emit func(key, row []byte)) (int64, error) {
	po := objstore.PlannedObject{Key: sp.Key, URL: sp.Path, Size: sp.Size, ModTime: time.Unix(0, sp.ModTime).UTC(), MD5: sp.MD5}
	staged, err := store.StageObject(ctx, req, po, sp.RowGroups)
	if err != nil {
		return 0, err
	}
	defer staged.Release()
	n, err := readParquetFile(ctx, staged.Path, sp.Path, staged.RowGroups, conv, batchRows, emit)
	var missing *missingColumnError
	if errors.As(err, &missing) && strings.Contains("/"+sp.Key, "/"+missing.column+"=") {
		err = fmt.Errorf("%w: it is a partition folder of the key, which the beam engine does not read as a column; store it in the objects, or use the in-process engine", err)
	}
	return n, err
}

// objectCache shares one objstore staging area between the DoFn instances
// of a worker process, keyed by the offline store settings it uses: a
// temporary folder (under offline_store.object_cache_dir when set) removed
// when the last instance is torn down. Like workerStores, it is a package
// variable because Beam gives DoFns no other process-wide owner.
type objectCache struct {
	mu sync.Mutex
	m  map[string]*sharedObjects
}

type sharedObjects struct {
	store *objstore.Store
	dir   string
	refs  int
}

// workerCacheBytes bounds a worker's staged objects kept between splits
// when offline_store.object_cache_max_bytes is not set: a worker reads each
// split once, so it keeps little; the splits being read are never removed.
const workerCacheBytes = 1 << 30

var workerObjects = &objectCache{m: map[string]*sharedObjects{}}

func (c *objectCache) acquire(cfg config.OfflineStoreConfig, repoPath string) (*objstore.Store, func(), error) {
	base := cfg.ObjectCacheDir
	if base != "" && !filepath.IsAbs(base) && repoPath != "" {
		base = filepath.Join(repoPath, base)
	}
	key := fmt.Sprintf("%s\x00%d\x00%s", base, cfg.ObjectCacheBytes, cfg.S3EndpointOverride)
	c.mu.Lock()
	defer c.mu.Unlock()
	sh, ok := c.m[key]
	if !ok {
		if base != "" {
			if err := os.MkdirAll(base, 0o755); err != nil {
				return nil, nil, fmt.Errorf("object staging folder %s: %w", base, err)
			}
		}
		dir, err := os.MkdirTemp(base, "feast-beam-objects-")
		if err != nil {
			return nil, nil, fmt.Errorf("object staging folder: %w", err)
		}
		limit := cfg.ObjectCacheBytes
		if limit <= 0 {
			limit = workerCacheBytes
		}
		s, err := objstore.New(objstore.Options{Dir: dir, MaxCacheBytes: limit, S3Endpoint: cfg.S3EndpointOverride})
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		sh = &sharedObjects{store: s, dir: dir}
		c.m[key] = sh
	}
	sh.refs++
	var once sync.Once
	release := func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			sh.refs--
			if sh.refs == 0 {
				sh.store.Close()
				os.RemoveAll(sh.dir)
				delete(c.m, key)
			}
		})
	}
	return sh.store, release, nil
}
