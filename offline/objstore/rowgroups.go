package objstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gocloud.dev/blob"

	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// rowGroupSubset is the row groups of a Parquet object a read needs, with
// the object's serialized footer (parsed afresh for each copy, which
// rewrites it).
type rowGroupSubset struct {
	footer []byte
	keep   []int
}

// id names the subset in the staged file's name.
func (r *rowGroupSubset) id() string {
	h := sha256.New()
	for _, i := range r.keep {
		binary.Write(h, binary.LittleEndian, int64(i))
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// copyableRowGroups reports whether row groups can be copied out of a file
// byte for byte: an unencrypted footer and every column chunk in the file
// itself, with its metadata.
func copyableRowGroups(md *metadata.FileMetaData) bool {
	if md.FileDecryptor != nil || md.IsSetEncryptionAlgorithm() {
		return false
	}
	for _, rg := range md.FileMetaData.RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData == nil || c.FilePath != nil || c.CryptoMetadata != nil {
				return false
			}
		}
	}
	return true
}

// downloadRowGroups stages the kept row groups of a Parquet object as a
// Parquet file of their own: each row group's bytes are copied unchanged
// with one ranged read (streamed, bounded memory), and a footer listing
// only them, at their new offsets, closes the file. Page indexes and bloom
// filters, not copied, are dropped from it.
func (s *Store) downloadRowGroups(ctx context.Context, b *blob.Bucket, loc Location, o object, local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := local + ".download-" + hex.EncodeToString(suffix[:])
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	defer os.Remove(tmp) // no-op after the rename
	defer f.Close()
	md, err := metadata.NewFileMetaData(o.rowGroups.footer, nil)
	if err != nil {
		return fmt.Errorf("object %s: parse parquet footer: %w", loc.ObjectURL(o.key), err)
	}
	if _, err := f.Write([]byte("PAR1")); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	pos := int64(4)
	all := md.FileMetaData.RowGroups
	kept := all[:0:0]
	var rows int64
	for _, i := range o.rowGroups.keep {
		rg := all[i]
		start, end := int64(-1), int64(0)
		for _, c := range rg.Columns {
			m := c.MetaData
			first := m.DataPageOffset
			if d := m.DictionaryPageOffset; d != nil && *d > 0 && *d < first {
				first = *d
			}
			if p := m.IndexPageOffset; p != nil && *p > 0 && *p < first {
				first = *p
			}
			if start < 0 || first < start {
				start = first
			}
			end = max(end, first+m.TotalCompressedSize)
		}
		if start < 4 || end > o.size-footerTail || end <= start {
			return fmt.Errorf("object %s: row group %d spans bytes %d..%d of %d; the footer is inconsistent", loc.ObjectURL(o.key), i, start, end, o.size)
		}
		r, err := b.NewRangeReader(ctx, o.key, start, end-start, nil)
		if err != nil {
			return describe("read", loc, o.key, err)
		}
		n, err := io.Copy(f, r)
		r.Close()
		s.bytesRead.Add(n)
		if err != nil {
			return describe("read", loc, o.key, err)
		}
		if n != end-start {
			return fmt.Errorf("object %s: read %d bytes of row group %d, want %d (changed while read?); run again", loc.ObjectURL(o.key), n, i, end-start)
		}
		delta := pos - start
		shift := func(p *int64) *int64 {
			if p == nil || *p <= 0 {
				return p
			}
			v := *p + delta
			return &v
		}
		for _, c := range rg.Columns {
			m := c.MetaData
			if c.FileOffset > 0 {
				c.FileOffset += delta
			}
			m.DataPageOffset += delta
			m.DictionaryPageOffset = shift(m.DictionaryPageOffset)
			m.IndexPageOffset = shift(m.IndexPageOffset)
			m.BloomFilterOffset, m.BloomFilterLength = nil, nil
			c.OffsetIndexOffset, c.OffsetIndexLength, c.ColumnIndexOffset, c.ColumnIndexLength = nil, nil, nil, nil
		}
		rg.FileOffset = shift(rg.FileOffset)
		pos += end - start
		rows += rg.NumRows
		kept = append(kept, rg)
	}
	md.FileMetaData.RowGroups = kept
	md.FileMetaData.NumRows = rows
	n, err := md.WriteTo(f, nil)
	if err != nil {
		return fmt.Errorf("stage object %s: write footer: %w", loc.ObjectURL(o.key), err)
	}
	var tail [footerTail]byte
	binary.LittleEndian.PutUint32(tail[:4], uint32(n))
	copy(tail[4:], "PAR1")
	if _, err := f.Write(tail[:]); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	if err := os.Rename(tmp, local); err != nil {
		return fmt.Errorf("stage object %s: %w", loc.ObjectURL(o.key), err)
	}
	s.objects.Add(1)
	s.cache.add(local, pos+n+footerTail)
	return nil
}
