package objstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/parquet/metadata"
	"golang.org/x/sync/errgroup"
)

// Plan is what a distributed read of a source needs to divide the work:
// the objects left after the same pruning Stage does, with the row groups
// of each. Nothing is downloaded to make it; Parquet footers are read with
// ranged reads.
type Plan struct {
	// Format is parquet or csv.
	Format string
	// Listed is how many objects the source has.
	Listed int
	// Objects are the objects that may hold rows in the window, in key
	// order. Unlike Stage, a window no object overlaps leaves it empty.
	Objects []PlannedObject
}

// PlannedObject is one object of a Plan. It identifies the object version
// that was listed: StageObject refuses an object that changed since.
type PlannedObject struct {
	// Key is the object's key in the source's bucket; URL names it in
	// messages (scheme://bucket/key, no query).
	Key string
	URL string
	// Size, ModTime and MD5 are the listed version.
	Size    int64
	ModTime time.Time
	MD5     []byte
	// RowGroupRows are the row counts of the object's row groups, from its
	// footer (Parquet only; nil for CSV).
	RowGroupRows []int64
	// RowGroups are the row groups whose timestamp statistics overlap the
	// window, in order; nil means all of them.
	RowGroups []int
}

// Plan lists and prunes a source's objects for the request's window, as
// Stage does, and reads the footer of each remaining Parquet object.
func (s *Store) Plan(ctx context.Context, req Request) (*Plan, error) {
	sel, err := s.selectObjects(ctx, req)
	if err != nil {
		return nil, err
	}
	if sel.format == "parquet" {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(s.opts.Parallelism)
		for i, o := range sel.read {
			if o.rowGroupRows != nil {
				continue
			}
			g.Go(func() error {
				md, _, _, err := s.footer(gctx, sel.bucket, sel.loc, o)
				if err != nil {
					return err
				}
				sel.read[i].rowGroupRows = rowGroupRows(md)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, fmt.Errorf("file source %s: %w", req.Source, err)
		}
	}
	p := &Plan{Format: sel.format, Listed: len(sel.listed), Objects: make([]PlannedObject, len(sel.read))}
	for i, o := range sel.read {
		p.Objects[i] = PlannedObject{
			Key: o.key, URL: sel.loc.ObjectURL(o.key), Size: o.size, ModTime: o.modTime, MD5: o.md5,
			RowGroupRows: o.rowGroupRows, RowGroups: o.inWindow,
		}
	}
	return p, nil
}

// StagedObject is one object, or part of one, staged by StageObject.
type StagedObject struct {
	// Path is the local Parquet or CSV file.
	Path string
	// RowGroups are the row groups of Path to read; nil means all. They
	// are set when the requested row groups could not be copied out of the
	// object on their own and the whole object was staged instead.
	RowGroups []int

	release func()
}

// Release lets the cache remove the staged file when it needs room.
func (o *StagedObject) Release() {
	if o.release != nil {
		o.release()
		o.release = nil
	}
}

// StageObject stages one object of a Plan made with the same request:
// when rowGroups is nil the whole object, else only those row groups
// (ranged reads into a Parquet file of their own) when the object allows
// it. An object deleted or changed since it was planned is an error naming
// it. The caller must Release the result.
func (s *Store) StageObject(ctx context.Context, req Request, po PlannedObject, rowGroups []int) (*StagedObject, error) {
	loc, err := s.location(req)
	if err != nil {
		return nil, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	b, err := s.bucket(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	o := object{key: po.Key, size: po.Size, modTime: po.ModTime, md5: po.MD5}
	attrs, err := b.Attributes(ctx, o.key)
	if err != nil {
		return nil, fmt.Errorf("file source %s: %w", req.Source, describe("read", loc, o.key, err))
	}
	if attrs.Size != o.size || len(attrs.MD5) > 0 && len(o.md5) > 0 && !bytes.Equal(attrs.MD5, o.md5) {
		return nil, fmt.Errorf("file source %s: object %s changed since it was planned (size %d, now %d); run again", req.Source, loc.ObjectURL(o.key), o.size, attrs.Size)
	}
	out := &StagedObject{}
	if rowGroups != nil {
		md, raw, cached, err := s.footer(ctx, b, loc, o)
		if err != nil {
			return nil, fmt.Errorf("file source %s: %w", req.Source, err)
		}
		for _, rg := range rowGroups {
			if rg < 0 || rg >= md.NumRowGroups() {
				return nil, fmt.Errorf("file source %s: object %s has %d row groups, not %d; it changed since it was planned, run again", req.Source, loc.ObjectURL(o.key), md.NumRowGroups(), rg+1)
			}
		}
		switch {
		case len(rowGroups) == md.NumRowGroups():
		case !cached && copyableRowGroups(md):
			o.rowGroups = &rowGroupSubset{footer: raw, keep: rowGroups}
		default:
			out.RowGroups = rowGroups
		}
	}
	local, err := s.fetch(ctx, b, loc, o)
	if err != nil {
		return nil, fmt.Errorf("file source %s: %w", req.Source, err)
	}
	out.Path = local
	out.release = func() { s.cache.unpin([]string{local}) }
	return out, nil
}

// rowGroupRows lists the row counts of a file's row groups.
func rowGroupRows(md *metadata.FileMetaData) []int64 {
	out := make([]int64, md.NumRowGroups())
	for i := range out {
		out[i] = md.RowGroup(i).NumRows()
	}
	return out
}
