package offline

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/values"
)

// Sampler is implemented by offline stores that can read a bounded sample
// of a data source without scanning it (the UI's data preview).
type Sampler interface {
	// Sample streams at most limit rows of src: the first rows the store
	// reads (leading row groups of the first files, the table's first
	// pages), with the source's own column names. It never scans the whole
	// source. The caller must Release the reader.
	Sample(ctx context.Context, src *model.DataSource, limit int) (array.RecordReader, error)
}

// Default sizes of a preview.
const (
	DefaultSampleRows  = 10_000
	MaxSampleRows      = 1_000_000
	DefaultPreviewRows = 20
)

// Preview is a sample of a source's rows and statistics of each column over
// the sample.
type Preview struct {
	// SampleRows is how many rows the statistics cover; SampleLimit is what
	// was asked for (fewer rows means the source has no more).
	SampleRows  int64           `json:"sample_rows"`
	SampleLimit int             `json:"sample_limit"`
	Columns     []ColumnProfile `json:"columns"`
	// Rows are the first rows of the sample, formatted as text (null is
	// nil).
	Rows [][]*string `json:"rows"`
}

// ColumnProfile is one column's statistics over a sample.
type ColumnProfile struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Nulls counts null values; NullRate is Nulls over the sample's rows.
	Nulls    int64   `json:"nulls"`
	NullRate float64 `json:"null_rate"`
	// Min and Max are the smallest and largest non-null values (numbers,
	// times, strings by byte order), empty for types without an order or
	// when every value is null.
	Min string `json:"min,omitempty"`
	Max string `json:"max,omitempty"`
	// Distinct counts the distinct non-null values in the sample (exact
	// over the sample, an estimate of the source's).
	Distinct int64 `json:"distinct"`
}

// Profile reads rr to its end and computes each column's statistics, and
// keeps the first showRows rows as text. rr holds at most a sample's rows,
// so exact distinct counts stay small.
func Profile(rr array.RecordReader, limit, showRows int) (*Preview, error) {
	schema := rr.Schema()
	p := &Preview{SampleLimit: limit, Columns: make([]ColumnProfile, schema.NumFields())}
	cols := make([]*columnStats, schema.NumFields())
	for i, f := range schema.Fields() {
		p.Columns[i] = ColumnProfile{Name: f.Name, Type: f.Type.String()}
		cols[i] = &columnStats{distinct: map[string]struct{}{}}
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		n := int(rec.NumRows())
		for r := 0; r < n; r++ {
			var row []*string
			keep := len(p.Rows) < showRows
			if keep {
				row = make([]*string, len(cols))
			}
			for c, cs := range cols {
				arr := rec.Column(c)
				if arr.IsNull(r) {
					cs.nulls++
					continue
				}
				text := valueText(arr, r)
				if keep {
					row[c] = &text
				}
				cs.distinct[text] = struct{}{}
				cs.observe(arr, r, text)
			}
			if keep {
				p.Rows = append(p.Rows, row)
			}
		}
		p.SampleRows += int64(n)
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	for i, cs := range cols {
		cp := &p.Columns[i]
		cp.Nulls, cp.Distinct = cs.nulls, int64(len(cs.distinct))
		if p.SampleRows > 0 {
			cp.NullRate = float64(cs.nulls) / float64(p.SampleRows)
		}
		if cs.has {
			cp.Min, cp.Max = cs.minText, cs.maxText
		}
	}
	return p, nil
}

// columnStats accumulates one column.
type columnStats struct {
	nulls            int64
	distinct         map[string]struct{}
	has              bool
	minNum, maxNum   float64
	minText, maxText string
}

// observe updates min and max with row r of arr (text is its rendering).
func (cs *columnStats) observe(arr arrow.Array, r int, text string) {
	if v, ok := number(arr, r); ok {
		if math.IsNaN(v) {
			return
		}
		if !cs.has || v < cs.minNum {
			cs.minNum, cs.minText = v, text
		}
		if !cs.has || v > cs.maxNum {
			cs.maxNum, cs.maxText = v, text
		}
		cs.has = true
		return
	}
	switch arr.(type) {
	case *array.String, *array.LargeString, *array.Binary, *array.LargeBinary, *array.Boolean, *array.Date32, *array.Date64:
		// Date text (YYYY-MM-DD) sorts as the dates do.
	default:
		return
	}
	if !cs.has || text < cs.minText {
		cs.minText = text
	}
	if !cs.has || text > cs.maxText {
		cs.maxText = text
	}
	cs.has = true
}

// number returns row r of a numeric or time column as a float64 that
// orders as the values do.
func number(arr arrow.Array, r int) (float64, bool) {
	switch a := arr.(type) {
	case *array.Int8:
		return float64(a.Value(r)), true
	case *array.Int16:
		return float64(a.Value(r)), true
	case *array.Int32:
		return float64(a.Value(r)), true
	case *array.Int64:
		return float64(a.Value(r)), true
	case *array.Uint8:
		return float64(a.Value(r)), true
	case *array.Uint16:
		return float64(a.Value(r)), true
	case *array.Uint32:
		return float64(a.Value(r)), true
	case *array.Uint64:
		return float64(a.Value(r)), true
	case *array.Float32:
		return float64(a.Value(r)), true
	case *array.Float64:
		return a.Value(r), true
	case *array.Timestamp:
		return float64(a.Value(r)), true
	case *array.Decimal32, *array.Decimal64, *array.Decimal128, *array.Decimal256:
		text, _ := values.DecimalText(a, r)
		f, err := strconv.ParseFloat(text, 64)
		return f, err == nil
	}
	return 0, false
}

// valueText renders row r of arr: numbers as Go formats them, timestamps
// in RFC 3339 (UTC), bytes in hex, others as Arrow renders them.
func valueText(arr arrow.Array, r int) string {
	switch a := arr.(type) {
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(r)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(r), 'g', -1, 64)
	case *array.String:
		return a.Value(r)
	case *array.LargeString:
		return a.Value(r)
	case *array.Binary:
		return fmt.Sprintf("%x", a.Value(r))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(r).ToTime(unit).UTC().Format(time.RFC3339Nano)
	}
	if text, ok := values.DecimalText(arr, r); ok {
		return text
	}
	return arr.ValueStr(r)
}
