package feast

// Resolving a feature selection into an OnlinePlan, and the per-snapshot
// plan cache.

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/transform"
)

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
	// access are the objects a read acts on, for permission checks.
	access []permissions.Resource
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

// AccessResources are the objects a read with this plan acts on, as Feast's
// feature server checks READ_ONLINE: the feature service when the request
// named one, else every feature view (including the inputs of on-demand
// views) and on-demand view it reads. The slice is shared: do not modify.
func (p *OnlinePlan) AccessResources() []permissions.Resource { return p.access }

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
	if service != "" {
		b.p.access = []permissions.Resource{permissions.FeatureService(snap.FeatureServices[service])}
	} else {
		for _, v := range b.p.views {
			r := permissions.FeatureView(v.fv)
			if o := snap.OnDemandViews[v.fv.Name]; o != nil && snap.FeatureViews[v.fv.Name] == nil {
				r = permissions.OnDemandView(o) // written to the online store, read as a view
			}
			b.p.access = append(b.p.access, r)
		}
		for _, o := range b.p.odfvs {
			b.p.access = append(b.p.access, permissions.OnDemandView(o.view))
		}
	}
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
