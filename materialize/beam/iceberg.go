package beam

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/iceberg"
	"github.com/feastgo/feast/offline/objstore"
)

// splitIceberg is one data file of an Iceberg table's planned scan.
const splitIceberg = "iceberg"

// icebergStore opens the tables of iceberg sources with the offline
// store's catalogs and endpoint, staging remote data files under dir.
func icebergStore(cfg config.OfflineStoreConfig, dir string) (*iceberg.Store, error) {
	return iceberg.New(iceberg.Options{Catalogs: cfg.IcebergCatalogs, Dir: dir, S3Endpoint: cfg.S3EndpointOverride, Parallelism: 1})
}

// planIceberg plans the scan of an iceberg source for the interval
// [start, end] (unix ns) through offline/iceberg, with the snapshot and
// row filter the in-process engine's pull uses, so partition and file
// statistics prune the same data files, and makes one split per data file
// kept. Scans that need iceberg-go's merged reader (delete files, renamed
// columns) are refused by the planner with the table and the reason.
func planIceberg(ctx context.Context, src *model.DataSource, offlineCfg config.OfflineStoreConfig, start, end int64) ([]Split, error) {
	dir, err := os.MkdirTemp("", "feast-beam-plan-")
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	defer os.RemoveAll(dir)
	store, err := icebergStore(offlineCfg, dir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	plan, err := store.Plan(ctx, src, objstore.Window{From: time.Unix(0, start).UTC(), To: time.Unix(0, end).UTC()})
	if err != nil {
		return nil, err
	}
	splits := make([]Split, len(plan.Files))
	for i, f := range plan.Files {
		splits[i] = Split{Kind: splitIceberg, Path: f.Path, Size: f.Size, Rows: f.Records}
	}
	return splits, nil
}

// readIceberg reads the data file of a split on the worker: in place from
// a local warehouse, else copied through the table's file IO, which the
// worker opens from the source's catalog with its own credentials, into a
// temporary folder of the split's own, removed when it is read.
func readIceberg(ctx context.Context, cfg config.OfflineStoreConfig, repoPath string, src *model.DataSource, sp Split, conv *converter, batchRows int, emit func(key, row []byte)) (int64, error) {
	dir, err := splitStagingDir(cfg, repoPath)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	store, err := icebergStore(cfg, dir)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	path, release, err := store.StageDataFile(ctx, src, iceberg.DataFile{Path: sp.Path, Size: sp.Size, Records: sp.Rows})
	if err != nil {
		return 0, err
	}
	defer release()
	conv.absentNull = true
	n, err := readParquetFile(ctx, path, fmt.Sprintf("iceberg source %s (table %s): data file %s", src.Name, src.Iceberg.Table, sp.Path), nil, conv, batchRows, emit)
	return n, err
}
