package offlinetest

import (
	"fmt"
	"sort"
	"time"
)

// This file is the reference implementation: the point-in-time rules
// written as plainly as possible, by brute force over every row, so the
// engines' SQL can be checked against it on random data.

// sourceCol is the source column holding a feature or join key.
func (s *SourceDef) sourceCol(name string) string {
	for src, mapped := range s.FieldMapping {
		if mapped == name {
			return src
		}
	}
	return name
}

func equalValues(a, b any) bool {
	if a == nil || b == nil {
		return false
	}
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

// newer reports whether (ts, created) of a is later than that of b; a
// missing created timestamp is older than any.
func newer(ats time.Time, acts any, bts time.Time, bcts any) bool {
	if !ats.Equal(bts) {
		return ats.After(bts)
	}
	if bcts == nil {
		return acts != nil
	}
	if acts == nil {
		return false
	}
	return acts.(time.Time).After(bcts.(time.Time))
}

// sameStamp reports whether two rows tie on (ts, created).
func sameStamp(ats time.Time, acts any, bts time.Time, bcts any) bool {
	return !newer(ats, acts, bts, bcts) && !newer(bts, bcts, ats, acts)
}

// ErrAmbiguous marks data where two candidate rows tie on both timestamps,
// so the expected value is not defined; random cases avoid it.
var ErrAmbiguous = fmt.Errorf("ambiguous: rows tie on event and created timestamp")

// Reference computes the expected result of a historical request.
func Reference(c *Case) (*Table, error) {
	entities := c.Entities
	if entities == nil {
		var err error
		if entities, err = referenceEntityless(c); err != nil {
			return nil, err
		}
	}
	tsCol := -1
	if i := entities.Index("event_timestamp"); i >= 0 {
		tsCol = i
	} else {
		for i, col := range entities.Cols {
			if col.Type == "timestamp" || col.Type == "timestamptz" {
				tsCol = i
			}
		}
	}
	out := &Table{Cols: append([]Col{}, entities.Cols...)}
	type plan struct {
		v       *ViewDef
		s       *SourceDef
		keyEnt  []int // entity column of each key
		keySrc  []int // source column of each key
		feat    []int // source column of each feature
		ts, cts int
	}
	var plans []plan
	for _, f := range c.Fetch {
		v := c.view(f.View)
		s := c.source(v.Source)
		p := plan{v: v, s: s, ts: s.Table.Index(s.Timestamp), cts: -1}
		if s.Created != "" {
			p.cts = s.Table.Index(s.Created)
		}
		for _, k := range v.Keys {
			ent := k.Name
			if m, ok := f.JoinKeyMap[k.Name]; ok {
				ent = m
			}
			p.keyEnt = append(p.keyEnt, entities.Index(ent))
			p.keySrc = append(p.keySrc, s.Table.Index(s.sourceCol(k.Name)))
		}
		names := f.Features
		if len(names) == 0 {
			for _, ft := range v.Features {
				names = append(names, ft.Name)
			}
		}
		for _, n := range names {
			i := s.Table.Index(s.sourceCol(n))
			p.feat = append(p.feat, i)
			name := n
			if c.FullNames {
				prefix := f.View
				if f.Alias != "" {
					prefix = f.Alias
				}
				name = prefix + "__" + n
			}
			out.Cols = append(out.Cols, Col{Name: name, Type: s.Table.Cols[i].Type})
		}
		plans = append(plans, p)
	}
	for _, erow := range entities.Rows {
		row := append([]any{}, erow...)
		for _, p := range plans {
			var best []any
			var tie bool
			if T, ok := erow[tsCol].(time.Time); ok {
				for _, frow := range p.s.Table.Rows {
					match := true
					for i := range p.keyEnt {
						if !equalValues(erow[p.keyEnt[i]], frow[p.keySrc[i]]) {
							match = false
						}
					}
					ts, ok := frow[p.ts].(time.Time)
					if !match || !ok || ts.After(T) {
						continue
					}
					if p.v.TTL != 0 && ts.Before(T.Add(-p.v.TTL)) {
						continue
					}
					var cts any
					if p.cts >= 0 {
						cts = frow[p.cts]
					}
					if c.FilterCreate && cts != nil && cts.(time.Time).After(T) {
						continue
					}
					if best == nil {
						best = frow
						continue
					}
					var bcts any
					if p.cts >= 0 {
						bcts = best[p.cts]
					}
					bts := best[p.ts].(time.Time)
					switch {
					case newer(ts, cts, bts, bcts):
						best, tie = frow, false
					case sameStamp(ts, cts, bts, bcts):
						tie = true
					}
				}
			}
			if tie {
				return nil, ErrAmbiguous
			}
			for _, fi := range p.feat {
				if best == nil {
					row = append(row, nil)
				} else {
					row = append(row, best[fi])
				}
			}
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// referenceEntityless builds the entity rows of entity-less retrieval: the
// distinct (entity columns, event timestamp) of every fetched view's source
// rows in [start, end], ordered by timestamp then keys (nulls last).
func referenceEntityless(c *Case) (*Table, error) {
	if c.End.IsZero() {
		return nil, fmt.Errorf("reference: entity-less cases need an explicit end")
	}
	start := c.Start
	if start.IsZero() {
		var maxTTL time.Duration
		unbounded := false
		for _, f := range c.Fetch {
			v := c.view(f.View)
			unbounded = unbounded || v.TTL == 0
			maxTTL = max(maxTTL, v.TTL)
		}
		if !unbounded {
			start = c.End.Add(-maxTTL)
		}
	}
	t := &Table{}
	for _, f := range c.Fetch {
		v := c.view(f.View)
		s := c.source(v.Source)
		for _, k := range v.Keys {
			name := k.Name
			if m, ok := f.JoinKeyMap[k.Name]; ok {
				name = m
			}
			if t.Index(name) < 0 {
				t.Cols = append(t.Cols, Col{Name: name, Type: s.Table.Cols[s.Table.Index(s.sourceCol(k.Name))].Type})
			}
		}
	}
	t.Cols = append(t.Cols, Col{Name: "event_timestamp", Type: "timestamptz"})
	seen := map[string]bool{}
	for _, f := range c.Fetch {
		v := c.view(f.View)
		s := c.source(v.Source)
		for _, frow := range s.Table.Rows {
			ts, ok := frow[s.Table.Index(s.Timestamp)].(time.Time)
			if !ok || ts.After(c.End) || (!start.IsZero() && ts.Before(start)) {
				continue
			}
			row := make([]any, len(t.Cols))
			null := false
			for _, k := range v.Keys {
				name := k.Name
				if m, ok := f.JoinKeyMap[k.Name]; ok {
					name = m
				}
				row[t.Index(name)] = frow[s.Table.Index(s.sourceCol(k.Name))]
				null = null || row[t.Index(name)] == nil
			}
			if null {
				continue
			}
			row[len(row)-1] = ts
			key := fmt.Sprint(row)
			if !seen[key] {
				seen[key] = true
				t.Rows = append(t.Rows, row)
			}
		}
	}
	sort.SliceStable(t.Rows, func(i, j int) bool {
		a, b := t.Rows[i], t.Rows[j]
		order := append([]int{len(t.Cols) - 1}, seq(len(t.Cols)-1)...)
		for _, k := range order {
			if c := compareValues(a[k], b[k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
	return t, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// compareValues orders values with nulls last.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch av := a.(type) {
	case int64:
		bv := b.(int64)
		return cmpOrdered(av, bv)
	case float64:
		return cmpOrdered(av, b.(float64))
	case string:
		return cmpOrdered(av, b.(string))
	case time.Time:
		return av.Compare(b.(time.Time))
	case bool:
		bv := b.(bool)
		if av == bv {
			return 0
		}
		if !av {
			return -1
		}
		return 1
	}
	return 0
}

func cmpOrdered[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ReferencePull computes the expected result of PullLatest (latest) or
// PullAll: rows with non-null keys and event ts in [start, end]; columns
// keys, features, event_timestamp and created_timestamp (if any).
func ReferencePull(c *Case) (*Table, error) {
	p := c.Pull
	v := c.view(p.View)
	s := c.source(v.Source)
	out := &Table{}
	var idx []int
	for _, k := range v.Keys {
		i := s.Table.Index(s.sourceCol(k.Name))
		idx = append(idx, i)
		out.Cols = append(out.Cols, Col{Name: k.Name, Type: s.Table.Cols[i].Type})
	}
	nk := len(idx)
	for _, f := range v.Features {
		i := s.Table.Index(s.sourceCol(f.Name))
		idx = append(idx, i)
		out.Cols = append(out.Cols, Col{Name: f.Name, Type: s.Table.Cols[i].Type})
	}
	ts := s.Table.Index(s.Timestamp)
	cts := -1
	out.Cols = append(out.Cols, Col{Name: "event_timestamp", Type: "timestamptz"})
	if s.Created != "" {
		cts = s.Table.Index(s.Created)
		out.Cols = append(out.Cols, Col{Name: "created_timestamp", Type: "timestamptz"})
	}
	latest := map[string][]any{}
	var order []string
	for _, frow := range s.Table.Rows {
		t, ok := frow[ts].(time.Time)
		if !ok || t.Before(p.Start) || t.After(p.End) {
			continue
		}
		row := make([]any, 0, len(out.Cols))
		null := false
		for _, i := range idx {
			row = append(row, frow[i])
		}
		for _, k := range row[:nk] {
			null = null || k == nil
		}
		if null {
			continue
		}
		row = append(row, t)
		var created any
		if cts >= 0 {
			created = frow[cts]
			row = append(row, created)
		}
		if !p.Latest {
			out.Rows = append(out.Rows, row)
			continue
		}
		key := fmt.Sprint(row[:nk])
		prev, ok := latest[key]
		if !ok {
			latest[key] = row
			order = append(order, key)
			continue
		}
		var pc any
		if cts >= 0 {
			pc = prev[len(prev)-1]
		}
		pt := prev[nk+len(v.Features)].(time.Time)
		if sameStamp(t, created, pt, pc) {
			return nil, ErrAmbiguous
		}
		if newer(t, created, pt, pc) {
			latest[key] = row
		}
	}
	for _, k := range order {
		out.Rows = append(out.Rows, latest[k])
	}
	return out, nil
}
