package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/values"
)

// pgType is the column type used to store an Arrow type.
func pgType(dt arrow.DataType) (string, error) {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.UINT8:
		return "SMALLINT", nil
	case arrow.INT32, arrow.UINT16:
		return "INTEGER", nil
	case arrow.INT64, arrow.UINT32:
		return "BIGINT", nil
	case arrow.FLOAT32:
		return "REAL", nil
	case arrow.FLOAT64:
		return "DOUBLE PRECISION", nil
	case arrow.STRING, arrow.LARGE_STRING:
		return "TEXT", nil
	case arrow.BINARY, arrow.LARGE_BINARY:
		return "BYTEA", nil
	case arrow.BOOL:
		return "BOOLEAN", nil
	case arrow.DATE32, arrow.DATE64:
		return "DATE", nil
	case arrow.TIMESTAMP:
		if dt.(*arrow.TimestampType).TimeZone != "" {
			return "TIMESTAMPTZ", nil
		}
		return "TIMESTAMP", nil
	case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		d := dt.(arrow.DecimalType)
		if d.GetScale() < 0 || d.GetScale() > d.GetPrecision() {
			return "NUMERIC", nil
		}
		return fmt.Sprintf("NUMERIC(%d,%d)", d.GetPrecision(), d.GetScale()), nil
	case arrow.LIST:
		elem, err := pgType(dt.(*arrow.ListType).Elem())
		if err != nil {
			return "", err
		}
		return elem + "[]", nil
	}
	return "", fmt.Errorf("arrow type %s has no PostgreSQL column type here", dt)
}

