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

// rowGroupsInWindow reports, per row group of a Parquet file, whether its
// timestamp column statistics allow rows inside the window. ok is false when
// that cannot be told (the column is missing or not a timestamp or date, or
// a row group has no statistics): the whole file must then be read. Row
// groups without rows, or whose timestamps are all null, hold none.
func rowGroupsInWindow(md *metadata.FileMetaData, column string, w Window) (keep []bool, ok bool) {
	idx := md.Schema.ColumnIndexByName(column)
	if idx < 0 {
		return nil, false
	}
	toTime, ok := timeConverter(md.Schema.Column(idx))
	if !ok {
		return nil, false
	}
	keep = make([]bool, md.NumRowGroups())
	for i := range keep {
		rg := md.RowGroup(i)
		if rg.NumRows() == 0 {
			continue
		}
		cc, err := rg.ColumnChunk(idx)
		if err != nil {
			return nil, false
		}
		if set, err := cc.StatsSet(); err != nil || !set {
			return nil, false
		}
		st, err := cc.Statistics()
		if err != nil || st == nil {
			return nil, false
		}
		if !st.HasMinMax() {
			if st.NullCount() == rg.NumRows() {
				continue // all null: no row passes a time filter
			}
			return nil, false
		}
		var mn, mx int64
		switch s := st.(type) {
		case *metadata.Int64Statistics:
			mn, mx = s.Min(), s.Max()
		case *metadata.Int32Statistics:
			mn, mx = int64(s.Min()), int64(s.Max())
		default:
			return nil, false
		}
		keep[i] = w.overlaps(toTime(mn), toTime(mx), true)
	}
	return keep, true
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
