package feast

// Serving a request with an OnlinePlan: checking and typing the entity
// columns, one read for all views, statuses and on demand features.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// Read serves req with the plan: it checks and types the entity columns,
// reads every view from r in one call, computes on-demand features and
// assigns statuses against now. r may be nil when the plan reads no view.
func (p *OnlinePlan) Read(ctx context.Context, r online.Reader, req OnlineRequest, now time.Time) (*OnlineResponse, error) {
	keys, fields, n, err := p.entityColumns(req)
	if err != nil {
		return nil, err
	}
	// Echoed: every required join key and each optional one given.
	nk := 0
	for i := range p.keys {
		if p.echoes(i, keys) {
			nk++
		}
	}
	ncols := nk + len(p.outputs)
	resp := &OnlineResponse{
		FeatureNames:  make([]string, 0, ncols),
		EntityColumns: nk,
		Results:       make([]FeatureVector, ncols),
	}
	vals := make([]*types.Value, ncols*n)
	stats := make([]serving.FieldStatus, ncols*n)
	tss := make([]time.Time, ncols*n)
	for c := range resp.Results {
		resp.Results[c] = FeatureVector{
			Values:          vals[c*n : (c+1)*n : (c+1)*n],
			Statuses:        stats[c*n : (c+1)*n : (c+1)*n],
			EventTimestamps: tss[c*n : (c+1)*n : (c+1)*n],
		}
	}
	c := 0
	for i, k := range p.keys {
		if !p.echoes(i, keys) {
			continue
		}
		resp.FeatureNames = append(resp.FeatureNames, k.name)
		copy(resp.Results[c].Values, keys[i])
		for j := range resp.Results[c].Statuses {
			resp.Results[c].Statuses[j] = serving.FieldStatus_PRESENT
		}
		c++
	}
	resp.FeatureNames = append(resp.FeatureNames, p.names...)

	var results []online.ReadResult
	if len(p.views) > 0 && n > 0 {
		if results, err = p.readViews(ctx, r, keys, n); err != nil {
			return nil, err
		}
	}
	for c, o := range p.outputs {
		if o.odfv >= 0 {
			continue
		}
		pv := &p.views[o.view]
		ttl := pv.fv.TTL
		col := &resp.Results[nk+c]
		for j := 0; j < n; j++ {
			fv := results[o.view][j][o.index]
			switch {
			case !fv.Found:
				col.Values[j] = &types.Value{}
				col.Statuses[j] = serving.FieldStatus_NOT_FOUND
				continue
			case values.IsNull(fv.Value):
				col.Statuses[j] = serving.FieldStatus_NULL_VALUE
			case ttl > 0 && now.Sub(fv.EventTS) > ttl:
				col.Statuses[j] = serving.FieldStatus_OUTSIDE_MAX_AGE
			default:
				col.Statuses[j] = serving.FieldStatus_PRESENT
			}
			col.Values[j] = fv.Value
			if col.Values[j] == nil {
				col.Values[j] = &types.Value{}
			}
			col.EventTimestamps[j] = fv.EventTS
		}
	}
	if len(p.odfvs) > 0 {
		if err := p.computeODFVs(resp, results, fields, n); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// echoes reports whether a response echoes the join-key column p.keys[i]
// given the request's key columns: every required join key and each
// optional one given.
func (p *OnlinePlan) echoes(i int, keys [][]*types.Value) bool {
	return !p.keys[i].optional || keys[i] != nil
}

// entityColumns checks the request's entity columns against the plan and
// returns the join-key columns (aligned with p.keys, typed to their
// declared types), the request fields (aligned with p.fields) and the row
// count.
func (p *OnlinePlan) entityColumns(req OnlineRequest) (keys, fields [][]*types.Value, n int, err error) {
	if len(req.EntityRows) > 0 {
		if len(req.Entities) > 0 || len(req.RequestContext) > 0 {
			return nil, nil, 0, invalidf("give entities either as rows or as columns, not both")
		}
		return p.columnsFromRows(req.EntityRows)
	}
	keys = make([][]*types.Value, len(p.keys))
	fields = make([][]*types.Value, len(p.fields))
	n = -1
	first := ""
	take := func(name string, col []*types.Value, fromContext bool) error {
		i, ok := p.columns[name]
		if !ok || (fromContext && i >= 0) {
			return invalidf("unknown entity column %q: the requested features need %s", name, p.describeColumns())
		}
		if n < 0 {
			n, first = len(col), name
		} else if len(col) != n {
			return invalidf("entity column %q has %d values but %q has %d", name, len(col), first, n)
		}
		if i >= 0 {
			keys[i] = col
		} else {
			fields[-i-1] = col
		}
		return nil
	}
	// Sorted names make the errors deterministic; one column needs no sort.
	if len(req.Entities) == 1 {
		for name, col := range req.Entities {
			if err := take(name, col, false); err != nil {
				return nil, nil, 0, err
			}
		}
	} else {
		for _, name := range sortedNames(req.Entities) {
			if err := take(name, req.Entities[name], false); err != nil {
				return nil, nil, 0, err
			}
		}
	}
	for _, name := range sortedNames(req.RequestContext) {
		if _, dup := req.Entities[name]; dup {
			return nil, nil, 0, invalidf("column %q is given both in entities and in the request context", name)
		}
		if err := take(name, req.RequestContext[name], true); err != nil {
			return nil, nil, 0, err
		}
	}
	if n < 0 {
		n = 0
	}
	if err := p.checkColumns(keys, fields); err != nil {
		return nil, nil, 0, err
	}
	return keys, fields, n, nil
}

// checkColumns reports missing columns and converts join-key values to
// their declared types, copying a column before changing it.
func (p *OnlinePlan) checkColumns(keys, fields [][]*types.Value) error {
	for i, k := range p.keys {
		col := keys[i]
		if col == nil {
			if k.optional {
				continue
			}
			return invalidf("missing join key %q: the requested features need %s", k.name, p.describeColumns())
		}
		copied := false
		for j, v := range col {
			cv, err := convertKey(v, k.typ)
			if err != nil {
				return invalidf("entity column %q row %d: %v", k.name, j, err)
			}
			if cv != v {
				if !copied {
					col = append([]*types.Value(nil), col...)
					copied = true
				}
				col[j] = cv
			}
		}
		keys[i] = col
	}
	for i, f := range p.fields {
		if fields[i] == nil {
			return invalidf("missing request field %q: the requested on demand features need %s", f.name, p.describeColumns())
		}
	}
	return nil
}

func (p *OnlinePlan) columnsFromRows(rows []map[string]any) (keys, fields [][]*types.Value, n int, err error) {
	n = len(rows)
	keys = make([][]*types.Value, len(p.keys))
	fields = make([][]*types.Value, len(p.fields))
	for j, row := range rows {
		for name, x := range row {
			i, ok := p.columns[name]
			if !ok {
				return nil, nil, 0, invalidf("entity row %d: unknown column %q: the requested features need %s", j, name, p.describeColumns())
			}
			col := planColumn{}
			var dst *[]*types.Value
			if i >= 0 {
				col, dst = p.keys[i], &keys[i]
			} else {
				col, dst = p.fields[-i-1], &fields[-i-1]
			}
			v, err := values.FromGo(x, col.typ)
			if err != nil {
				return nil, nil, 0, invalidf("entity row %d column %q: %v", j, name, err)
			}
			if *dst == nil {
				*dst = make([]*types.Value, n)
			}
			(*dst)[j] = v
		}
	}
	for i, k := range p.keys {
		for j := range keys[i] {
			if keys[i][j] == nil {
				return nil, nil, 0, invalidf("entity row %d: missing join key %q", j, k.name)
			}
		}
	}
	for i := range p.fields {
		for j := range fields[i] {
			if fields[i][j] == nil {
				fields[i][j] = &types.Value{}
			}
		}
	}
	return keys, fields, n, p.checkColumns(keys, fields)
}

func (p *OnlinePlan) describeColumns() string {
	var parts []string
	var required []planColumn
	for _, k := range p.keys {
		if !k.optional {
			required = append(required, k)
		}
	}
	if len(required) > 0 {
		parts = append(parts, "join keys "+quoteNames(required))
	}
	if len(p.fields) > 0 {
		parts = append(parts, "request fields "+quoteNames(p.fields))
	}
	if len(parts) == 0 {
		return "no entity columns"
	}
	return strings.Join(parts, " and ")
}

func quoteNames(cs []planColumn) string {
	qs := make([]string, len(cs))
	for i, c := range cs {
		qs[i] = fmt.Sprintf("%q", c.name)
	}
	return strings.Join(qs, ", ")
}

// convertKey returns v as a join-key value of type want, converting
// between INT32 and INT64 when the value fits.
func convertKey(v *types.Value, want model.ValueType) (*types.Value, error) {
	// The usual key is already of its type: tell it without reflection.
	switch v.GetVal().(type) {
	case *types.Value_Int64Val:
		if want == model.Int64 {
			return v, nil
		}
	case *types.Value_StringVal:
		if want == model.String {
			return v, nil
		}
	case *types.Value_Int32Val:
		if want == model.Int32 {
			return v, nil
		}
	}
	got := values.TypeOf(v)
	if got == want {
		return v, nil
	}
	switch {
	case got == types.ValueType_NULL:
		return nil, fmt.Errorf("join key value is null")
	case got == model.Int32 && want == model.Int64:
		return &types.Value{Val: &types.Value_Int64Val{Int64Val: int64(v.GetInt32Val())}}, nil
	case got == model.Int64 && want == model.Int32:
		x := v.GetInt64Val()
		if x < -1<<31 || x > 1<<31-1 {
			return nil, fmt.Errorf("%w: expected INT32, got INT64 %d out of range", values.ErrType, x)
		}
		return &types.Value{Val: &types.Value_Int32Val{Int32Val: int32(x)}}, nil
	}
	return nil, fmt.Errorf("%w: expected %s, got %s", values.ErrType, want, got)
}

// readViews serializes the entity keys of every view and reads them all in
// one call.
func (p *OnlinePlan) readViews(ctx context.Context, r online.Reader, keys [][]*types.Value, n int) ([]online.ReadResult, error) {
	if r == nil {
		return nil, ErrNoOnlineStore
	}
	reqs, err := p.readRequests(keys, n)
	if err != nil {
		return nil, err
	}
	res, err := r.Read(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("read online features: %w", err)
	}
	if len(res) != len(reqs) {
		return nil, fmt.Errorf("read online features: store returned %d results for %d views", len(res), len(reqs))
	}
	return res, nil
}

// readRequests serializes the entity keys of every view: one ReadRequest
// per view of the plan, for the n entity rows of keys.
func (p *OnlinePlan) readRequests(keys [][]*types.Value, n int) ([]online.ReadRequest, error) {
	reqs := make([]online.ReadRequest, len(p.views))
	size := 0
	for _, pv := range p.views {
		size += n * (4 + 16*len(pv.joinKeys))
		for _, k := range pv.joinKeys {
			size += n * len(k)
		}
	}
	arena := make([]byte, 0, size)
	allKeys := make([][]byte, len(p.views)*n)
	var inline [8]*types.Value
	for vi := range p.views {
		pv := &p.views[vi]
		kv := inline[:0]
		if len(pv.joinKeys) > len(inline) {
			kv = make([]*types.Value, 0, len(pv.joinKeys))
		}
		kv = kv[:len(pv.joinKeys)]
		ek := allKeys[vi*n : (vi+1)*n : (vi+1)*n]
		for j := 0; j < n; j++ {
			for ki, c := range pv.keyCols {
				v := keys[c][j]
				if pv.keyTypes[ki] != p.keys[c].typ {
					cv, err := convertKey(v, pv.keyTypes[ki])
					if err != nil {
						return nil, invalidf("entity column %q row %d for feature view %s: %v", p.keys[c].name, j, pv.fv.Name, err)
					}
					v = cv
				}
				kv[ki] = v
			}
			start := len(arena)
			var err error
			arena, err = online.AppendEntityKey(arena, pv.joinKeys, kv)
			if err != nil {
				return nil, invalidf("entity row %d for feature view %s: %v", j, pv.fv.Name, err)
			}
			ek[j] = arena[start:len(arena):len(arena)]
		}
		reqs[vi] = online.ReadRequest{Project: p.snap.Project, View: pv.fv, Features: pv.features, EntityKeys: ek}
	}
	return reqs, nil
}

// computeODFVs runs every on-demand program once per entity row.
func (p *OnlinePlan) computeODFVs(resp *OnlineResponse, results []online.ReadResult, fields [][]*types.Value, n int) error {
	nk := resp.EntityColumns
	outs := make([][]*types.Value, len(p.odfvs))
	for oi := range p.odfvs {
		po := &p.odfvs[oi]
		outs[oi] = make([]*types.Value, n*len(po.view.Features))
		row := make(map[string]*types.Value, len(po.inputs))
		for j := 0; j < n; j++ {
			for _, in := range po.inputs {
				var v *types.Value
				if in.view >= 0 {
					fv := results[in.view][j][in.index]
					if fv.Found {
						v = fv.Value
					}
				} else {
					v = fields[in.index][j]
				}
				if v == nil {
					v = &types.Value{}
				}
				row[in.name] = v
			}
			got, err := po.eval.Eval(row)
			if err != nil {
				return fmt.Errorf("compute on demand feature view %s for entity row %d: %w", po.view.Name, j, err)
			}
			copy(outs[oi][j*len(po.view.Features):], got)
		}
	}
	for c, o := range p.outputs {
		if o.odfv < 0 {
			continue
		}
		nf := len(p.odfvs[o.odfv].view.Features)
		col := &resp.Results[nk+c]
		for j := 0; j < n; j++ {
			v := outs[o.odfv][j*nf+o.index]
			if v == nil {
				v = &types.Value{}
			}
			col.Values[j] = v
			if values.IsNull(v) {
				col.Statuses[j] = serving.FieldStatus_NULL_VALUE
			} else {
				col.Statuses[j] = serving.FieldStatus_PRESENT
			}
		}
	}
	return nil
}