// goValue returns a pgx-encodable value of row i of a column.
func goValue(col arrow.Array, i int) (any, error) {
	if col.IsNull(i) {
		return nil, nil
	}
	switch a := col.(type) {
	case *array.Int8:
		return int16(a.Value(i)), nil
	case *array.Int16:
		return a.Value(i), nil
	case *array.Uint8:
		return int16(a.Value(i)), nil
	case *array.Int32:
		return a.Value(i), nil
	case *array.Uint16:
		return int32(a.Value(i)), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint32:
		return int64(a.Value(i)), nil
	case *array.Float32:
		return a.Value(i), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.Binary:
		return a.Value(i), nil
	case *array.LargeBinary:
		return a.Value(i), nil
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Date32:
		return a.Value(i).ToTime().UTC(), nil
	case *array.Date64:
		return a.Value(i).ToTime().UTC(), nil
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC(), nil
	case *array.Decimal32, *array.Decimal64, *array.Decimal128, *array.Decimal256:
		// The exact text: Arrow's ValueStr writes exponents ("1e-05"),
		// which pgx's NUMERIC parser refuses.
		text, _ := values.DecimalText(col, i)
		var n pgtype.Numeric
		if err := n.Scan(text); err != nil {
			return nil, err
		}
		return n, nil
	case *array.List:
		start, end := a.ValueOffsets(i)
		vals := a.ListValues()
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			v, err := goValue(vals, int(j))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("arrow type %s cannot be written to PostgreSQL here", col.DataType())
}

// copySource feeds Arrow batches to COPY, optionally adding a 0-based row
// number as the last column.
type copySource struct {
	ctx    context.Context
	rr     array.RecordReader
	rec    arrow.RecordBatch
	i      int
	row    int64
	addRow bool
	vals   []any
	err    error
}

func (s *copySource) Next() bool {
	for s.rec == nil || s.i+1 >= int(s.rec.NumRows()) {
		if s.rr == nil || !s.rr.Next() {
			if s.rr != nil {
				s.err = s.rr.Err()
			}
			return false
		}
		if err := s.ctx.Err(); err != nil {
			s.err = err
			return false
		}
		s.rec, s.i = s.rr.RecordBatch(), -1
	}
	s.i++
	n := int(s.rec.NumCols())
	if s.vals == nil {
		s.vals = make([]any, n, n+1)
	}
	s.vals = s.vals[:n]
	for c := 0; c < n; c++ {
		v, err := goValue(s.rec.Column(c), s.i)
		if err != nil {
			s.err = fmt.Errorf("column %s: %w", s.rec.ColumnName(c), err)
			return false
		}
		s.vals[c] = v
	}
	if s.addRow {
		s.vals = append(s.vals, s.row)
	}
	s.row++
	return true
}

func (s *copySource) Values() ([]any, error) { return s.vals, nil }
func (s *copySource) Err() error             { return s.err }

// arrowField maps a result column to an Arrow field. A NUMERIC(p,s)
// column becomes an Arrow decimal of that precision and scale, so that
// its values arrive exactly (an INT64 id in NUMERIC(20) above 2^53 keeps
// every digit); an unconstrained NUMERIC has no fixed scale and is read
// as float64, as Python Feast reads every NUMERIC.
func arrowField(fd pgconn.FieldDescription) arrow.Field {
	dt := arrowTypeOf(fd.DataTypeOID)
	if fd.DataTypeOID == pgtype.NumericOID {
		if p, s, ok := numericTypmod(fd.TypeModifier); ok {
			switch {
			case p <= 38:
				dt = &arrow.Decimal128Type{Precision: p, Scale: s}
			case p <= 76:
				dt = &arrow.Decimal256Type{Precision: p, Scale: s}
			}
		}
	}
	return arrow.Field{Name: fd.Name, Type: dt, Nullable: true}
}

// numericTypmod decodes the type modifier of NUMERIC(p,s): ok is false
// for an unconstrained NUMERIC (-1) and for the scales PostgreSQL 15
// allows outside [0, p], which Arrow decimals do not take.
func numericTypmod(m int32) (p, s int32, ok bool) {
	if m < 4 {
		return 0, 0, false
	}
	m -= 4 // VARHDRSZ
	p = (m >> 16) & 0xffff
	s = ((m & 0x7ff) ^ 1024) - 1024 // an 11-bit signed scale
	return p, s, p >= 1 && s >= 0 && s <= p
}

func arrowTypeOf(oid uint32) arrow.DataType {
	switch oid {
	case pgtype.BoolOID:
		return arrow.FixedWidthTypes.Boolean
	case pgtype.Int2OID:
		return arrow.PrimitiveTypes.Int16
	case pgtype.Int4OID:
		return arrow.PrimitiveTypes.Int32
	case pgtype.Int8OID:
		return arrow.PrimitiveTypes.Int64
	case pgtype.Float4OID:
		return arrow.PrimitiveTypes.Float32
	case pgtype.Float8OID, pgtype.NumericOID:
		return arrow.PrimitiveTypes.Float64
	case pgtype.ByteaOID:
		return arrow.BinaryTypes.Binary
	case pgtype.DateOID:
		return arrow.FixedWidthTypes.Date32
	case pgtype.TimestampOID:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case pgtype.TimestamptzOID:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case pgtype.BoolArrayOID:
		return arrow.ListOf(arrow.FixedWidthTypes.Boolean)
	case pgtype.Int4ArrayOID:
		return arrow.ListOf(arrow.PrimitiveTypes.Int32)
	case pgtype.Int8ArrayOID:
		return arrow.ListOf(arrow.PrimitiveTypes.Int64)
	case pgtype.Float4ArrayOID:
		return arrow.ListOf(arrow.PrimitiveTypes.Float32)
	case pgtype.Float8ArrayOID:
		return arrow.ListOf(arrow.PrimitiveTypes.Float64)
	case pgtype.TextArrayOID, pgtype.VarcharArrayOID:
		return arrow.ListOf(arrow.BinaryTypes.String)
	}
	return arrow.BinaryTypes.String
}

// kindOfField is the column kind of a result column: kindOfOID's, but an
// integer for NUMERIC(p,0), which holds integers only (an entity column of
// ids uploaded from a DECIMAL(20,0) column, say).
func kindOfField(fd pgconn.FieldDescription) offline.Kind {
	if fd.DataTypeOID == pgtype.NumericOID {
		// Only where arrowField reads it as a decimal (p <= 76): a wider
		// NUMERIC(p,0) arrives as float64 and would round ids.
		if p, s, ok := numericTypmod(fd.TypeModifier); ok && s == 0 && p <= 76 {
			return offline.KindInt
		}
	}
	return kindOfOID(fd.DataTypeOID)
}

// kindOfOID is the column kind of a PostgreSQL type.
func kindOfOID(oid uint32) offline.Kind {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return offline.KindInt
	case pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		return offline.KindFloat
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.UUIDOID:
		return offline.KindString
	case pgtype.ByteaOID:
		return offline.KindBytes
	case pgtype.BoolOID:
		return offline.KindBool
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		return offline.KindTimestamp
	case pgtype.DateOID:
		return offline.KindDate
	}
	return offline.KindOther
}

