package offlinetest

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Col is a typed column of a test table. Types: int64, int32, float64,
// float32, string, bool, timestamp (naive, read as UTC), timestamptz and
// decimal(P,S) (values are decimal texts: an Arrow decimal, NUMERIC(P,S)
// in PostgreSQL).
type Col struct {
	Name, Type string
}

// Table is a small in-memory table. Values are nil (null), int64, float64,
// string, bool or time.Time, matching the column type.
type Table struct {
	Cols []Col
	Rows [][]any
}

// Index returns the position of a column, or -1.
func (t *Table) Index(name string) int {
	for i, c := range t.Cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// ParseValue parses a cell written in a golden file.
func ParseValue(typ, s string) (any, error) {
	if s == "null" {
		return nil, nil
	}
	switch typ {
	case "int64", "int32":
		return strconv.ParseInt(s, 10, 64)
	case "float64", "float32":
		return strconv.ParseFloat(s, 64)
	case "string":
		if uq, err := strconv.Unquote(s); err == nil {
			return uq, nil
		}
		return s, nil
	case "bool":
		return strconv.ParseBool(s)
	case "timestamp", "timestamptz":
		// epoch:SECONDS writes instants RFC 3339 cannot (years past 9999).
		if secs, ok := strings.CutPrefix(s, "epoch:"); ok {
			n, err := strconv.ParseInt(secs, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad timestamp %q: %w", s, err)
			}
			return time.Unix(n, 0).UTC(), nil
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("bad timestamp %q (want 2006-01-02T15:04:05[Z])", s)
	}
	return nil, fmt.Errorf("unknown column type %q", typ)
}

func arrowType(typ string) (arrow.DataType, error) {
	switch typ {
	case "int64":
		return arrow.PrimitiveTypes.Int64, nil
	case "int32":
		return arrow.PrimitiveTypes.Int32, nil
	case "float64":
		return arrow.PrimitiveTypes.Float64, nil
	case "float32":
		return arrow.PrimitiveTypes.Float32, nil
	case "string":
		return arrow.BinaryTypes.String, nil
	case "bool":
		return arrow.FixedWidthTypes.Boolean, nil
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	case "timestamptz":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	}
	var p, sc int32
	if _, err := fmt.Sscanf(typ, "decimal(%d,%d)", &p, &sc); err == nil {
		if p <= 38 {
			return &arrow.Decimal128Type{Precision: p, Scale: sc}, nil
		}
		return &arrow.Decimal256Type{Precision: p, Scale: sc}, nil
	}
	return nil, fmt.Errorf("unknown column type %q", typ)
}

// Record converts the table to an Arrow record; the caller releases it.
func (t *Table) Record() (arrow.RecordBatch, error) {
	var fields []arrow.Field
	for _, c := range t.Cols {
		dt, err := arrowType(c.Type)
		if err != nil {
			return nil, err
		}
		fields = append(fields, arrow.Field{Name: c.Name, Type: dt, Nullable: true})
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, row := range t.Rows {
		for i, v := range row {
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Int32Builder:
				fb.Append(int32(v.(int64)))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.Float32Builder:
				fb.Append(float32(v.(float64)))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
			case *array.Decimal128Builder, *array.Decimal256Builder:
				if err := fb.AppendValueFromString(v.(string)); err != nil {
					return nil, fmt.Errorf("column %s: %w", t.Cols[i].Name, err)
				}
			}
		}
	}
	return b.NewRecordBatch(), nil
}

// Reader returns the table as a one-batch record reader.
func (t *Table) Reader() (array.RecordReader, error) {
	rec, err := t.Record()
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
}

// Render formats the table as golden output: a header line of column names,
// then one line per row.
func (t *Table) Render() []string {
	out := []string{renderHeader(colNames(t.Cols))}
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = formatValue(t.Cols[i].Type, v)
		}
		out = append(out, strings.Join(cells, " "))
	}
	return out
}

func colNames(cols []Col) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

func renderHeader(names []string) string { return strings.Join(names, " ") }

// readerHeader is the golden header line of a reader's columns.
func readerHeader(rr array.RecordReader) string {
	var names []string
	for _, f := range rr.Schema().Fields() {
		names = append(names, f.Name)
	}
	return renderHeader(names)
}

func formatTime(t time.Time, zoned bool) string {
	if zoned {
		return t.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	}
	return t.UTC().Format("2006-01-02T15:04:05.999999")
}

func formatValue(typ string, v any) string {
	if v == nil {
		return "null"
	}
	switch typ {
	case "int64", "int32":
		return strconv.FormatInt(v.(int64), 10)
	case "float64":
		return strconv.FormatFloat(v.(float64), 'g', -1, 64)
	case "float32":
		return strconv.FormatFloat(float64(float32(v.(float64))), 'g', -1, 32)
	case "string":
		return quoteIfNeeded(v.(string))
	case "bool":
		return strconv.FormatBool(v.(bool))
	case "timestamp":
		return formatTime(v.(time.Time), false)
	case "timestamptz":
		return formatTime(v.(time.Time), true)
	}
	return fmt.Sprint(v)
}

func quoteIfNeeded(s string) string {
	if s == "" || s == "null" || strings.ContainsAny(s, " \t\"") {
		return strconv.Quote(s)
	}
	return s
}

// RenderReader drains a record reader into golden output lines.
func RenderReader(rr array.RecordReader) ([]string, error) {
	out := []string{readerHeader(rr)}
	for rr.Next() {
		lines, err := renderRecord(rr.RecordBatch())
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	return out, rr.Err()
}

func renderRecord(rec arrow.RecordBatch) ([]string, error) {
	n := int(rec.NumRows())
	rows := make([][]string, n)
	for c := 0; c < int(rec.NumCols()); c++ {
		col := rec.Column(c)
		for r := 0; r < n; r++ {
			s, err := formatArrow(col, r)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", rec.ColumnName(c), err)
			}
			rows[r] = append(rows[r], s)
		}
	}
	out := make([]string, n)
	for i, r := range rows {
		out[i] = strings.Join(r, " ")
	}
	return out, nil
}

func formatArrow(col arrow.Array, i int) (string, error) {
	if col.IsNull(i) {
		return "null", nil
	}
	switch a := col.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), nil
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), nil
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32), nil
	case *array.String:
		return quoteIfNeeded(a.Value(i)), nil
	case *array.LargeString:
		return quoteIfNeeded(a.Value(i)), nil
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), nil
	case *array.Binary:
		return hex.EncodeToString(a.Value(i)), nil
	case *array.Timestamp:
		dt := a.DataType().(*arrow.TimestampType)
		return formatTime(a.Value(i).ToTime(dt.Unit), dt.TimeZone != ""), nil
	}
	return "", fmt.Errorf("unsupported arrow type %s", col.DataType())
}
