package push

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// Batch is a validated set of rows for one push target. It is not safe
// for concurrent use.
type Batch struct {
	t       *target
	n       int
	cols    map[string][]*types.Value
	ts      []time.Time
	created []time.Time // nil when the input has no created column
	rows    [][]online.Row
}

// Len is the number of rows.
func (b *Batch) Len() int { return b.n }

// EventTimes are the rows' event timestamps.
func (b *Batch) EventTimes() []time.Time { return b.ts }

// Append adds the rows of o, a batch decoded from the same schema.
func (b *Batch) Append(o *Batch) error {
	if o.t != b.t {
		return errors.New("append push batch: different schemas")
	}
	if (b.created == nil) != (o.created == nil) && b.n > 0 && o.n > 0 {
		// Fill the missing created timestamps with zero times.
		if b.created == nil {
			b.created = make([]time.Time, b.n)
		} else {
			o.created = make([]time.Time, o.n)
		}
	}
	if b.n == 0 {
		b.cols = map[string][]*types.Value{}
	}
	for name, col := range o.cols {
		b.cols[name] = append(b.cols[name], col...)
	}
	b.ts = append(b.ts, o.ts...)
	if o.created != nil {
		b.created = append(b.created, o.created...)
	}
	if b.rows == nil {
		b.rows = make([][]online.Row, len(b.t.writes))
	}
	for i := range o.rows {
		b.rows[i] = append(b.rows[i], o.rows[i]...)
	}
	b.n += o.n
	return nil
}

func (b *Batch) allFeaturesNull() bool {
	for _, name := range b.t.order {
		if b.t.cols[name].role != RoleFeature {
			continue
		}
		for _, v := range b.cols[name] {
			if !online.IsNull(v) {
				return false
			}
		}
	}
	return true
}

// offlineRecord builds the Arrow record appended to src: the input's
// canonical columns that belong to views reading src, in schema order.
func (b *Batch) offlineRecord(src *model.DataSource) (arrow.RecordBatch, error) {
	mem := memory.DefaultAllocator
	var (
		fields []arrow.Field
		arrs   []arrow.Array
	)
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	for _, name := range b.t.order {
		c := b.t.cols[name]
		switch c.role {
		case RoleTimestamp:
			fields = append(fields, arrow.Field{Name: name, Type: tsType, Nullable: true})
			arrs = append(arrs, timeArray(mem, tsType, b.ts))
		case RoleCreatedTimestamp:
			if b.created == nil {
				continue
			}
			fields = append(fields, arrow.Field{Name: name, Type: tsType, Nullable: true})
			arrs = append(arrs, timeArray(mem, tsType, b.created))
		case RoleJoinKey, RoleFeature:
			col, ok := b.cols[name]
			if !ok {
				continue
			}
			a, err := values.ToArrow(mem, c.field.Type, col)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", name, err)
			}
			fields = append(fields, arrow.Field{Name: name, Type: a.DataType(), Nullable: true})
			arrs = append(arrs, a)
		}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(b.n)), nil
}

func timeArray(mem memory.Allocator, dt *arrow.TimestampType, ts []time.Time) arrow.Array {
	bld := array.NewTimestampBuilder(mem, dt)
	defer bld.Release()
	bld.Reserve(len(ts))
	for _, t := range ts {
		if t.IsZero() {
			bld.AppendNull()
			continue
		}
		bld.Append(arrow.Timestamp(t.UnixMicro()))
	}
	return bld.NewArray()
}

type rowError struct {
	col string
	row int
	err error
}

// buildRows builds the online rows of a view from column-major features.
func buildRows(fv *model.FeatureView, feats [][]*types.Value, cols map[string][]*types.Value, ts, created []time.Time, n int) ([]online.Row, *rowError) {
	keys := fv.JoinKeys()
	keyCols := make([][]*types.Value, len(keys))
	for i, k := range keys {
		keyCols[i] = cols[k]
	}
	rows := make([]online.Row, n)
	vals := make([]*types.Value, n*len(feats))
	keyBuf := make([]*types.Value, len(keys))
	var arena []byte
	for r := 0; r < n; r++ {
		if r == 1 {
			// Size the arena from the first key: keys of one view are
			// usually of one length, so it rarely grows again.
			arena = append(make([]byte, 0, len(arena)*n+len(arena)/2+64), arena...)
		}
		for k := range keyBuf {
			keyBuf[k] = keyCols[k][r]
		}
		start := len(arena)
		var err error
		arena, err = online.AppendEntityKey(arena, keys, keyBuf)
		if err != nil {
			return nil, &rowError{col: strings.Join(keys, ","), row: r, err: err}
		}
		row := vals[r*len(feats) : (r+1)*len(feats) : (r+1)*len(feats)]
		for f := range feats {
			row[f] = feats[f][r]
		}
		rows[r] = online.Row{Values: row, EventTS: ts[r]}
		rows[r].EntityKey = arena[start:len(arena):len(arena)]
		if created != nil {
			rows[r].CreatedTS = created[r]
		}
	}
	// The arena may have moved while growing: re-slice the keys from the final one.
	off := 0
	for r := range rows {
		l := len(rows[r].EntityKey)
		rows[r].EntityKey = arena[off : off+l : off+l]
		off += l
	}
	return rows, nil
}
