package beam

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// A row travels between the read and write stages as KV<entity key, row
// bytes>: the serialized entity key (online.SerializeEntityKey) and
//
//	event ts (int64 unix ns, big endian) | created ts (int64 unix ns, big
//	endian; math.MinInt64 = none) | per feature: uvarint(len+1) then the
//	types.Value protobuf, 0 = nil
//
// Big-endian timestamps first make "newer" a byte comparison of the first
// 16 bytes, so the combine never decodes values.
const (
	rowHeader = 16
	noCreated = -1 << 63
)

// encodeRow appends a row to dst.
func encodeRow(dst []byte, eventTS, createdTS int64, vals []*types.Value) ([]byte, error) {
	dst = binary.BigEndian.AppendUint64(dst, uint64(eventTS)^(1<<63))
	dst = binary.BigEndian.AppendUint64(dst, uint64(createdTS)^(1<<63))
	for _, v := range vals {
		if v == nil {
			dst = binary.AppendUvarint(dst, 0)
			continue
		}
		n := proto.Size(v)
		dst = binary.AppendUvarint(dst, uint64(n)+1)
		var err error
		if dst, err = (proto.MarshalOptions{Deterministic: true}).MarshalAppend(dst, v); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// decodeRow decodes a row of n features.
func decodeRow(b []byte, n int) (eventTS, createdTS time.Time, vals []*types.Value, err error) {
	if len(b) < rowHeader {
		return eventTS, createdTS, nil, errors.New("decode row: short header")
	}
	ets := int64(binary.BigEndian.Uint64(b[0:8]) ^ (1 << 63))
	cts := int64(binary.BigEndian.Uint64(b[8:16]) ^ (1 << 63))
	eventTS = time.Unix(0, ets).UTC()
	if cts != noCreated {
		createdTS = time.Unix(0, cts).UTC()
	}
	b = b[rowHeader:]
	vals = make([]*types.Value, n)
	for i := range vals {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l-min(l, 1) {
			return eventTS, createdTS, nil, fmt.Errorf("decode row: value %d: bad length", i)
		}
		b = b[k:]
		if l == 0 {
			continue
		}
		v := new(types.Value)
		if err := proto.Unmarshal(b[:l-1], v); err != nil {
			return eventTS, createdTS, nil, fmt.Errorf("decode row: value %d: %w", i, err)
		}
		vals[i] = v
		b = b[l-1:]
	}
	return eventTS, createdTS, vals, nil
}

// newer reports whether row a should be kept over row b: a greater event
// timestamp, then a greater created timestamp (none sorts first), then, for
// full ties, the greater encoding so that the result does not depend on the
// order the runner combines in.
func newer(a, b []byte) bool {
	if c := bytes.Compare(a[:rowHeader], b[:rowHeader]); c != 0 {
		return c > 0
	}
	return bytes.Compare(a, b) > 0
}

// Latest is the combine function: it keeps the newest of two rows of one
// entity. It never modifies its inputs.
func Latest(a, b []byte) []byte {
	if newer(b, a) {
		return b
	}
	return a
}

// converter extracts rows from Arrow record batches whose columns are named
// by keyCols, featCols, tsCol and (optionally) createdCol.
type converter struct {
	joinKeys   []string
	keyTypes   []model.ValueType
	keyCols    []string
	featTypes  []model.ValueType
	featCols   []string
	tsCol      string
	createdCol string
	start, end int64 // unix ns, inclusive
	// absentNull reads a feature or created timestamp column a file lacks
	// as nulls, and a file lacking a key or the event timestamp as having
	// no rows: Iceberg data files written before a column was added, as
	// the in-process engine reads them.
	absentNull bool
}

// newSourceConverter reads the raw source columns of fv (field mapping applied).
func newSourceConverter(fv *model.FeatureView, start, end int64) *converter {
	src := fv.Source
	c := &converter{tsCol: src.TimestampField, createdCol: src.CreatedTimestampColumn, start: start, end: end}
	for _, k := range fv.EntityColumns {
		c.joinKeys = append(c.joinKeys, k.Name)
		c.keyTypes = append(c.keyTypes, k.Type)
		c.keyCols = append(c.keyCols, src.ColumnFor(k.Name))
	}
	for _, f := range fv.Features {
		c.featTypes = append(c.featTypes, f.Type)
		c.featCols = append(c.featCols, src.ColumnFor(f.Name))
	}
	return c
}

// columns lists the distinct source columns the converter reads.
func (c *converter) columns() []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, k := range c.keyCols {
		add(k)
	}
	for _, f := range c.featCols {
		add(f)
	}
	add(c.tsCol)
	add(c.createdCol)
	return out
}

// convert emits the rows of rec with non-null keys and an event timestamp
// in [start, end]; it returns the number emitted.
func (c *converter) convert(rec arrow.RecordBatch, emit func(key, row []byte)) (int64, error) {
	col := func(name string) (arrow.Array, error) {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			if c.absentNull && name != c.tsCol && !slices.Contains(c.keyCols, name) {
				return nil, nil
			}
			return nil, fmt.Errorf("column %q is missing", name)
		}
		return rec.Column(idx[0]), nil
	}
	n := int(rec.NumRows())
	tsArr, err := col(c.tsCol)
	if err != nil {
		return 0, err
	}
	tss, err := timestamps(tsArr)
	if err != nil {
		return 0, fmt.Errorf("timestamp column %s: %w", c.tsCol, err)
	}
	var created tsColumn
	if c.createdCol != "" {
		a, err := col(c.createdCol)
		if err != nil {
			return 0, err
		}
		if a == nil {
			created = nil
		} else if created, err = timestamps(a); err != nil {
			return 0, fmt.Errorf("created timestamp column %s: %w", c.createdCol, err)
		}
	}
	keyArrs := make([]arrow.Array, len(c.keyCols))
	keyVals := make([][]*types.Value, len(c.keyCols))
	for i, name := range c.keyCols {
		a, err := col(name)
		if err != nil {
			return 0, err
		}
		keyArrs[i] = a
		if keyVals[i], err = values.ColumnFromArrow(a, c.keyTypes[i]); err != nil {
			return 0, fmt.Errorf("join key %s: %w", c.joinKeys[i], err)
		}
	}
	featVals := make([][]*types.Value, len(c.featCols))
	for i, name := range c.featCols {
		a, err := col(name)
		if err != nil {
			return 0, err
		}
		if a == nil {
			featVals[i] = nullValues(n)
			continue
		}
		if featVals[i], err = values.ColumnFromArrow(a, c.featTypes[i]); err != nil {
			return 0, fmt.Errorf("feature column %s: %w", name, err)
		}
	}
	keyBuf := make([]*types.Value, len(c.keyCols))
	vals := make([]*types.Value, len(c.featCols))
	var emitted int64
	var buf []byte
rows:
	for r := 0; r < n; r++ {
		if tsArr.IsNull(r) || tss[r] < c.start || tss[r] > c.end {
			continue
		}
		for k, a := range keyArrs {
			if a.IsNull(r) {
				continue rows
			}
			keyBuf[k] = keyVals[k][r]
		}
		key, err := online.SerializeEntityKey(c.joinKeys, keyBuf)
		if err != nil {
			return emitted, fmt.Errorf("entity key: %w", err)
		}
		for f := range vals {
			vals[f] = featVals[f][r]
		}
		cts := int64(noCreated)
		if created != nil && !created.isNull(r) {
			cts = created[r]
		}
		if buf, err = encodeRow(buf[:0], tss[r], cts, vals); err != nil {
			return emitted, fmt.Errorf("encode row: %w", err)
		}
		emit(key, bytes.Clone(buf))
		emitted++
	}
	return emitted, nil
}

