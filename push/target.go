package push

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/transform"
)

// target is the compiled destination of a push: the views written
// online, the batch sources appended to and the accepted columns.
type target struct {
	name    string // push source or view, for errors and metrics
	project string
	snap    *registry.Snapshot
	ts      string
	created string
	// mapping maps source column names (field mapping keys) to canonical names.
	mapping map[string]string
	cols    map[string]colSpec
	// order is the canonical column order: join keys, timestamp, created,
	// features, request fields.
	order        []string
	writes       []viewWrite
	batchSources []*model.DataSource
	// access are the objects a write acts on, for permission checks: the
	// feature views fed by a push source (as Feast's feature server
	// checks), or the one view (or on-demand view) written.
	access []permissions.Resource
}

type colSpec struct {
	field    model.Field
	role     ColumnRole
	required bool
}

// viewWrite is one online write: a feature view, or an on-demand view
// (then prg computes its features from the pushed columns).
type viewWrite struct {
	view     *model.FeatureView
	features []string
	prg      *transform.Program
	// inputs maps the program's input names to canonical columns.
	inputs map[string]string
}

func (t *target) add(f model.Field, role ColumnRole, required bool) error {
	if c, ok := t.cols[f.Name]; ok {
		if c.role != role && !(c.role == RoleFeature && role == RoleRequest) {
			return fmt.Errorf("column %s is both a %s and a %s", f.Name, roleName(c.role), roleName(role))
		}
		if c.field.Type != f.Type && role != RoleTimestamp && role != RoleCreatedTimestamp {
			return fmt.Errorf("column %s has type %s in one view and %s in another", f.Name, c.field.Type, f.Type)
		}
		if required && !c.required {
			c.required = true
			t.cols[f.Name] = c
		}
		return nil
	}
	t.cols[f.Name] = colSpec{field: f, role: role, required: required}
	t.order = append(t.order, f.Name)
	return nil
}

func roleName(r ColumnRole) string {
	switch r {
	case RoleJoinKey:
		return "join key"
	case RoleTimestamp:
		return "event timestamp"
	case RoleCreatedTimestamp:
		return "created timestamp"
	case RoleFeature:
		return "feature"
	case RoleRequest:
		return "request field"
	}
	return "column"
}