// appendValue appends a value decoded by pgx to a builder of the type
// arrowTypeOf chose.
func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.Int16Builder:
		b.Append(v.(int16))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		switch x := v.(type) {
		case float64:
			b.Append(x)
		case pgtype.Numeric:
			f, err := x.Float64Value()
			if err != nil {
				return err
			}
			if !f.Valid {
				b.AppendNull()
			} else {
				b.Append(f.Float64)
			}
		case *big.Float:
			f, _ := x.Float64()
			b.Append(f)
		default:
			return fmt.Errorf("unexpected %T for a float column", v)
		}
	case *array.Decimal128Builder, *array.Decimal256Builder:
		x, ok := v.(pgtype.Numeric)
		if !ok {
			return fmt.Errorf("unexpected %T for a decimal column", v)
		}
		if x.NaN || x.InfinityModifier != pgtype.Finite {
			return fmt.Errorf("%s in a NUMERIC(p,s) column has no decimal value: read the column as float8 in a query source (SELECT x::float8 AS x ...) or filter it out", numericText(x))
		}
		return b.AppendValueFromString(numericText(x))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.Date32Builder:
		b.Append(arrow.Date32FromTime(v.(time.Time)))
	case *array.TimestampBuilder:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("unexpected %T for a timestamp column (infinity?)", v)
		}
		b.Append(arrow.Timestamp(t.UnixMicro()))
	case *array.ListBuilder:
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("unexpected %T for an array column", v)
		}
		b.Append(true)
		for _, it := range items {
			if err := appendValue(b.ValueBuilder(), it); err != nil {
				return err
			}
		}
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			b.Append(x)
		case []byte:
			b.Append(string(x))
		case [16]byte:
			// pgx's uuid: its canonical text, as PostgreSQL and Python
			// Feast spell it (not Go's byte-array notation).
			b.Append(uuid.UUID(x).String())
		default:
			b.Append(strings.TrimSpace(fmt.Sprint(x)))
		}
	default:
		return fmt.Errorf("no builder for %T", b)
	}
	return nil
}

// numericText is the plain decimal text of a NUMERIC value ("NaN" and
// "Infinity" for those).
func numericText(n pgtype.Numeric) string {
	b, _ := n.MarshalJSON()
	return strings.Trim(string(b), `"`)
}

// rowsReader streams query rows as Arrow record batches. It owns the rows
// and runs done after closing them, on the last Release.
type rowsReader struct {
	ctx       context.Context
	rows      pgx.Rows
	schema    *arrow.Schema
	batchSize int
	cur       arrow.RecordBatch
	err       error
	refs      atomic.Int64
	done      func()
	// asText marks the columns read as PostgreSQL's own text of each
	// value rather than decoded by pgx: json and jsonb (pgx would decode
	// them with Go's JSON decoder, which refuses numbers like 1e400 and
	// deep nesting, and print maps as map[a:1] with float64 numbers), and
	// every other column read as a string whose type is not a string type
	// (interval, inet, ranges, records, json[] ...). queryRows asks for
	// them in the text format; a value that still arrives in binary is
	// turned into text as well as pgx can.
	asText  []bool
	anyText bool
	typeMap *pgtype.Map
}

func newRowsReader(ctx context.Context, rows pgx.Rows, batchSize int, done func()) *rowsReader {
	var fields []arrow.Field
	fds := rows.FieldDescriptions()
	asText := make([]bool, len(fds))
	anyText := false
	for i, fd := range fds {
		fields = append(fields, arrowField(fd))
		asText[i] = readAsText(fd.DataTypeOID, fields[i].Type)
		anyText = anyText || asText[i]
	}
	r := &rowsReader{ctx: ctx, rows: rows, schema: arrow.NewSchema(fields, nil), batchSize: batchSize, done: done,
		asText: asText, anyText: anyText, typeMap: rows.Conn().TypeMap()}
	r.refs.Store(1)
	return r
}

// readAsText reports whether a result column of type oid, read into an
// Arrow column of type dt, is read as PostgreSQL's text of its values.
func readAsText(oid uint32, dt arrow.DataType) bool {
	return oid == pgtype.JSONOID || oid == pgtype.JSONBOID || (dt.ID() == arrow.STRING && kindOfOID(oid) != offline.KindString)
}