// tsColumn holds a timestamp column as unix nanoseconds truncated to
// microseconds (the precision of the offline stores' TIMESTAMPTZ), with
// noCreated for nulls.
type tsColumn []int64

func (t tsColumn) isNull(i int) bool { return t[i] == noCreated }

// timestamps reads a timestamp or date column. Timestamps without a zone are
// UTC, as in the offline stores.
func timestamps(col arrow.Array) (tsColumn, error) {
	out := make(tsColumn, col.Len())
	const us = int64(time.Microsecond)
	trunc := func(ns int64) int64 {
		q := ns / us
		if ns%us < 0 {
			q--
		}
		return q * us
	}
	switch a := col.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		mul := int64(unit.Multiplier())
		for i := range out {
			if a.IsNull(i) {
				out[i] = noCreated
				continue
			}
			out[i] = trunc(int64(a.Value(i)) * mul)
		}
	case *array.Date32:
		for i := range out {
			if a.IsNull(i) {
				out[i] = noCreated
				continue
			}
			out[i] = int64(a.Value(i)) * 86400 * int64(time.Second)
		}
	case *array.Date64:
		for i := range out {
			if a.IsNull(i) {
				out[i] = noCreated
				continue
			}
			out[i] = int64(a.Value(i)) * int64(time.Millisecond)
		}
	default:
		return nil, fmt.Errorf("want a timestamp or date column, got %s", col.DataType())
	}
	return out, nil
}

// nullValues is n null values, as values.ColumnFromArrow reads nulls.
func nullValues(n int) []*types.Value {
	out := make([]*types.Value, n)
	slab := make([]types.Value, n)
	for i := range out {
		out[i] = &slab[i]
	}
	return out
}