// pushSourceTarget compiles the target of a push source (or, for streams,
// a kafka source).
func pushSourceTarget(snap *registry.Snapshot, name string, stream bool, only []string) (*target, error) {
	src, known := snap.DataSources[name]
	var views []*model.FeatureView
	for _, vn := range snap.FeatureViewNames() {
		fv := snap.FeatureViews[vn]
		if fv.StreamSource == nil || fv.StreamSource.Name != name {
			continue
		}
		if !known {
			src = fv.StreamSource
		}
		if len(only) > 0 && !slices.Contains(only, vn) {
			continue
		}
		views = append(views, fv)
	}
	nf := &SourceNotFoundError{Name: name, Project: snap.Project}
	if src == nil {
		var names []string
		for n, s := range snap.DataSources {
			if s.Kind == model.SourcePush || stream && s.Kind == model.SourceKafka {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		nf.Suggestions = config.Closest(name, names, 3)
		return nil, nf
	}
	if src.Kind != model.SourcePush && !(stream && src.Kind == model.SourceKafka) {
		nf.Reason = fmt.Sprintf("is a %s source; only push sources accept pushes", src.Kind)
		return nil, nf
	}
	if len(views) == 0 {
		nf.Reason = "feeds no feature view"
		if len(only) > 0 {
			nf.Reason = "feeds none of the feature views " + strings.Join(only, ", ")
		}
		return nil, nf
	}
	t := &target{name: name, mapping: map[string]string{}, cols: map[string]colSpec{}}
	batch := src.BatchSource
	t.ts = firstNonEmpty(src.TimestampField, tsField(batch), offline.EventTimestampColumn)
	t.created = firstNonEmpty(src.CreatedTimestampColumn, createdField(batch))
	mapping := src.FieldMapping
	if len(mapping) == 0 && batch != nil {
		mapping = batch.FieldMapping
	}
	for from, to := range mapping {
		t.mapping[from] = to
	}
	if batch != nil {
		t.batchSources = []*model.DataSource{batch}
	}
	if err := t.addViews(views); err != nil {
		return nil, &InvalidError{Source: name, Row: -1, Reason: err.Error()}
	}
	if err := t.addODFVs(snap, views); err != nil {
		return nil, err
	}
	for _, fv := range views {
		t.access = append(t.access, permissions.FeatureView(fv))
	}
	return t, nil
}

func (t *target) addViews(views []*model.FeatureView) error {
	for _, fv := range views {
		for _, k := range fv.EntityColumns {
			if err := t.add(k, RoleJoinKey, true); err != nil {
				return err
			}
		}
	}
	if err := t.add(model.Field{Name: t.ts, Type: model.UnixTimestamp}, RoleTimestamp, true); err != nil {
		return err
	}
	if t.created != "" {
		if err := t.add(model.Field{Name: t.created, Type: model.UnixTimestamp}, RoleCreatedTimestamp, false); err != nil {
			return err
		}
	}
	for _, fv := range views {
		for _, f := range fv.Features {
			if err := t.add(f, RoleFeature, true); err != nil {
				return err
			}
		}
		t.writes = append(t.writes, viewWrite{view: fv, features: featureNames(fv.Features)})
	}
	return nil
}

// addODFVs adds the on-demand views with write_to_online_store whose
// feature-view sources are all among views.
func (t *target) addODFVs(snap *registry.Snapshot, views []*model.FeatureView) error {
	fed := map[string]*model.FeatureView{}
	for _, fv := range views {
		fed[fv.Name] = fv
	}
	for _, n := range slices.Sorted(maps.Keys(snap.OnDemandViews)) {
		o := snap.OnDemandViews[n]
		if !o.WriteToOnlineStore {
			continue
		}
		var first *model.FeatureView
		all := true
		for _, s := range o.Sources {
			if s.Request != nil {
				continue
			}
			fv, ok := fed[s.FeatureView]
			if !ok {
				all = false
				break
			}
			if first == nil {
				first = fv
			}
		}
		if !all || first == nil {
			continue
		}
		w, err := t.odfvWrite(snap, o)
		if err != nil {
			return err
		}
		t.writes = append(t.writes, w)
	}
	return nil
}

// odfvWrite compiles an on-demand view written on push. It is stored like
// a feature view named after it (model.OnDemandFeatureView.StoredView).
func (t *target) odfvWrite(snap *registry.Snapshot, o *model.OnDemandFeatureView) (viewWrite, error) {
	inputs := o.Inputs(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
	prg, err := transform.Compile(o, inputs)
	if err != nil {
		return viewWrite{}, fmt.Errorf("push to %s: on demand view %s: %w", t.name, o.Name, err)
	}
	stored, _ := o.StoredView(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
	if stored == nil {
		return viewWrite{}, fmt.Errorf("push to %s: on demand view %s has no feature view source to key it", t.name, o.Name)
	}
	w := viewWrite{
		view:     stored,
		features: featureNames(o.Features),
		prg:      prg,
		inputs:   map[string]string{},
	}
	for _, in := range prg.Inputs() {
		col := in.Name
		if _, f, ok := strings.Cut(in.Name, ":"); ok {
			col = f
		} else if err := t.add(in, RoleRequest, true); err != nil {
			return viewWrite{}, &InvalidError{Source: t.name, Row: -1, Reason: fmt.Sprintf("on demand view %s: %v", o.Name, err)}
		}
		w.inputs[in.Name] = col
	}
	return w, nil
}

// viewTarget compiles a write to the online store of one view.
func viewTarget(snap *registry.Snapshot, name string, raw bool) (*target, error) {
	t := &target{name: name, mapping: map[string]string{}, cols: map[string]colSpec{}}
	if fv, ok := snap.FeatureViews[name]; ok {
		t.access = []permissions.Resource{permissions.FeatureView(fv)}
		var src *model.DataSource
		if fv.StreamSource != nil {
			src = fv.StreamSource
		} else {
			src = fv.Source
		}
		t.ts = firstNonEmpty(tsField(src), tsField(fv.Source), offline.EventTimestampColumn)
		t.created = firstNonEmpty(createdField(src), createdField(fv.Source))
		if src != nil {
			for from, to := range src.FieldMapping {
				t.mapping[from] = to
			}
		}
		if err := t.addViews([]*model.FeatureView{fv}); err != nil {
			return nil, &InvalidError{Source: name, Row: -1, Reason: err.Error()}
		}
		return t, nil
	}
	o, ok := snap.OnDemandViews[name]
	if !ok {
		names := snap.FeatureViewNames()
		for n := range snap.OnDemandViews {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, &registry.NotFoundError{Kind: "feature view", Name: name, Project: snap.Project, Suggestions: config.Closest(name, names, 3)}
	}
	t.access = []permissions.Resource{permissions.OnDemandView(o)}
	if !o.WriteToOnlineStore {
		return nil, &InvalidError{Source: name, Row: -1, Reason: "on demand view is computed at read time; set write_to_online_store: true to write it"}
	}
	var keys *model.FeatureView
	for _, s := range o.Sources {
		if s.Request == nil {
			keys = snap.FeatureViews[s.FeatureView]
			break
		}
	}
	if keys == nil {
		return nil, &InvalidError{Source: name, Row: -1, Reason: "on demand view has no feature view source to take its entities from"}
	}
	t.ts = firstNonEmpty(tsField(keys.StreamSource), tsField(keys.Source), offline.EventTimestampColumn)
	for _, k := range keys.EntityColumns {
		if err := t.add(k, RoleJoinKey, true); err != nil {
			return nil, err
		}
	}
	if err := t.add(model.Field{Name: t.ts, Type: model.UnixTimestamp}, RoleTimestamp, true); err != nil {
		return nil, err
	}
	if raw {
		stored, _ := o.StoredView(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
		w := viewWrite{
			view:     stored,
			features: featureNames(o.Features),
		}
		for _, f := range o.Features {
			if err := t.add(model.Field{Name: f.Name, Type: f.Type}, RoleFeature, true); err != nil {
				return nil, err
			}
		}
		t.writes = append(t.writes, w)
		return t, nil
	}
	w, err := t.odfvWrite(snap, o)
	if err != nil {
		return nil, err
	}
	// The inputs of the transformation are the columns written.
	for in, col := range w.inputs {
		if _, ok := t.cols[col]; ok {
			continue
		}
		f := model.Field{Name: col}
		for _, pf := range w.prg.Inputs() {
			if pf.Name == in {
				f.Type = pf.Type
			}
		}
		if err := t.add(f, RoleFeature, true); err != nil {
			return nil, err
		}
	}
	t.writes = append(t.writes, w)
	return t, nil
}

func featureNames(fs []model.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func tsField(s *model.DataSource) string {
	if s == nil {
		return ""
	}
	return s.TimestampField
}

func createdField(s *model.DataSource) string {
	if s == nil {
		return ""
	}
	return s.CreatedTimestampColumn
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}
