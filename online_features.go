package feast

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/transform"
	"github.com/feastgo/feast/values"
)

// ErrInvalidRequest is wrapped by every error about an online request that
// cannot be served as given: a missing join key, columns of different
// lengths, an entity value of the wrong type, an unknown entity column or
// a request naming both features and a feature service. Servers map it to
// 400 Bad Request. Unknown feature views, features and services are
// reported as *registry.NotFoundError instead.
var ErrInvalidRequest = errors.New("invalid online request")

// invalidRequest is an ErrInvalidRequest whose message stands alone.
type invalidRequest struct{ msg string }

func (e *invalidRequest) Error() string        { return e.msg }
func (e *invalidRequest) Is(target error) bool { return target == ErrInvalidRequest }

func invalidf(format string, args ...any) error {
	return &invalidRequest{msg: fmt.Sprintf(format, args...)}
}

// OnlineRequest asks for the latest feature values of some entities.
//
// Exactly one of Features and FeatureService selects what to read. The
// entities come either column-major in Entities (and RequestContext), as the
// HTTP and gRPC APIs send them, or row-major in EntityRows.
type OnlineRequest struct {
	// Features are references "view:feature" to feature views or on-demand
	// feature views.
	Features []string
	// FeatureService names a feature service whose projections are read.
	FeatureService string
	// Entities maps each join-key column (after a projection's join_key_map)
	// to its values, one per entity row; all columns have the same length.
	// Values are converted to the join-key type declared by each view's
	// entity columns when the conversion is exact (INT32 and INT64); any
	// other mismatch is an error. Request-source fields of on-demand views
	// may be given here too, as Feast's HTTP server accepts them.
	Entities map[string][]*types.Value
	// RequestContext maps request-source fields of on-demand views to their
	// values, one per entity row.
	RequestContext map[string][]*types.Value
	// EntityRows is the row-major alternative to Entities and
	// RequestContext for Go callers: one map per entity row holding join
	// keys and request fields as plain Go values, converted with
	// values.FromGo to the declared types.
	EntityRows []map[string]any
	// FullFeatureNames names output features "view__feature" (the view's
	// alias in a feature service when it has one) instead of "feature".
	FullFeatureNames bool
}

// FeatureVector is one output column: a value, status and event timestamp
// per entity row.
type FeatureVector struct {
	Values []*types.Value
	// Statuses are PRESENT, NULL_VALUE (stored but null), NOT_FOUND or
	// OUTSIDE_MAX_AGE (older than the view's ttl; the value is still given).
	Statuses []serving.FieldStatus
	// EventTimestamps are the stored event times; the zero time.Time for
	// join-key columns, on-demand features and values not found.
	EventTimestamps []time.Time
}

// OnlineResponse is the column-major answer to an OnlineRequest, in the
// shape of Feast's GetOnlineFeaturesResponse: the join-key columns first,
// then the requested features in request order.
type OnlineResponse struct {
	// FeatureNames names the columns of Results.
	FeatureNames []string
	// EntityColumns is how many leading columns echo the join keys.
	EntityColumns int
	Results       []FeatureVector
}

// Rows returns the number of entity rows.
func (r *OnlineResponse) Rows() int {
	if len(r.Results) == 0 {
		return 0
	}
	return len(r.Results[0].Values)
}

// ToMap returns the response as Feast's to_dict() does: each column name
// mapped to its values as plain Go values (values.ToGo; nil for null and
// missing values).
func (r *OnlineResponse) ToMap() map[string][]any {
	out := make(map[string][]any, len(r.FeatureNames))
	for i, name := range r.FeatureNames {
		col := make([]any, len(r.Results[i].Values))
		for j, v := range r.Results[i].Values {
			col[j] = values.ToGo(v)
		}
		out[name] = col
	}
	return out
}

// GetOnlineFeatures reads the latest values of the requested features for
// the given entities from the online store, computes requested on-demand
// features, and reports per value whether it was found, null or older than
// its view's ttl (relative to the store's clock).
func (fs *FeatureStore) GetOnlineFeatures(ctx context.Context, req OnlineRequest) (*OnlineResponse, error) {
	snap, err := fs.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	plan, err := fs.ResolveOnline(snap, req.Features, req.FeatureService, req.FullFeatureNames)
	if err != nil {
		return nil, err
	}
	return fs.ReadOnline(ctx, plan, req)
}

