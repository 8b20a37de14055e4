package beam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
// since it was planned, and reads it. Each split stages into a temporary
// folder of its own, removed when the split is read: Beam does not always
// tear DoFns down, so nothing may outlive the call.
func readObject(ctx context.Context, cfg config.OfflineStoreConfig, repoPath string, req objstore.Request, sp Split, conv *converter, batchRows int, emit func(key, row []byte)) (int64, error) {
	dir, err := splitStagingDir(cfg, repoPath)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	store, err := objstore.New(objstore.Options{Dir: dir, S3Endpoint: cfg.S3EndpointOverride})
	if err != nil {
		return 0, err
	}
	defer store.Close()
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

// splitStagingDir makes the temporary folder one split stages its files
// in, under offline_store.object_cache_dir (relative to the repository)
// when set, else the system's temporary folder. The caller removes it.
func splitStagingDir(cfg config.OfflineStoreConfig, repoPath string) (string, error) {
	base := cfg.ObjectCacheDir
	if base != "" {
		if !filepath.IsAbs(base) && repoPath != "" {
			base = filepath.Join(repoPath, base)
		}
		if err := os.MkdirAll(base, 0o755); err != nil {
			return "", fmt.Errorf("object staging folder %s: %w", base, err)
		}
	}
	dir, err := os.MkdirTemp(base, "feast-beam-split-")
	if err != nil {
		return "", fmt.Errorf("object staging folder: %w", err)
	}
	return dir, nil
}