// queryRows runs a query for a rowsReader. When the connection describes
// statements (pgx's default modes), it first describes the query and asks
// for the columns readAsText marks in the text format, so that PostgreSQL
// itself writes them; the other columns stay binary. The simple protocol
// and the exec mode return text anyway.
func queryRows(ctx context.Context, conn *pgx.Conn, sql string) (pgx.Rows, error) {
	switch conn.Config().DefaultQueryExecMode {
	case pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec:
		return conn.Query(ctx, sql)
	}
	sd, err := conn.Prepare(ctx, "", sql)
	if err != nil {
		return nil, err
	}
	formats := make(pgx.QueryResultFormats, len(sd.Fields))
	text := false
	for i, fd := range sd.Fields {
		formats[i] = pgx.BinaryFormatCode
		if readAsText(fd.DataTypeOID, arrowField(fd).Type) {
			formats[i], text = pgx.TextFormatCode, true
		}
	}
	if !text {
		return conn.Query(ctx, sql)
	}
	return conn.Query(ctx, sql, formats)
}

// values decodes the current row as rows.Values does, but takes the
// asText columns from their raw bytes.
func (r *rowsReader) values() ([]any, error) {
	if !r.anyText {
		return r.rows.Values()
	}
	fds := r.rows.FieldDescriptions()
	raw := r.rows.RawValues()
	vals := make([]any, len(raw))
	for i, b := range raw {
		if b == nil {
			continue // SQL NULL
		}
		fd := fds[i]
		if r.asText[i] {
			v, err := r.text(fd, b)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", fd.Name, err)
			}
			vals[i] = v
			continue
		}
		t, ok := r.typeMap.TypeForOID(fd.DataTypeOID)
		switch {
		case ok:
			v, err := t.Codec.DecodeValue(r.typeMap, fd.DataTypeOID, fd.Format, b)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", fd.Name, err)
			}
			vals[i] = v
		case fd.Format == pgx.TextFormatCode:
			vals[i] = string(b)
		default:
			vals[i] = bytes.Clone(b)
		}
	}
	return vals, nil
}

// text is the text of one asText value.
func (r *rowsReader) text(fd pgconn.FieldDescription, b []byte) (string, error) {
	switch {
	case fd.Format == pgx.TextFormatCode || fd.DataTypeOID == pgtype.JSONOID:
		return string(b), nil
	case fd.DataTypeOID == pgtype.JSONBOID:
		if len(b) == 0 || b[0] != 1 {
			return "", errors.New("jsonb in an unknown binary version")
		}
		return string(b[1:]), nil
	}
	// Binary although text was asked for (a statement described
	// otherwise): decode and write the value's text with pgx, else as Go
	// prints it.
	t, ok := r.typeMap.TypeForOID(fd.DataTypeOID)
	if !ok {
		return string(b), nil
	}
	v, err := t.Codec.DecodeValue(r.typeMap, fd.DataTypeOID, fd.Format, b)
	if err != nil {
		return "", err
	}
	if text, err := r.typeMap.Encode(fd.DataTypeOID, pgtype.TextFormatCode, v, nil); err == nil {
		return string(text), nil
	}
	return strings.TrimSpace(fmt.Sprint(v)), nil
}

func (r *rowsReader) Schema() *arrow.Schema { return r.schema }

func (r *rowsReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil || r.rows == nil {
		return false
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, r.schema)
	defer b.Release()
	n := 0
	for n < r.batchSize && r.rows.Next() {
		vals, err := r.values()
		if err != nil {
			r.err = err
			return false
		}
		for i, v := range vals {
			if err := appendValue(b.Field(i), v); err != nil {
				r.err = fmt.Errorf("column %s: %w", r.schema.Field(i).Name, err)
				return false
			}
		}
		n++
	}
	if n == 0 {
		r.err = r.rows.Err()
		r.close()
		return false
	}
	r.cur = b.NewRecordBatch()
	return true
}

func (r *rowsReader) close() {
	if r.rows != nil {
		r.rows.Close()
		if r.err == nil {
			r.err = r.rows.Err()
		}
		r.rows = nil
	}
	if r.done != nil {
		r.done()
		r.done = nil
	}
}

func (r *rowsReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch.
func (r *rowsReader) Record() arrow.RecordBatch { return r.cur }

func (r *rowsReader) Err() error { return r.err }

func (r *rowsReader) Retain() { r.refs.Add(1) }

func (r *rowsReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.close()
}
