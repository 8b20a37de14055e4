package definitions

import (
	"fmt"
	"sort"

	"github.com/feastgo/feast/model"
)

func (l *loader) resolve() {
	entities := map[string]*model.Entity{}
	for _, e := range l.repo.Entities {
		entities[e.Name] = e
	}
	sources := map[string]*model.DataSource{}
	for _, s := range l.repo.DataSources {
		sources[s.Name] = s
	}
	views := map[string]*model.FeatureView{}
	for _, fv := range l.repo.FeatureViews {
		views[fv.Name] = fv
	}
	odfvs := map[string]*model.OnDemandFeatureView{}
	for _, o := range l.repo.OnDemandViews {
		odfvs[o.Name] = o
	}
	for name := range views {
		if _, clash := odfvs[name]; clash {
			p := l.pos["on demand feature view/"+name]
			l.add(p.file, p.line, objectLabel("on demand feature view", name), "name", "a feature view has the same name; feature references would be ambiguous")
		}
	}

	for _, r := range l.srcRefs {
		obj := objectLabel("data source", r.src.Name)
		b, ok := sources[r.batch.Value]
		switch {
		case !ok:
			l.add(r.at.file, r.batch.Line, obj, "batch_source", "data source %q is not defined%s", r.batch.Value, didYouMean(r.batch.Value, keys(sources)))
		case b.Kind != model.SourceFile && b.Kind != model.SourcePostgres:
			l.add(r.at.file, r.batch.Line, obj, "batch_source", "%q is a %s source; a batch source must be a file or postgres source", b.Name, b.Kind)
		default:
			r.src.BatchSource = b
		}
	}

	for _, r := range l.fvRefs {
		fv := r.fv
		obj := objectLabel("feature view", fv.Name)
		for _, en := range r.entities {
			e, ok := entities[en.Value]
			if !ok {
				l.add(r.at.file, en.Line, obj, "entities", "entity %q is not defined%s", en.Value, didYouMean(en.Value, keys(entities)))
				continue
			}
			fv.Entities = append(fv.Entities, e.Name)
			fv.EntityColumns = append(fv.EntityColumns, model.Field{Name: e.JoinKey, Type: e.ValueType})
		}
		if len(r.entities) == 0 {
			fv.Entities = []string{model.DummyEntityName}
		}
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
		if r.source == nil {
			continue
		}
		src, ok := sources[r.source.Value]
		if !ok {
			l.add(r.at.file, r.source.Line, obj, "source", "data source %q is not defined%s", r.source.Value, didYouMean(r.source.Value, keys(sources)))
			continue
		}
		switch src.Kind {
		case model.SourceFile, model.SourcePostgres:
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

	for _, r := range l.odfvRefs {
		o := r.odfv
		obj := objectLabel("on demand feature view", o.Name)
		for _, sn := range r.sources {
			if fv, ok := views[sn.Value]; ok {
				o.Sources = append(o.Sources, model.ODFVSource{FeatureView: fv.Name})
				continue
			}
			if s, ok := sources[sn.Value]; ok && s.Kind == model.SourceRequest {
				o.Sources = append(o.Sources, model.ODFVSource{Request: s})
				continue
			}
			candidates := keys(views)
			for n, s := range sources {
				if s.Kind == model.SourceRequest {
					candidates = append(candidates, n)
				}
			}
			l.add(r.at.file, sn.Line, obj, "sources", "%q is neither a feature view nor a request source%s", sn.Value, didYouMean(sn.Value, candidates))
		}
		inputs := o.Inputs(func(n string) *model.FeatureView { return views[n] })
		if l.opts.CheckODFV != nil && len(o.Sources) == len(r.sources) && len(r.sources) > 0 {
			if err := l.opts.CheckODFV(o, inputs); err != nil {
				l.add(r.at.file, r.at.line, obj, "schema", "%v", err)
			}
		}
	}

	for _, r := range l.fsRefs {
		obj := objectLabel("feature service", r.fs.Name)
		for i, it := range r.items {
			field := fmt.Sprintf("features[%d]", i)
			var available []model.Field
			if fv, ok := views[it.view]; ok {
				available = fv.Features
			} else if o, ok := odfvs[it.view]; ok {
				available = o.Features
			} else {
				all := append(keys(views), keys(odfvs)...)
				l.add(r.at.file, it.node.Line, obj, field, "feature view %q is not defined%s", it.view, didYouMean(it.view, all))
				continue
			}
			proj := model.Projection{View: it.view, Alias: it.alias, JoinKeyMap: it.jkm}
			for _, fn := range it.features {
				found := false
				for _, f := range available {
					if f.Name == fn {
						proj.Features = append(proj.Features, model.Field{Name: f.Name, Type: f.Type, Description: f.Description, Tags: f.Tags})
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
					proj.Features = append(proj.Features, model.Field{Name: f.Name, Type: f.Type, Description: f.Description, Tags: f.Tags})
				}
			}
			r.fs.Projections = append(r.fs.Projections, proj)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
