package push

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// decode validates recs against the target and builds the online rows.
// Rows written online (toOnline) may not be dated beyond s.maxFuture.
// Errors are *InvalidError, and come in this order: which Records field is
// set, unknown and duplicate columns, each column's values (in input order),
// missing required columns (only when there are rows), the rows of each
// view.
func (s *Schema) decode(recs Records, noTransform, toOnline bool) (*Batch, error) {
	if recs.fieldsSet() != 1 {
		return nil, s.reject("", -1, "set exactly one of Arrow, Columns, Values and JSON in Records", nil)
	}
	inputs, err := s.resolve(recs)
	if err != nil {
		return nil, err
	}
	b := &Batch{t: s.t, n: -1, cols: make(map[string][]*types.Value, len(inputs))}
	for _, in := range inputs {
		vals, tss, n, err := in.decode(recs)
		if err != nil {
			return nil, columnError(s.reject, in.name, in.spec, err)
		}
		if b.n >= 0 && n != b.n {
			return nil, s.reject(in.name, -1, fmt.Sprintf("has %d rows, other columns have %d", n, b.n), nil)
		}
		b.n = n
		if err := s.store(b, in, vals, tss, toOnline); err != nil {
			return nil, err
		}
	}
	if b.n <= 0 {
		b.n = 0
		return b, nil // empty: a no-op with a warning, as Feast does
	}
	if err := s.checkRequired(inputs); err != nil {
		return nil, err
	}
	if err := s.buildOnlineRows(b, noTransform); err != nil {
		return nil, err
	}
	return b, nil
}

// reject is the *InvalidError of this schema's source for a column (or
// "") and row (or -1).
func (s *Schema) reject(col string, row int, reason string, err error) error {
	return &InvalidError{Source: s.t.name, Column: col, Row: row, Reason: reason, Err: err}
}

// fieldsSet counts the fields of r that are set; exactly one must be.
func (r Records) fieldsSet() int {
	set := 0
	for _, ok := range []bool{r.Arrow != nil, r.Columns != nil, r.Values != nil, r.JSON != nil} {
		if ok {
			set++
		}
	}
	return set
}

// columnNames lists the columns of r: an Arrow record's in schema order,
// the others sorted.
func (r Records) columnNames() []string {
	switch {
	case r.Arrow != nil:
		var names []string
		for _, f := range r.Arrow.Schema().Fields() {
			names = append(names, f.Name)
		}
		return names
	case r.Columns != nil:
		return slices.Sorted(maps.Keys(r.Columns))
	case r.Values != nil:
		return slices.Sorted(maps.Keys(r.Values))
	}
	return slices.Sorted(maps.Keys(r.JSON))
}

// inputColumn is one column of the input, resolved against the schema.
type inputColumn struct {
	name      string // as the input names it
	canonical string // after the field mapping
	spec      colSpec
	idx       int // Arrow column index
}

// resolve maps the input's column names to canonical columns through the
// field mapping, rejecting unknown columns (suggesting a close name) and
// two input columns naming the same canonical one.
func (s *Schema) resolve(recs Records) ([]inputColumn, error) {
	t := s.t
	names := recs.columnNames()
	inputs := make([]inputColumn, 0, len(names))
	seen := map[string]string{}
	for i, n := range names {
		c := n
		if m, ok := t.mapping[n]; ok {
			c = m
		}
		spec, ok := t.cols[c]
		if !ok {
			reason := "unknown column; accepted columns are " + strings.Join(t.order, ", ")
			if sug := config.Closest(n, t.order, 1); len(sug) > 0 {
				reason = fmt.Sprintf("unknown column (did you mean %q?); accepted columns are %s", sug[0], strings.Join(t.order, ", "))
			}
			return nil, s.reject(n, -1, reason, nil)
		}
		if prev, dup := seen[c]; dup {
			return nil, s.reject(n, -1, fmt.Sprintf("duplicate column: %s and %s both name %s", prev, n, c), nil)
		}
		seen[c] = n
		inputs = append(inputs, inputColumn{name: n, canonical: c, spec: spec, idx: i})
	}
	return inputs, nil
}

// decode reads the column from recs: event and created timestamps as
// times (tss), every other column as values of its declared type (vals).
// n is the column's row count.
func (in inputColumn) decode(recs Records) (vals []*types.Value, tss []time.Time, n int, err error) {
	isTime := in.spec.role == RoleTimestamp || in.spec.role == RoleCreatedTimestamp
	vt := in.spec.field.Type
	switch {
	case recs.Arrow != nil:
		col := recs.Arrow.Column(in.idx)
		if isTime {
			tss, err = arrowTimes(col)
		} else {
			vals, err = values.ColumnFromArrow(col, vt)
		}
		return vals, tss, col.Len(), err
	case recs.Columns != nil:
		col := recs.Columns[in.name]
		if isTime {
			tss, err = goTimes(col)
		} else {
			vals, err = fromGo(col, vt)
		}
		return vals, tss, len(col), err
	case recs.Values != nil:
		col := recs.Values[in.name]
		if isTime {
			tss, err = valueTimes(col)
		} else {
			vals, err = fromGo(col, vt)
		}
		return vals, tss, len(col), err
	}
	raw := recs.JSON[in.name]
	if isTime {
		tss, err = values.DecodeTimeColumn(raw)
	} else {
		vals, err = values.DecodeColumn(raw, vt)
	}
	return vals, tss, max(len(tss), len(vals)), err
}

