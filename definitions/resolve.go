package definitions

import (
	"fmt"
	"maps"
	"slices"

	"github.com/feastgo/feast/model"
)

// byName indexes the parsed objects by name for resolving references.
type byName struct {
	entities map[string]*model.Entity
	sources  map[string]*model.DataSource
	views    map[string]*model.FeatureView
	odfvs    map[string]*model.OnDemandFeatureView
}

// resolve links the references recorded while parsing, once every file has
// been read. Problems are reported in this order: name clashes, data
// sources' batch sources, feature views, on demand feature views, feature
// services; all but the name clashes in definition order.
func (l *loader) resolve() {
	ix := l.index()
	l.checkNameClashes(ix)
	for _, r := range l.srcRefs {
		l.resolveBatchSource(ix, r)
	}
	for _, r := range l.fvRefs {
		l.resolveFeatureView(ix, r)
	}
	for _, r := range l.odfvRefs {
		l.resolveODFV(ix, r)
	}
	for _, r := range l.fsRefs {
		l.resolveFeatureService(ix, r)
	}
}

func (l *loader) index() byName {
	ix := byName{
		entities: map[string]*model.Entity{},
		sources:  map[string]*model.DataSource{},
		views:    map[string]*model.FeatureView{},
		odfvs:    map[string]*model.OnDemandFeatureView{},
	}
	for _, e := range l.repo.Entities {
		ix.entities[e.Name] = e
	}
	for _, s := range l.repo.DataSources {
		ix.sources[s.Name] = s
	}
	for _, fv := range l.repo.FeatureViews {
		ix.views[fv.Name] = fv
	}
	for _, o := range l.repo.OnDemandViews {
		ix.odfvs[o.Name] = o
	}
	return ix
}

// checkNameClashes reports on demand feature views named like a feature view.
func (l *loader) checkNameClashes(ix byName) {
	for name := range ix.views {
		if _, clash := ix.odfvs[name]; clash {
			p := l.pos["on demand feature view/"+name]
			l.add(p.file, p.line, objectLabel("on demand feature view", name), "name", "a feature view has the same name; feature references would be ambiguous")
		}
	}
}

// resolveBatchSource links a push source to its batch source.
func (l *loader) resolveBatchSource(ix byName, r srcRef) {
	obj := objectLabel("data source", r.src.Name)
	b, ok := ix.sources[r.batch.Value]
	switch {
	case !ok:
		l.add(r.at.file, r.batch.Line, obj, "batch_source", "data source %q is not defined%s", r.batch.Value, didYouMean(r.batch.Value, slices.Sorted(maps.Keys(ix.sources))))
	case b.Kind != model.SourceFile && b.Kind != model.SourcePostgres && b.Kind != model.SourceIceberg:
		l.add(r.at.file, r.batch.Line, obj, "batch_source", "%q is a %s source; a batch source must be a file, postgres or iceberg source", b.Name, b.Kind)
	default:
		r.src.BatchSource = b
	}
}

// resolveFeatureView fills a feature view's entities, features and sources.
func (l *loader) resolveFeatureView(ix byName, r fvRef) {
	obj := objectLabel("feature view", r.fv.Name)
	l.resolveFVEntities(ix, r, obj)
	l.splitFVSchema(r, obj)
	if r.source != nil {
		l.resolveFVSource(ix, r, obj)
	}
}

// resolveFVEntities sets the view's entities and their join key columns; a
// view without entities gets the dummy entity.
func (l *loader) resolveFVEntities(ix byName, r fvRef, obj string) {
	fv := r.fv
	for _, en := range r.entities {
		e, ok := ix.entities[en.Value]
		if !ok {
			l.add(r.at.file, en.Line, obj, "entities", "entity %q is not defined%s", en.Value, didYouMean(en.Value, slices.Sorted(maps.Keys(ix.entities))))
			continue
		}
		fv.Entities = append(fv.Entities, e.Name)
		fv.EntityColumns = append(fv.EntityColumns, model.Field{Name: e.JoinKey, Type: e.ValueType})
	}
	if len(r.entities) == 0 {
		fv.Entities = []string{model.DummyEntityName}
	}
}

// splitFVSchema makes every schema field that is not a join key a feature,
// checking the declared type of the join key columns.
func (l *loader) splitFVSchema(r fvRef, obj string) {
	fv := r.fv
	for _, sf := range r.schema {
		isKey := false
		for _, c := range fv.EntityColumns {
			if c.Name == sf.field.Name {
				isKey = true
				if sf.field.Type != model.Invalid && sf.field.Type != c.Type {
					l.add(r.at.file, sf.node.Line, obj, fmt.Sprintf("schema[%s].dtype", sf.field.Name),
						"join key column is declared %s but its entity's value_type is %s", model.DTypeName(sf.field.Type), c.Type)
				}
			}
		}
		if !isKey {
			fv.Features = append(fv.Features, sf.field)
		}
	}
}

