package push

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// decode validates recs against the target and builds the online rows.
// Rows written online (toOnline) may not be dated beyond s.maxFuture.
func (s *Schema) decode(recs Records, noTransform, toOnline bool) (*Batch, error) {
	t := s.t
	reject := func(col string, row int, reason string, err error) error {
		return &InvalidError{Source: t.name, Column: col, Row: row, Reason: reason, Err: err}
	}
	set := 0
	for _, ok := range []bool{recs.Arrow != nil, recs.Columns != nil, recs.Values != nil, recs.JSON != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return nil, reject("", -1, "set exactly one of Arrow, Columns, Values and JSON in Records", nil)
	}
	// Resolve input column names to canonical ones.
	type input struct {
		name, canonical string
		spec            colSpec
		idx             int // Arrow column index
	}
	var names []string
	switch {
	case recs.Arrow != nil:
		for _, f := range recs.Arrow.Schema().Fields() {
			names = append(names, f.Name)
		}
	case recs.Columns != nil:
		names = sortedKeys(recs.Columns)
	case recs.Values != nil:
		names = sortedKeys(recs.Values)
	default:
		names = sortedKeys(recs.JSON)
	}
	inputs := make([]input, 0, len(names))
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
			return nil, reject(n, -1, reason, nil)
		}
		if prev, dup := seen[c]; dup {
			return nil, reject(n, -1, fmt.Sprintf("duplicate column: %s and %s both name %s", prev, n, c), nil)
		}
		seen[c] = n
		inputs = append(inputs, input{name: n, canonical: c, spec: spec, idx: i})
	}
	b := &Batch{t: t, n: -1, cols: make(map[string][]*types.Value, len(inputs))}
	for _, in := range inputs {
		var (
			n    int
			err  error
			vals []*types.Value
			tss  []time.Time
		)
		isTime := in.spec.role == RoleTimestamp || in.spec.role == RoleCreatedTimestamp
		switch {
		case recs.Arrow != nil:
			col := recs.Arrow.Column(in.idx)
			n = col.Len()
			if isTime {
				tss, err = arrowTimes(col)
			} else {
				vals, err = values.ColumnFromArrow(col, in.spec.field.Type)
			}
		case recs.Columns != nil:
			col := recs.Columns[in.name]
			n = len(col)
			if isTime {
				tss, err = goTimes(col)
			} else {
				vals = make([]*types.Value, n)
				for i, x := range col {
					if vals[i], err = values.FromGo(x, in.spec.field.Type); err != nil {
						err = &values.IndexError{Index: i, Err: err}
						break
					}
				}
			}
		case recs.Values != nil:
			col := recs.Values[in.name]
			n = len(col)
			if isTime {
				tss, err = valueTimes(col)
			} else {
				vals = make([]*types.Value, n)
				for i, x := range col {
					if vals[i], err = values.FromGo(x, in.spec.field.Type); err != nil {
						err = &values.IndexError{Index: i, Err: err}
						break
					}
				}
			}
		default:
			raw := recs.JSON[in.name]
			if isTime {
				tss, err = values.DecodeTimeColumn(raw)
			} else {
				vals, err = values.DecodeColumn(raw, in.spec.field.Type)
			}
			n = max(len(tss), len(vals))
		}
		if err != nil {
			return nil, columnError(reject, in.name, in.spec, err)
		}
		if b.n >= 0 && n != b.n {
			return nil, reject(in.name, -1, fmt.Sprintf("has %d rows, other columns have %d", n, b.n), nil)
		}
		b.n = n
		switch in.spec.role {
		case RoleTimestamp:
			var horizon time.Time
			if toOnline && s.maxFuture > 0 {
				horizon = s.now().Add(s.maxFuture)
			}
			for i, ts := range tss {
				if ts.IsZero() {
					return nil, reject(in.name, i, "null event timestamp", nil)
				}
				if !horizon.IsZero() && ts.After(horizon) {
					return nil, reject(in.name, i, fmt.Sprintf("event timestamp %s is more than %s ahead of the server clock (feature_server.max_future_event_time_seconds): a row dated in the future hides every later row of its entity until then",
						ts.Format(time.RFC3339Nano), s.maxFuture), nil)
				}
			}
			b.ts = tss
		case RoleCreatedTimestamp:
			b.created = tss
		case RoleJoinKey:
			for i, v := range vals {
				if online.IsNull(v) {
					return nil, reject(in.name, i, "null join key", nil)
				}
			}
			b.cols[in.canonical] = vals
		default:
			b.cols[in.canonical] = vals
		}
	}
	if b.n <= 0 {
		b.n = 0
		return b, nil // empty: a no-op with a warning, as Feast does
	}
	for _, c := range t.order {
		if spec := t.cols[c]; spec.required {
			if _, ok := seen[c]; !ok {
				return nil, reject(c, -1, "missing "+roleName(spec.role)+" column", nil)
			}
		}
	}
	// Build the online rows of every view.
	b.rows = make([][]online.Row, len(t.writes))
	for wi, w := range t.writes {
		if w.prg != nil && noTransform {
			continue
		}
		feats := make([][]*types.Value, len(w.features))
		if w.prg != nil {
			in := make(map[string][]*types.Value, len(w.inputs))
			for name, col := range w.inputs {
				in[name] = b.cols[col]
			}
			out, err := w.prg.EvalColumns(in, b.n)
			if err != nil {
				return nil, reject("", -1, "on demand view "+w.view.Name, err)
			}
			feats = out
		} else {
			for fi, f := range w.features {
				feats[fi] = b.cols[f]
			}
		}
		rows, err := buildRows(w.view, feats, b.cols, b.ts, b.created, b.n)
		if err != nil {
			return nil, reject(err.col, err.row, "entity key", err.err)
		}
		b.rows[wi] = rows
	}
	return b, nil
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// arrowTimes reads an Arrow timestamp, date, string or int64 (epoch