// OnlinePlan is a feature selection resolved against one registry snapshot:
// the views and features to read, the join keys and request fields the
// entities must supply with their types, the on-demand programs to run and
// the output layout. A plan is immutable and safe for concurrent use.
type OnlinePlan struct {
	snap *registry.Snapshot
	// keys are the join-key request columns, in order of first use by the
	// views; their type is the one the first view declares.
	keys []planColumn
	// fields are the request-source fields on-demand views read.
	fields  []planColumn
	views   []planView
	odfvs   []planODFV
	outputs []planOutput
	names   []string
	// columns maps every accepted entity column name to its position:
	// i >= 0 is keys[i], i < 0 is fields[-i-1].
	columns map[string]int
}

type planColumn struct {
	name string
	typ  model.ValueType
	// optional marks the join key of a project entity no requested view
	// uses. Feast accepts such columns (they give the row count of a
	// request for views without entities) and returns them with the
	// results; they are echoed when given and never required.
	optional bool
}

type planView struct {
	fv       *model.FeatureView
	features []string
	// joinKeys are the view's own join keys, as entity keys are stored.
	joinKeys []string
	keyTypes []model.ValueType
	// keyCols index OnlinePlan.keys for each join key.
	keyCols []int
}

type planODFV struct {
	view *model.OnDemandFeatureView
	eval *transform.Program
	// inputs are the program's inputs, read from views or request fields.
	inputs []odfvInput
}

type odfvInput struct {
	name string
	// view >= 0: views[view].features[index]; view < 0: fields[index].
	view, index int
}

// planOutput locates one output column: feature index of views[view] when
// odfv < 0, else output index of odfvs[odfv].
type planOutput struct {
	view, odfv, index int
}

// Snapshot returns the registry snapshot the plan was resolved against.
func (p *OnlinePlan) Snapshot() *registry.Snapshot { return p.snap }

// FeatureNames returns the output names of the requested features, without
// the join-key columns. The caller must not modify the slice.
func (p *OnlinePlan) FeatureNames() []string { return p.names }

// JoinKeys returns the join-key columns the entities must supply, in output
// order.
func (p *OnlinePlan) JoinKeys() []string {
	out := make([]string, 0, len(p.keys))
	for _, k := range p.keys {
		if !k.optional {
			out = append(out, k.name)
		}
	}
	return out
}

// ColumnType returns the declared type of an entity column: a join key of
// a requested view or a request field of a requested on-demand view.
// isKey reports a join key. ok is false for any other name.
func (p *OnlinePlan) ColumnType(name string) (vt model.ValueType, isKey, ok bool) {
	i, ok := p.columns[name]
	if !ok {
		return model.Invalid, false, false
	}
	if i >= 0 {
		return p.keys[i].typ, true, true
	}
	return p.fields[-i-1].typ, false, true
}

// ResolveOnline resolves a feature selection (references or a feature
// service) against snap. Plans are cached per snapshot, so a repeated
// selection costs one map lookup and on-demand programs are compiled once.
func (fs *FeatureStore) ResolveOnline(snap *registry.Snapshot, features []string, service string, fullNames bool) (*OnlinePlan, error) {
	return fs.plans().get(snap, features, service, fullNames)
}

// ReadOnline serves req (its entities; the selection comes from plan) with
// one round trip to the online store.
func (fs *FeatureStore) ReadOnline(ctx context.Context, plan *OnlinePlan, req OnlineRequest) (*OnlineResponse, error) {
	var reader online.Reader
	if len(plan.views) > 0 {
		s, err := fs.OnlineStore(ctx)
		if err != nil {
			return nil, err
		}
		reader = s
	}
	return plan.Read(ctx, reader, req, fs.now())
}

// planCacheLimit bounds the plans cached per snapshot; selections beyond it
// are resolved on every request.
const planCacheLimit = 4096

// planCache holds the resolved plans of the latest snapshot. The map is
// copied on write, so lookups take no lock and do not allocate.
type planCache struct {
	cur atomic.Pointer[planSet]
	mu  sync.Mutex
}

type planSet struct {
	snap  *registry.Snapshot
	plans map[string]*OnlinePlan
}

func (fs *FeatureStore) plans() *planCache { return &fs.onlinePlans }

func planKey(buf []byte, features []string, service string, fullNames bool) []byte {
	if fullNames {
		buf = append(buf, 'F')
	} else {
		buf = append(buf, 'S')
	}
	if service != "" {
		buf = append(buf, '@')
		return append(buf, service...)
	}
	for _, f := range features {
		buf = append(buf, 0)
		buf = append(buf, f...)
	}
	return buf
}