// resolveFVSource sets the view's batch source and, for push and kafka
// sources, its stream source.
func (l *loader) resolveFVSource(ix byName, r fvRef, obj string) {
	fv := r.fv
	src, ok := ix.sources[r.source.Value]
	if !ok {
		l.add(r.at.file, r.source.Line, obj, "source", "data source %q is not defined%s", r.source.Value, didYouMean(r.source.Value, slices.Sorted(maps.Keys(ix.sources))))
		return
	}
	switch src.Kind {
	case model.SourceFile, model.SourcePostgres, model.SourceIceberg:
		fv.Source = src
	case model.SourcePush:
		fv.StreamSource, fv.Source = src, src.BatchSource
	case model.SourceKafka:
		fv.StreamSource, fv.Source, fv.IsStream = src, src.BatchSource, true
	case model.SourceRequest:
		l.add(r.at.file, r.source.Line, obj, "source", "%q is a request source; request sources feed on demand feature views only", src.Name)
	}
	if fv.Source != nil {
		for _, c := range fv.EntityColumns {
			if fv.Source.TimestampField != "" && fv.Source.ColumnFor(c.Name) == fv.Source.TimestampField {
				l.add(r.at.file, r.source.Line, obj, "source", "join key %q maps to the timestamp field", c.Name)
			}
		}
	}
}

// resolveODFV links an on demand feature view's sources and, when every
// source resolved, runs the expression checker.
func (l *loader) resolveODFV(ix byName, r odfvRef) {
	o := r.odfv
	obj := objectLabel("on demand feature view", o.Name)
	for _, sn := range r.sources {
		if fv, ok := ix.views[sn.Value]; ok {
			o.Sources = append(o.Sources, model.ODFVSource{FeatureView: fv.Name})
			continue
		}
		if s, ok := ix.sources[sn.Value]; ok && s.Kind == model.SourceRequest {
			o.Sources = append(o.Sources, model.ODFVSource{Request: s})
			continue
		}
		l.add(r.at.file, sn.Line, obj, "sources", "%q is neither a feature view nor a request source%s", sn.Value, didYouMean(sn.Value, ix.odfvSourceNames()))
	}
	inputs := o.Inputs(func(n string) *model.FeatureView { return ix.views[n] })
	if l.opts.CheckODFV != nil && len(o.Sources) == len(r.sources) && len(r.sources) > 0 {
		if err := l.opts.CheckODFV(o, inputs); err != nil {
			l.add(r.at.file, r.at.line, obj, "schema", "%v", err)
		}
	}
}

// odfvSourceNames lists what an on demand feature view may read: feature
// views (sorted), then request sources.
func (ix byName) odfvSourceNames() []string {
	candidates := slices.Sorted(maps.Keys(ix.views))
	for n, s := range ix.sources {
		if s.Kind == model.SourceRequest {
			candidates = append(candidates, n)
		}
	}
	return candidates
}

// resolveFeatureService builds a feature service's projections.
func (l *loader) resolveFeatureService(ix byName, r fsRef) {
	obj := objectLabel("feature service", r.fs.Name)
	for i, it := range r.items {
		field := fmt.Sprintf("features[%d]", i)
		var available []model.Field
		if fv, ok := ix.views[it.view]; ok {
			available = fv.Features
		} else if o, ok := ix.odfvs[it.view]; ok {
			available = o.Features
		} else {
			all := append(slices.Sorted(maps.Keys(ix.views)), slices.Sorted(maps.Keys(ix.odfvs))...)
			l.add(r.at.file, it.node.Line, obj, field, "feature view %q is not defined%s", it.view, didYouMean(it.view, all))
			continue
		}
		r.fs.Projections = append(r.fs.Projections, l.project(r, it, obj, field, available))
	}
}

// project selects an item's features from those its view offers (all of
// them when the item names none).
func (l *loader) project(r fsRef, it fsItem, obj, field string, available []model.Field) model.Projection {
	proj := model.Projection{View: it.view, Alias: it.alias, JoinKeyMap: it.jkm}
	for _, fn := range it.features {
		found := false
		for _, f := range available {
			if f.Name == fn {
				proj.Features = append(proj.Features, projectedField(f))
				found = true
			}
		}
		if !found {
			names := make([]string, len(available))
			for j, f := range available {
				names[j] = f.Name
			}
			l.add(r.at.file, it.node.Line, obj, field, "feature %q is not in %q%s", fn, it.view, didYouMean(fn, names))
		}
	}
	if len(it.features) == 0 {
		for _, f := range available {
			proj.Features = append(proj.Features, projectedField(f))
		}
	}
	return proj
}

// projectedField is the part of a view's field a projection keeps.
func projectedField(f model.Field) model.Field {
	return model.Field{Name: f.Name, Type: f.Type, Description: f.Description, Tags: f.Tags}
}
