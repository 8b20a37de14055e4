package objstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// footerTail is the fixed end of a Parquet file: the footer length
// (little-endian uint32) and the magic "PAR1".
const footerTail = 8

// maxFooter caps the footer a statistics read accepts; larger footers (tens
// of thousands of row groups) are not worth reading to prune one object.
const maxFooter = 64 << 20

// parseFooterTail returns the footer length from a file's last 8 bytes.
func parseFooterTail(tail []byte, size int64) (int64, error) {
	if len(tail) != footerTail || !bytes.Equal(tail[4:], []byte("PAR1")) {
		return 0, fmt.Errorf("not a Parquet file (no PAR1 magic at its end)")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n+footerTail+4 > size || n > maxFooter {
		return 0, fmt.Errorf("parquet footer of %d bytes does not fit a %d-byte file", n, size)
	}
	return n, nil
}

// timeRange is the [min, max] of a Parquet file's timestamp column over
// all its row groups, from the footer statistics. ok is false when the
// column is missing, not a timestamp or date, or a row group has no
// statistics: the file must then be read.
func timeRange(md *metadata.FileMetaData, column string) (lo, hi time.Time, ok bool) {
	idx := md.Schema.ColumnIndexByName(column)
	if idx < 0 || md.NumRowGroups() == 0 {
		return lo, hi, false
	}
	col := md.Schema.Column(idx)
	toTime, ok := timeConverter(col)
	if !ok {
		return lo, hi, false
	}
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		if rg.NumRows() == 0 {
			continue
		}
		cc, err := rg.ColumnChunk(idx)
		if err != nil {
			return lo, hi, false
		}
		if set, err := cc.StatsSet(); err != nil || !set {
			return lo, hi, false
		}
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() {
			if st != nil && st.NullCount() == rg.NumRows() {
				continue // all null: no row can match a time filter
			}
			return lo, hi, false
		}
		var mn, mx int64
		switch s := st.(type) {
		case *metadata.Int64Statistics:
			mn, mx = s.Min(), s.Max()
		case *metadata.Int32Statistics:
			mn, mx = int64(s.Min()), int64(s.Max())
		default:
			return lo, hi, false
		}
		a, b := toTime(mn), toTime(mx)
		if lo.IsZero() || a.Before(lo) {
			lo = a
		}
		if hi.IsZero() || b.After(hi) {
			hi = b
		}
	}
	return lo, hi, !lo.IsZero()
}

// timeConverter turns a column's physical values into times: INT64
// timestamps in any unit and INT32 dates (midnight UTC, as the engine
// compares them with timestamps).
func timeConverter(col *schema.Column) (func(int64) time.Time, bool) {
	switch lt := col.LogicalType().(type) {
	case schema.TimestampLogicalType:
		if col.PhysicalType() != parquet.Types.Int64 {
			return nil, false
		}
		switch lt.TimeUnit() {
		case schema.TimeUnitMillis:
			return func(v int64) time.Time { return time.UnixMilli(v).UTC() }, true
		case schema.TimeUnitMicros:
			return func(v int64) time.Time { return time.UnixMicro(v).UTC() }, true
		case schema.TimeUnitNanos:
			return func(v int64) time.Time { return time.Unix(0, v).UTC() }, true
		}
	case schema.DateLogicalType:
		return dateTime, col.PhysicalType() == parquet.Types.Int32
	}
	return nil, false
}

func dateTime(days int64) time.Time {
	return time.Unix(days*86400, 0).UTC()
}