func (c *planCache) get(snap *registry.Snapshot, features []string, service string, fullNames bool) (*OnlinePlan, error) {
	var arr [256]byte
	key := planKey(arr[:0], features, service, fullNames)
	set := c.cur.Load()
	if set != nil && set.snap == snap {
		if p, ok := set.plans[string(key)]; ok {
			return p, nil
		}
	}
	p, err := resolveOnline(snap, features, service, fullNames)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	set = c.cur.Load()
	var next map[string]*OnlinePlan
	switch {
	case set == nil || set.snap != snap:
		next = map[string]*OnlinePlan{}
	case len(set.plans) >= planCacheLimit:
		return p, nil
	default:
		next = make(map[string]*OnlinePlan, len(set.plans)+1)
		for k, v := range set.plans {
			next[k] = v
		}
	}
	next[string(key)] = p
	c.cur.Store(&planSet{snap: snap, plans: next})
	return p, nil
}

// selection is one view or on-demand view of the request with the
// features wanted from it.
type selection struct {
	view       string
	alias      string
	features   []string // nil means all
	joinKeyMap map[string]string
}

func (s *selection) nameToUse() string {
	if s.alias != "" {
		return s.alias
	}
	return s.view
}

func resolveOnline(snap *registry.Snapshot, features []string, service string, fullNames bool) (*OnlinePlan, error) {
	if len(features) > 0 && service != "" {
		return nil, invalidf("give either features or a feature service, not both")
	}
	if len(features) == 0 && service == "" {
		return nil, invalidf("no features requested: give features or a feature service")
	}
	var sels []selection
	if service != "" {
		svc, ok := snap.FeatureServices[service]
		if !ok {
			return nil, &registry.NotFoundError{Kind: "feature service", Name: service, Project: snap.Project, Suggestions: config.Closest(service, sortedNames(snap.FeatureServices), 3)}
		}
		for _, pr := range svc.Projections {
			s := selection{view: pr.View, alias: pr.Alias, joinKeyMap: pr.JoinKeyMap}
			for _, f := range pr.Features {
				s.features = append(s.features, f.Name)
			}
			sels = append(sels, s)
		}
	} else {
		index := map[string]int{}
		for _, ref := range features {
			v, f, err := resolveRef(snap, ref)
			if err != nil {
				return nil, err
			}
			i, ok := index[v]
			if !ok {
				i = len(sels)
				index[v] = i
				sels = append(sels, selection{view: v, features: []string{}})
			}
			sels[i].features = append(sels[i].features, f)
		}
	}

	b := planBuilder{p: &OnlinePlan{snap: snap, columns: map[string]int{}}, viewIdx: map[string]int{}, seen: map[string]string{}}
	// Outputs follow the request order; on-demand inputs are added after.
	var odfvSels []selection
	for _, s := range sels {
		fv, ok := snap.FeatureViews[s.view]
		if !ok {
			// An on-demand view written to the online store (by push or
			// materialization) is read like a feature view, as Feast does.
			if o := snap.OnDemandViews[s.view]; o != nil {
				fv, ok = o.StoredView(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
			}
		}
		if ok {
			feats := s.features
			if feats == nil {
				feats = fieldNames(fv.Features)
			}
			vi, err := b.view(fv, s.alias, s.joinKeyMap)
			if err != nil {
				return nil, err
			}
			for _, f := range feats {
				if _, ok := fv.Feature(f); !ok {
					return nil, &registry.NotFoundError{Kind: "feature", Name: s.view + ":" + f, Project: snap.Project, Suggestions: config.Closest(s.view+":"+f, snap.FeatureRefNames(), 3)}
				}
				fi := b.feature(vi, f)
				if err := b.output(columnName(s.nameToUse(), f, fullNames), planOutput{view: vi, odfv: -1, index: fi}, s.view+":"+f); err != nil {
					return nil, err
				}
			}
			continue
		}
		if o, ok := snap.OnDemandViews[s.view]; ok && o != nil {
			odfvSels = append(odfvSels, s)
			continue
		}
		return nil, &registry.NotFoundError{Kind: "feature view", Name: s.view, Project: snap.Project, Suggestions: config.Closest(s.view, allViewNames(snap), 3)}
	}
	for _, s := range odfvSels {
		if err := b.odfv(snap.OnDemandViews[s.view], s, fullNames); err != nil {
			return nil, err
		}
	}
	if len(features) > 0 {
		b.requestOrder(features)
	}
	for _, name := range b.p.names {
		if _, isKey := b.p.columns[name]; isKey {
			return nil, invalidf("feature %q has the name of the entity column %q; request full feature names", b.seen[name], name)
		}
	}
	b.optionalKeys(snap)
	return b.p, nil
}

// optionalKeys accepts the join keys of the project's other entities as
// optional columns, after the ones the views need, in name order.
func (b *planBuilder) optionalKeys(snap *registry.Snapshot) {
	extra := map[string]model.ValueType{} // two entities may share a join key
	for _, e := range snap.Entities {
		_, taken := b.p.columns[e.JoinKey]
		_, isOutput := b.seen[e.JoinKey]
		if !taken && !isOutput && e.JoinKey != "" && e.JoinKey != model.DummyEntityJoinKey {
			extra[e.JoinKey] = e.ValueType
		}
	}
	for _, name := range sortedNames(extra) {
		b.p.columns[name] = len(b.p.keys)
		b.p.keys = append(b.p.keys, planColumn{name: name, typ: extra[name], optional: true})
	}
}

// resolveRef splits "view:feature" and checks that it exists.
func resolveRef(snap *registry.Snapshot, ref string) (view, feature string, err error) {
	v, f, ok := strings.Cut(ref, ":")
	if !ok || v == "" || f == "" {
		return "", "", invalidf("feature reference %q must be view:feature", ref)
	}
	if strings.Contains(v, "@") {
		return "", "", invalidf("feature reference %q: versioned feature views are not supported", ref)
	}
	if _, ok := snap.FeatureViews[v]; !ok {
		if _, ok := snap.OnDemandViews[v]; !ok {
			return "", "", &registry.NotFoundError{Kind: "feature view", Name: v, Project: snap.Project, Suggestions: config.Closest(v, allViewNames(snap), 3)}
		}
	}
	return snap.ResolveFeatureRef(ref)
}

func allViewNames(snap *registry.Snapshot) []string {
	names := snap.FeatureViewNames()
	for n := range snap.OnDemandViews {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func fieldNames(fs []model.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

type planBuilder struct {
	p       *OnlinePlan
	viewIdx map[string]int
	// seen maps output names to the reference that produced them.
	seen map[string]string
}

// view returns the index of the plan view for fv read under alias with
// joinKeyMap, adding it (and its join-key columns) on first use.
func (b *planBuilder) view(fv *model.FeatureView, alias string, joinKeyMap map[string]string) (int, error) {
	key := fv.Name + "\x00" + alias + "\x00" + mapKey(joinKeyMap)
	if i, ok := b.viewIdx[key]; ok {
		return i, nil
	}
	pv := planView{fv: fv}
	for _, c := range fv.EntityColumns {
		col := c.Name
		if m, ok := joinKeyMap[c.Name]; ok && m != "" {
			col = m
		}
		ci, ok := b.p.columns[col]
		if !ok {
			ci = len(b.p.keys)
			b.p.keys = append(b.p.keys, planColumn{name: col, typ: c.Type})
			b.p.columns[col] = ci
		} else if ci < 0 {
			return 0, fmt.Errorf("column %q is both a join key of %s and a request field", col, fv.Name)
		}
		pv.joinKeys = append(pv.joinKeys, c.Name)
		pv.keyTypes = append(pv.keyTypes, c.Type)
		pv.keyCols = append(pv.keyCols, ci)
	}
	i := len(b.p.views)
	b.p.views = append(b.p.views, pv)
	b.viewIdx[key] = i
	return i, nil
}

func mapKey(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(m[k])
		sb.WriteByte(';')
	}
	return sb.String()
}

// feature returns the index of feature f in view vi's read list.
func (b *planBuilder) feature(vi int, f string) int {
	pv := &b.p.views[vi]
	for i, x := range pv.features {
		if x == f {
			return i
		}
	}
	pv.features = append(pv.features, f)
	return len(pv.features) - 1
}

func (b *planBuilder) output(name string, o planOutput, ref string) error {
	if prev, ok := b.seen[name]; ok {
		if prev == ref {
			return invalidf("feature %q is requested twice", ref)
		}
		return invalidf("features %q and %q both produce the output name %q; request full feature names", prev, ref, name)
	}
	b.seen[name] = ref
	b.p.names = append(b.p.names, name)
	b.p.outputs = append(b.p.outputs, o)
	return nil
}

// requestOrder puts the outputs in the order of the references.
func (b *planBuilder) requestOrder(refs []string) {
	pos := make(map[string]int, len(refs))
	for i, r := range refs {
		if _, ok := pos[r]; !ok {
			pos[r] = i
		}
	}
	idx := make([]int, len(b.p.names))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		return pos[b.seen[b.p.names[idx[i]]]] < pos[b.seen[b.p.names[idx[j]]]]
	})
	names := make([]string, len(idx))
	outs := make([]planOutput, len(idx))
	for i, k := range idx {
		names[i], outs[i] = b.p.names[k], b.p.outputs[k]
	}
	b.p.names, b.p.outputs = names, outs
}

func (b *planBuilder) field(f model.Field) (int, error) {
	if i, ok := b.p.columns[f.Name]; ok {
		if i >= 0 {
			return 0, fmt.Errorf("request field %q is also a join key", f.Name)
		}
		return -i - 1, nil
	}
	i := len(b.p.fields)
	b.p.fields = append(b.p.fields, f2c(f))
	b.p.columns[f.Name] = -i - 1
	return i, nil
}

func f2c(f model.Field) planColumn { return planColumn{name: f.Name, typ: f.Type} }

// odfv adds an on-demand view: the inputs its expressions use are read
// (from views without alias) or taken from request fields, and its
// requested features become outputs.
func (b *planBuilder) odfv(o *model.OnDemandFeatureView, s selection, fullNames bool) error {
	snap := b.p.snap
	po := planODFV{view: o}
	// Inputs are named as transform.Compile expects: "view:feature" for
	// features, the bare name for request fields.
	var inputs []model.Field
	type source struct {
		fv    *model.FeatureView
		field model.Field
	}
	sources := map[string]source{}
	for _, src := range o.Sources {
		if src.Request != nil {
			for _, f := range src.Request.Schema {
				inputs = append(inputs, f)
				sources[f.Name] = source{field: f}
			}
			continue
		}
		fv, ok := snap.FeatureViews[src.FeatureView]
		if !ok {
			return fmt.Errorf("on demand feature view %s reads feature view %s, which is not in the registry", o.Name, src.FeatureView)
		}
		feats := src.Features
		if len(feats) == 0 {
			feats = fieldNames(fv.Features)
		}
		for _, f := range feats {
			fld, ok := fv.Feature(f)
			if !ok {
				return fmt.Errorf("on demand feature view %s reads %s:%s, which does not exist", o.Name, fv.Name, f)
			}
			name := fv.Name + ":" + f
			inputs = append(inputs, model.Field{Name: name, Type: fld.Type})
			sources[name] = source{fv: fv, field: fld}
		}
	}
	prog, err := transform.Compile(o, inputs)
	if err != nil {
		return fmt.Errorf("compile on demand feature view %s: %w", o.Name, err)
	}
	po.eval = prog
	for _, in := range prog.Inputs() {
		src := sources[in.Name]
		if src.fv == nil {
			fi, err := b.field(src.field)
			if err != nil {
				return fmt.Errorf("on demand feature view %s: %w", o.Name, err)
			}
			po.inputs = append(po.inputs, odfvInput{name: in.Name, view: -1, index: fi})
			continue
		}
		vi, err := b.view(src.fv, "", nil)
		if err != nil {
			return err
		}
		po.inputs = append(po.inputs, odfvInput{name: in.Name, view: vi, index: b.feature(vi, src.field.Name)})
	}
	oi := len(b.p.odfvs)
	b.p.odfvs = append(b.p.odfvs, po)
	feats := s.features
	if feats == nil {
		feats = fieldNames(o.Features)
	}
	for _, f := range feats {
		idx := -1
		for i, of := range o.Features {
			if of.Name == f {
				idx = i
			}
		}
		if idx < 0 {
			return &registry.NotFoundError{Kind: "feature", Name: o.Name + ":" + f, Project: snap.Project, Suggestions: config.Closest(o.Name+":"+f, snap.FeatureRefNames(), 3)}
		}
		if err := b.output(columnName(s.nameToUse(), f, fullNames), planOutput{view: -1, odfv: oi, index: idx}, o.Name+":"+f); err != nil {
			return err
		}
	}
	return nil
}

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
	for i, k := range p.keys {
		if !k.optional || keys[i] != nil {
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
		if k.optional && keys[i] == nil {
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
	res, err := r.Read(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("read online features: %w", err)
	}
	if len(res) != len(reqs) {
		return nil, fmt.Errorf("read online features: store returned %d results for %d views", len(res), len(reqs))
	}
	return res, nil
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
