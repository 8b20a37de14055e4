package iceberg

import (
	"context"
	"fmt"
	"os"

	iceberggo "github.com/apache/iceberg-go"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/objstore"
)

// DataFile is one data file a scan kept after pruning.
type DataFile struct {
	// Path is the file's location as the table's manifests hold it (a
	// file:, s3://, gs:// ... URI or a plain path).
	Path string
	// Format is the file's format (PARQUET).
	Format string
	// Size is its size in bytes and Records its row count, from the
	// manifest.
	Size, Records int64
}

// Plan is a scan planned for a window: the data files to read, each
// readable on its own.
type Plan struct {
	// SnapshotID is the snapshot planned; 0 for a table without snapshots.
	SnapshotID int64
	// Files are the data files the row filter kept, each once.
	Files []DataFile
}

// Plan plans a scan of the source's table for the event time window w,
// as Stage does (same snapshot, same row filter, hence the same data
// files), without reading any data file. It refuses a scan whose files
// cannot be read on their own: delete files apply to them, a column was
// renamed, or a file may lack an identity partition column (those only
// iceberg-go's merged reader reads correctly).
func (s *Store) Plan(ctx context.Context, src *model.DataSource, w objstore.Window) (*Plan, error) {
	tbl, err := s.Table(ctx, src)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Plan, error) { return nil, fmt.Errorf("%s: %w", describeSource(src), err) }
	scan, err := newScan(src, tbl, w)
	if err != nil {
		return fail(err)
	}
	snap, err := scan.ResolveSnapshot()
	if err != nil {
		return fail(fmt.Errorf("resolve snapshot: %w", err))
	}
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return fail(fmt.Errorf("plan scan: %w", err))
	}
	s.scans.Add(1)
	p := &Plan{}
	if snap != nil {
		p.SnapshotID = snap.SnapshotID
		if snap.Summary != nil {
			var total int64
			fmt.Sscan(snap.Summary.Properties["total-data-files"], &total)
			s.inSnapshots.Add(total)
		}
	}
	if len(tasks) > 0 && renamedColumns(tbl.Metadata()) {
		return fail(fmt.Errorf("snapshot %d: a column was renamed, so data files hold it under an earlier name that only a merged read maps back; read it per file after rewriting the data files, or use the in-process engine", p.SnapshotID))
	}
	seen := map[string]bool{}
	for _, t := range tasks {
		f := t.File
		if ff := f.FileFormat(); ff != iceberggo.ParquetFile {
			return fail(fmt.Errorf("data file %s is %s; only Parquet data files are read (rewrite the table's data files as Parquet)", f.FilePath(), ff))
		}
		if len(t.DeleteFiles)+len(t.EqualityDeleteFiles)+len(t.DeletionVectorFiles) > 0 {
			return fail(fmt.Errorf("snapshot %d: delete files apply to data file %s, which only a merged read applies; compact the table (rewrite data files) first, or use the in-process engine", p.SnapshotID, f.FilePath()))
		}
		if lacksIdentityColumn(tbl.Metadata(), f) {
			return fail(fmt.Errorf("snapshot %d: data file %s may lack an identity partition column (its value is only in the partition tuple), which only a merged read fills in; use the in-process engine", p.SnapshotID, f.FilePath()))
		}
		if seen[f.FilePath()] {
			continue
		}
		seen[f.FilePath()] = true
		p.Files = append(p.Files, DataFile{Path: f.FilePath(), Format: string(f.FileFormat()), Size: f.FileSizeBytes(), Records: f.Count()})
	}
	s.read.Add(int64(len(p.Files)))
	return p, nil
}

// StageDataFile makes one planned data file of the source's table
// readable as a local Parquet file: a file in a local warehouse in place,
// a remote one copied into Options.Dir through the table's file IO (the
// catalog's properties and this process's credentials). The caller must
// call release when done with the path.
func (s *Store) StageDataFile(ctx context.Context, src *model.DataSource, f DataFile) (path string, release func(), err error) {
	if lp, ok := localPath(f.Path); ok {
		st, err := os.Stat(lp)
		if err != nil {
			return "", nil, fmt.Errorf("%s: data file %s: %w", describeSource(src), f.Path, err)
		}
		if f.Size > 0 && st.Size() != f.Size {
			return "", nil, fmt.Errorf("%s: data file %s has %d bytes, the manifest says %d: the file was replaced since the scan was planned", describeSource(src), f.Path, st.Size(), f.Size)
		}
		return lp, func() {}, nil
	}
	tbl, err := s.Table(ctx, src)
	if err != nil {
		return "", nil, err
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("%s: open the table's file IO: %w", describeSource(src), err)
	}
	dir, err := os.MkdirTemp(s.opts.Dir, "file-")
	if err != nil {
		return "", nil, err
	}
	release = func() { os.RemoveAll(dir) }
	local, err := s.copyDataFile(ctx, fsys, f.Path, dir)
	if err == nil && f.Size > 0 {
		if st, serr := os.Stat(local); serr != nil {
			err = serr
		} else if st.Size() != f.Size {
			err = fmt.Errorf("data file %s has %d bytes, the manifest says %d: the file was replaced since the scan was planned", f.Path, st.Size(), f.Size)
		}
	}
	if err != nil {
		release()
		return "", nil, fmt.Errorf("%s: %w", describeSource(src), err)
	}
	return local, release, nil
}