// fromGo converts a column of Go values (or of *types.Value, taken as is
// when of type vt) with values.FromGo; an element that does not convert is
// a *values.IndexError.
func fromGo[T any](col []T, vt model.ValueType) ([]*types.Value, error) {
	vals := make([]*types.Value, len(col))
	for i, x := range col {
		v, err := values.FromGo(x, vt)
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
		vals[i] = v
	}
	return vals, nil
}

// store puts a decoded column into b after checking its rows: event
// timestamps must be set and, for rows written online (toOnline), not
// beyond s.maxFuture ahead of the clock; join keys must be set.
func (s *Schema) store(b *Batch, in inputColumn, vals []*types.Value, tss []time.Time, toOnline bool) error {
	switch in.spec.role {
	case RoleTimestamp:
		if err := s.checkEventTimes(in.name, tss, toOnline); err != nil {
			return err
		}
		b.ts = tss
	case RoleCreatedTimestamp:
		b.created = tss
	case RoleJoinKey:
		for i, v := range vals {
			if online.IsNull(v) {
				return s.reject(in.name, i, "null join key", nil)
			}
		}
		b.cols[in.canonical] = vals
	default:
		b.cols[in.canonical] = vals
	}
	return nil
}

// checkEventTimes rejects a null event timestamp, and one further than
// s.maxFuture ahead of the clock when the rows are written online.
func (s *Schema) checkEventTimes(col string, tss []time.Time, toOnline bool) error {
	var horizon time.Time
	if toOnline && s.maxFuture > 0 {
		horizon = s.now().Add(s.maxFuture)
	}
	for i, ts := range tss {
		if ts.IsZero() {
			return s.reject(col, i, "null event timestamp", nil)
		}
		if !horizon.IsZero() && ts.After(horizon) {
			return s.reject(col, i, fmt.Sprintf("event timestamp %s is more than %s ahead of the server clock (feature_server.max_future_event_time_seconds): a row dated in the future hides every later row of its entity until then",
				ts.Format(time.RFC3339Nano), s.maxFuture), nil)
		}
	}
	return nil
}

// checkRequired rejects an input without one of the required columns
// (join keys, event timestamp, features), in the schema's column order.
func (s *Schema) checkRequired(inputs []inputColumn) error {
	present := make(map[string]bool, len(inputs))
	for _, in := range inputs {
		present[in.canonical] = true
	}
	for _, c := range s.t.order {
		if spec := s.t.cols[c]; spec.required && !present[c] {
			return s.reject(c, -1, "missing "+roleName(spec.role)+" column", nil)
		}
	}
	return nil
}

// buildOnlineRows builds the online rows of every view the schema writes;
// with noTransform, on-demand views are skipped.
func (s *Schema) buildOnlineRows(b *Batch, noTransform bool) error {
	b.rows = make([][]online.Row, len(s.t.writes))
	for wi, w := range s.t.writes {
		if w.prg != nil && noTransform {
			continue
		}
		feats, err := b.features(w)
		if err != nil {
			return s.reject("", -1, "on demand view "+w.view.Name, err)
		}
		rows, rerr := buildRows(w.view, feats, b.cols, b.ts, b.created, b.n)
		if rerr != nil {
			return s.reject(rerr.col, rerr.row, "entity key", rerr.err)
		}
		b.rows[wi] = rows
	}
	return nil
}

// features returns the feature columns w writes: the batch's own columns,
// or for an on-demand view those its program computes from them.
func (b *Batch) features(w viewWrite) ([][]*types.Value, error) {
	if w.prg != nil {
		in := make(map[string][]*types.Value, len(w.inputs))
		for name, col := range w.inputs {
			in[name] = b.cols[col]
		}
		return w.prg.EvalColumns(in, b.n)
	}
	feats := make([][]*types.Value, len(w.features))
	for fi, f := range w.features {
		feats[fi] = b.cols[f]
	}
	return feats, nil
}

// columnError rejects a column that did not decode, naming the row when
// the error is about one element.
func columnError(reject func(col string, row int, reason string, err error) error, col string, spec colSpec, err error) error {
	row := -1
	var ie *values.IndexError
	if errors.As(err, &ie) {
		row, err = ie.Index, ie.Err
	}
	if errors.Is(err, values.ErrTimeRange) {
		return reject(col, row, "", err)
	}
	vt := spec.field.Type.String()
	if spec.role == RoleTimestamp || spec.role == RoleCreatedTimestamp {
		vt = "timestamp"
	}
	return reject(col, row, "expected "+vt+" values", err)
}

// arrowTimes reads an Arrow timestamp, date, string or int64 (epoch
