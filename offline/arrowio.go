package offline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// KindOfArrow is the kind of an Arrow type.
func KindOfArrow(dt arrow.DataType) Kind {
	if d, ok := dt.(arrow.DecimalType); ok && d.GetScale() == 0 {
		return KindInt // DECIMAL(p,0) holds integers only
	}
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return KindInt
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return KindFloat
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return KindString
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return KindBytes
	case arrow.BOOL:
		return KindBool
	case arrow.TIMESTAMP:
		return KindTimestamp
	case arrow.DATE32, arrow.DATE64:
		return KindDate
	}
	return KindOther
}

// FileFormat returns "parquet" or "csv" for a path by its extension
// (.parquet, .pq, .csv, .tsv, optionally followed by .gz), else "".
func FileFormat(path string) string {
	p := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".zst"))
	switch {
	case strings.HasSuffix(p, ".parquet"), strings.HasSuffix(p, ".pq"):
		return "parquet"
	case strings.HasSuffix(p, ".csv"), strings.HasSuffix(p, ".tsv"), strings.HasSuffix(p, ".txt"):
		return "csv"
	}
	return ""
}

// WriteParquet streams a record reader into a Parquet file (zstd), writing
// to a temporary name beside path and renaming it into place on success, so
// readers never see a partial file. It returns the number of rows written.
func WriteParquet(ctx context.Context, rr array.RecordReader, path string) (int64, error) {
	return writeParquet(ctx, rr, path, false)
}

// WriteParquetDurable is WriteParquet for data that must survive a crash
// once it returns (offline pushes): the file is fsynced before the rename
// and its directory after it.
func WriteParquetDurable(ctx context.Context, rr array.RecordReader, path string) (int64, error) {
	return writeParquet(ctx, rr, path, true)
}

// syncCloser fsyncs a file before closing it (the Parquet writer closes
// its sink).
type syncCloser struct{ *os.File }

func (f syncCloser) Close() error {
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

func writeParquet(ctx context.Context, rr array.RecordReader, path string, durable bool) (int64, error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp) // no-op after the rename
	var sink io.WriteCloser = f
	if durable {
		sink = syncCloser{f}
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(1<<20))
	w, err := pqarrow.NewFileWriter(rr.Schema(), sink, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return 0, fmt.Errorf("create parquet writer: %w", err)
	}
	var n int64
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			w.Close()
			return n, err
		}
		rec := rr.RecordBatch()
		if err := w.WriteBuffered(rec); err != nil {
			w.Close()
			return n, fmt.Errorf("write parquet %s: %w", path, err)
		}
		n += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		w.Close()
		return n, err
	}
	if err := w.Close(); err != nil { // closes f (after fsync when durable)
		return n, fmt.Errorf("write parquet %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return n, err
	}
	if durable {
		d, err := os.Open(filepath.Dir(path))
		if err != nil {
			return n, err
		}
		err = d.Sync()
		d.Close()
		if err != nil {
			return n, fmt.Errorf("sync directory of %s: %w", path, err)
		}
	}
	return n, nil
}

// ReadParquet opens a Parquet file as a record reader streaming batches of
// batchSize rows. onRelease, when not nil, runs after the reader and file
// are closed (for example to remove a temporary file).
func ReadParquet(ctx context.Context, path string, batchSize int64, onRelease func()) (array.RecordReader, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open parquet %s: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batchSize}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("read parquet %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("read parquet %s: %w", path, err)
	}
	return &closingReader{RecordReader: rr, rows: pf.NumRows(), close: func() {
		pf.Close()
		if onRelease != nil {
			onRelease()
		}
	}}, nil
}

// ReadCSV opens a CSV file with a header as a record reader, inferring
// column types (integers, floats, booleans, timestamps, strings) from the
// first rows.
func ReadCSV(path string) (array.RecordReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	opts := []csv.Option{csv.WithHeader(true), csv.WithChunk(64 * 1024), csv.WithNullReader(true, "")}
	if strings.HasSuffix(strings.ToLower(path), ".tsv") {
		opts = append(opts, csv.WithComma('\t'))
	}
	r := csv.NewInferringReader(f, opts...)
	// The inferring reader knows its schema only after the first batch.
	first := r.Next()
	if err := r.Err(); err != nil {
		r.Release()
		f.Close()
		return nil, fmt.Errorf("read csv %s: %w", path, err)
	}
	if r.Schema() == nil {
		r.Release()
		f.Close()
		return nil, fmt.Errorf("read csv %s: no header", path)
	}
	pr := &peekedReader{RecordReader: r, pending: first}
	return &closingReader{RecordReader: pr, rows: -1, close: func() { f.Close() }}, nil
}

// peekedReader replays a batch its source already advanced to.
type peekedReader struct {
	array.RecordReader
	pending bool
}

func (r *peekedReader) Next() bool {
	if r.pending {
		r.pending = false
		return true
	}
	return r.RecordReader.Next()
}

// ReadFile opens a Parquet or CSV file (by extension) as a record reader.
func ReadFile(ctx context.Context, path string) (array.RecordReader, error) {
	switch FileFormat(path) {
	case "parquet":
		return ReadParquet(ctx, path, 64*1024, nil)
	case "csv":
		return ReadCSV(path)
	}
	return nil, fmt.Errorf("read %s: unknown file format (want .parquet or .csv)", filepath.Base(path))
}

// closingReader runs close once when its last reference is released.
type closingReader struct {
	array.RecordReader
	refs  int64
	rows  int64
	close func()
}

// NumRows is the total row count when known (Parquet), else -1.
func (r *closingReader) NumRows() int64 { return r.rows }

// RowCounter is implemented by readers that know their total row count
// before they are read (a Parquet file's metadata).
type RowCounter interface {
	// NumRows returns the total rows, or -1 when unknown.
	NumRows() int64
}

// NumRows returns rr's total row count when it knows it, else -1.
func NumRows(rr array.RecordReader) int64 {
	if c, ok := rr.(RowCounter); ok {
		return c.NumRows()
	}
	return -1
}

func (r *closingReader) Retain() { r.refs++; r.RecordReader.Retain() }

func (r *closingReader) Release() {
	r.RecordReader.Release()
	if r.refs > 0 {
		r.refs--
		return
	}
	if r.close != nil {
		r.close()
		r.close = nil
	}
}
