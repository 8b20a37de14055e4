package definitions

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
)

// PythonSource is one Python definition file to import.
type PythonSource struct {
	// Path names the file in reports (as the user gave it).
	Path string
	Data []byte
}

// PythonImport is Python definitions converted to YAML definitions.
type PythonImport struct {
	*Export
	// Sources are the files read, as given.
	Sources []string
}

// Files renders the definitions like Export.Files, with a header saying
// they come from Python files.
func (p *PythonImport) Files(layout Layout) map[string][]byte {
	files := p.Export.Files(layout)
	old := fmt.Sprintf("# Written by `feast import` from the registry of project %q.\n", p.Project)
	header := fmt.Sprintf("# Written by `feast import` from Python definitions (%s), read without running them.\n", strings.Join(p.Sources, ", "))
	for n, data := range files {
		if s := string(data); strings.HasPrefix(s, old) {
			files[n] = []byte(header + s[len(old):])
		}
	}
	return files
}

// FromPython reads Feast Python definition files statically (nothing is
// executed; no Python or Feast installation is needed) and converts the
// objects they define to definitions, as FromRegistry does for a registry.
// The files are one namespace: a name defined in one may be used in
// another. Anything the reader does not understand (a call it does not
// know, a comprehension, an f-string, a name it cannot resolve, a
// statement other than an assignment) is listed in Gaps with its file and
// line, never dropped silently. project names the project in the
// intermediate registry (the definitions themselves hold no project).
func FromPython(srcs []PythonSource, project string) *PythonImport {
	im := &pyImporter{project: project, memo: map[*pyNode]pyVal{}, failed: map[*pyNode]*pyErr{}, busy: map[*pyNode]bool{}, odfvOf: map[*pyStmt]*pyObj{},
		varOf: map[*pyNode]string{}, unnamedGaps: map[int]*pyObj{}}
	var names []string
	for _, s := range srcs {
		names = append(names, s.Path)
		mod := &pyModule{file: s.Path, base: strings.TrimSuffix(path.Base(strings.ReplaceAll(s.Path, "\\", "/")), ".py"),
			imports: map[string]string{}, assigns: map[string][]*pyStmt{}}
		stmts, err := pyParseModule(string(s.Data))
		if err == nil && !utf8.Valid(s.Data) {
			err = fmt.Errorf("it is not UTF-8 text")
		}
		if err != nil {
			im.loose(s.Path, 0, "the file is not read: "+err.Error(), "fix the syntax, or define its objects by hand")
			continue
		}
		mod.stmts = stmts
		for i := range mod.stmts {
			st := &mod.stmts[i]
			for k, v := range st.imports {
				mod.imports[k] = v
			}
			for _, t := range st.targets {
				mod.assigns[t] = append(mod.assigns[t], st)
			}
			if len(st.targets) > 0 && st.value != nil {
				im.varOf[st.value] = st.targets[0]
			}
			if st.def != "" {
				mod.assigns[st.def] = append(mod.assigns[st.def], st)
			}
		}
		im.mods = append(im.mods, mod)
	}
	for _, mod := range im.mods {
		for i := range mod.stmts {
			im.statement(mod, &mod.stmts[i])
		}
	}
	reg := im.finish()
	exp := FromRegistry(reg, project)
	gaps := exp.Gaps()
	for i := range gaps {
		// The UDF text comes from the file, not from a registry.
		gaps[i].Detail = strings.Replace(gaps[i].Detail, "UDF source from the registry:", "UDF source (Python):", 1)
		// What the conversion leaves out is named with where it is defined.
		if o := im.defined(gaps[i].Kind, gaps[i].Name); o != nil && !strings.Contains(gaps[i].Reason, o.file+":") {
			gaps[i].Reason += fmt.Sprintf(" (%s:%d)", o.file, o.line)
		}
	}
	// An object not written is listed once, with why.
	dropped := map[string]bool{}
	for _, g := range append(append([]Gap(nil), gaps...), im.gaps...) {
		if g.Dropped {
			dropped[g.Kind+"/"+g.Name] = true
		}
	}
	for _, g := range im.gaps {
		if g.Kind != "" && !g.Dropped && dropped[g.Kind+"/"+g.Name] {
			continue
		}
		exp.AddGap(g)
	}
	return &PythonImport{Export: exp, Sources: names}
}

type pyModule struct {
	file    string
	base    string
	stmts   []pyStmt
	imports map[string]string
	assigns map[string][]*pyStmt
}

type pyImporter struct {
	project string
	mods    []*pyModule
	memo    map[*pyNode]pyVal
	failed  map[*pyNode]*pyErr
	busy    map[*pyNode]bool
	odfvOf  map[*pyStmt]*pyObj
	objects []*pyObj
	gaps    []Gap
	// varOf names the variable a module-level value is assigned to.
	varOf map[*pyNode]string
	// unnamedGaps are the gaps of objects named only in finish (unnamed
	// file sources), by index in gaps.
	unnamedGaps map[int]*pyObj
}

// printable replaces control characters, which the written files'
// comments cannot hold.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			return '?'
		}
		return r
	}, s)
}

func (im *pyImporter) loose(file string, line int, reason, hint string) {
	name := file
	if line > 0 {
		name = fmt.Sprintf("%s:%d", file, line)
	}
	im.gaps = append(im.gaps, Gap{Name: printable(name), Reason: printable(reason), Hint: printable(hint)})
}

func (im *pyImporter) objGap(o *pyObj, dropped bool, reason, hint string) {
	if dropped {
		o.dropped = true
	}
	if o.name == "" && o.unnamed {
		im.unnamedGaps[len(im.gaps)] = o
	}
	im.gaps = append(im.gaps, Gap{Kind: o.kind, Name: o.name, Dropped: dropped, Reason: printable(reason), Hint: printable(hint)})
}

func (im *pyImporter) statement(mod *pyModule, st *pyStmt) {
	switch {
	case st.skipped != "":
		im.loose(mod.file, st.line, st.skipped, "define what it builds by hand if it builds Feast objects")
	case st.def != "":
		if len(st.decorators) > 0 {
			im.defValue(mod, st)
		}
	case len(st.targets) > 0:
		v, err := im.evalAssign(mod, st)
		if err != nil {
			im.loose(mod.file, err.line, fmt.Sprintf("`%s = ...` is not read: %s", strings.Join(st.targets, " = "), err.msg),
				"define what it builds by hand")
			return
		}
		_ = v
	case st.value != nil:
		if st.value.kind == pnCall {
			im.loose(mod.file, st.line, fmt.Sprintf("expression `%s` is not assigned to a name and is not read", clip(exprText(mod, st.value))),
				"Feast registers objects assigned to module-level names only")
		}
	}
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func exprText(_ *pyModule, n *pyNode) string { return n.srcText }

func (im *pyImporter) evalAssign(mod *pyModule, st *pyStmt) (pyVal, *pyErr) {
	return im.eval(mod, st.value)
}

// defValue reads a decorated function: @on_demand_feature_view makes an
// on demand feature view whose transformation is the function's Python
// source (not convertible; listed with a CEL skeleton). Other decorators
// are listed.
func (im *pyImporter) defValue(mod *pyModule, st *pyStmt) (pyVal, *pyErr) {
	if o, ok := im.odfvOf[st]; ok {
		if o == nil {
			return nil, &pyErr{st.line, fmt.Sprintf("function %s is not a Feast object", st.def)}
		}
		return o, nil
	}
	for _, d := range st.decorators {
		callee := d
		if d.kind == pnCall {
			callee = d.x
		}
		cv, err := im.eval(mod, callee)
		if err != nil || cv != pyFeast("on_demand_feature_view") {
			continue
		}
		o := im.onDemandView(mod, st, d)
		im.odfvOf[st] = o
		return o, nil
	}
	im.odfvOf[st] = nil
	im.loose(mod.file, st.line, fmt.Sprintf("function %s has decorators other than @on_demand_feature_view and is not read", st.def),
		"define what it builds by hand if it builds Feast objects")
	return nil, &pyErr{st.line, fmt.Sprintf("function %s is not a Feast object", st.def)}
}

// finish resolves what needs every object (entity value types, view
// entity columns, projections' features) and builds the registry.
func (im *pyImporter) finish() *core.Registry {
	im.nameUnnamedSources()
	im.dropDuplicates()
	entityByName := map[string]*pyObj{}
	for _, o := range im.objects {
		if o.kind == kindEntity && !o.dropped {
			entityByName[o.name] = o
		}
	}
	im.resolveViewEntities(entityByName)
	im.defaultEntityTypes()
	reg := &core.Registry{}
	for _, o := range im.objects {
		if o.dropped {
			continue
		}
		switch o.kind {
		case kindEntity:
			reg.Entities = append(reg.Entities, o.entity.ToProto(im.project))
		case kindSource:
			reg.DataSources = append(reg.DataSources, o.source.ToProto(im.project))
		}
	}
	views := im.addViews(reg, entityByName)
	im.addOnDemandViews(reg, views)
	im.addServices(reg)
	return reg
}

// dropDuplicates drops the second object of a kind and name: Feast
// refuses them; the first is kept.
func (im *pyImporter) dropDuplicates() {
	seen := map[string]*pyObj{}
	for _, o := range im.objects {
		if o.dropped {
			continue
		}
		key := o.kind + "/" + o.name
		if prev, dup := seen[key]; dup && prev != o {
			im.objGap(o, true, fmt.Sprintf("is defined twice (%s:%d and %s:%d); the second is not written", prev.file, prev.line, o.file, o.line), "give each object its own name")
			continue
		}
		seen[key] = o
	}
}

// resolveViewEntities names each view's entities (objects or names) and
// types an untyped entity after the view schema's column of its join key.
// A view without entities gets the dummy entity.
func (im *pyImporter) resolveViewEntities(entityByName map[string]*pyObj) {
	for _, o := range im.objects {
		if o.kind != kindView || o.dropped {
			continue
		}
		for _, ev := range o.ents {
			var e *pyObj
			switch x := ev.(type) {
			case *pyObj:
				if x.kind == kindEntity {
					e = x
				}
			case string:
				e = entityByName[x]
			}
			if e == nil || e.dropped {
				im.objGap(o, true, fmt.Sprintf("an entity it lists is not carried over (%s:%d)", o.file, o.line), "carry that over first, then define this by hand")
				break
			}
			o.view.Entities = append(o.view.Entities, e.name)
			if !e.typed {
				im.inferEntityType(e, o)
			}
		}
		if len(o.view.Entities) == 0 {
			o.view.Entities = []string{model.DummyEntityName}
		}
	}
}

// inferEntityType types entity e after the column of its join key in
// view o's schema, if there is one, and lists the choice.
func (im *pyImporter) inferEntityType(e, o *pyObj) {
	for _, f := range o.view.Features {
		if f.Name == e.entity.JoinKey && model.IsValidEntityKeyType(f.Type) {
			e.entity.ValueType, e.typed = f.Type, true
			im.objGap(e, false, fmt.Sprintf("no value_type given (%s:%d); written as %s, the type of %s in feature view %s", e.file, e.line, f.Type, f.Name, o.name),
				"check it; apply records the value type")
		}
	}
}

// defaultEntityTypes types the entities still untyped as INT64 and lists
// each.
func (im *pyImporter) defaultEntityTypes() {
	for _, o := range im.objects {
		if o.kind == kindEntity && !o.dropped && !o.typed {
			o.entity.ValueType, o.typed = model.Int64, true
			im.objGap(o, false, fmt.Sprintf("no value_type given and no feature view schema declares %s (%s:%d); written as INT64", o.entity.JoinKey, o.file, o.line),
				"check it (Python Feast infers it from the data): set value_type: to the join key's type")
		}
	}
}

// addViews adds the feature views and stream feature views to reg: the
// columns of their entities' join keys move from the features to the
// entity columns. It returns the views by name.
func (im *pyImporter) addViews(reg *core.Registry, entityByName map[string]*pyObj) map[string]*pyObj {
	views := map[string]*pyObj{}
	for _, o := range im.objects {
		if o.kind != kindView || o.dropped {
			continue
		}
		fv := o.view
		var feats []model.Field
		for _, f := range fv.Features {
			key := false
			for _, en := range fv.Entities {
				if e := entityByName[en]; e != nil && e.entity.JoinKey == f.Name {
					key = true
				}
			}
			if !key {
				feats = append(feats, f)
			}
		}
		fv.Features = feats
		for _, en := range fv.Entities {
			if e := entityByName[en]; e != nil {
				fv.EntityColumns = append(fv.EntityColumns, model.Field{Name: e.entity.JoinKey, Type: e.entity.ValueType})
			}
		}
		views[o.name] = o
		if fv.IsStream {
			reg.StreamFeatureViews = append(reg.StreamFeatureViews, fv.ToStreamProto(im.project))
		} else {
			reg.FeatureViews = append(reg.FeatureViews, fv.ToProto(im.project))
		}
	}
	return views
}

// addOnDemandViews adds the on demand feature views to reg, their view
// sources projecting every feature of the view.
func (im *pyImporter) addOnDemandViews(reg *core.Registry, views map[string]*pyObj) {
	for _, o := range im.objects {
		if o.kind != kindODFV || o.dropped {
			continue
		}
		for name, src := range o.odfv.Spec.Sources {
			if p := src.GetFeatureViewProjection(); p != nil {
				if v := views[name]; v != nil {
					for _, f := range v.view.Features {
						p.FeatureColumns = append(p.FeatureColumns, model.FieldToProto(f))
					}
				}
			}
		}
		reg.OnDemandFeatureViews = append(reg.OnDemandFeatureViews, o.odfv)
	}
}

// addServices adds the feature services to reg.
func (im *pyImporter) addServices(reg *core.Registry) {
	for _, o := range im.objects {
		if o.kind != kindService || o.dropped {
			continue
		}
		for _, p := range o.projs {
			o.service.Projections = append(o.service.Projections, im.serviceProjection(o, p))
		}
		reg.FeatureServices = append(reg.FeatureServices, o.service.ToProto(im.project))
	}
}

// serviceProjection is projection p of service o: the features it selects
// (all of the view's when it names none). A selected feature the view
// does not have is left out and listed.
func (im *pyImporter) serviceProjection(o *pyObj, p pyProjection) model.Projection {
	var all []model.Field
	if p.obj.kind == kindView {
		all = p.obj.view.Features
	} else if p.obj.odfv != nil {
		for _, f := range p.obj.odfv.Spec.Features {
			all = append(all, model.FieldFromProto(f))
		}
	}
	var sel []model.Field
	for _, f := range all {
		if len(p.features) == 0 || slices.Contains(p.features, f.Name) {
			sel = append(sel, f)
		}
	}
	for _, want := range p.features {
		found := false
		for _, f := range all {
			found = found || f.Name == want
		}
		if !found && p.obj.kind == kindView {
			im.objGap(o, false, fmt.Sprintf("feature %s is not in %s (%s:%d); left out", want, objectLabel(p.obj.kind, p.obj.name), o.file, o.line), "check the feature names")
		}
	}
	return model.Projection{View: p.obj.name, Alias: p.alias, Features: sel, JoinKeyMap: p.jkm}
}

// nameUnnamedSources names each FileSource defined without a name. Feast
// names such a source after its path, which is not a valid name in YAML
// definitions (it holds / and .), so it is named after the variable it is
// assigned to, else after the object using it (<view>_source,
// <push source>_batch), else after its file's stem; a number is added if
// the name is taken. Each choice is listed as a note.
func (im *pyImporter) nameUnnamedSources() {
	taken := map[string]bool{}
	for _, o := range im.objects {
		if o.kind == kindSource && !o.unnamed {
			taken[o.name] = true
		}
	}
	for _, o := range im.objects {
		if o.kind != kindSource || !o.unnamed {
			continue
		}
		base, why := o.varName, "the variable it is assigned to"
		if base == "" {
			for _, u := range im.objects {
				switch {
				case u.kind == kindSource && u.source != nil && u.source.BatchSource == o.source && !u.unnamed:
					base, why = u.name+"_batch", "the batch source of "+objectLabel(u.kind, u.name)
				case u.kind == kindView && u.view != nil && u.view.Source == o.source && u.view.StreamSource == nil:
					base, why = u.name+"_source", "the source of "+objectLabel(u.kind, u.name)
				}
				if base != "" {
					break
				}
			}
		}
		if base == "" {
			stem := path.Base(strings.ReplaceAll(o.source.Path, "\\", "/"))
			if i := strings.Index(stem, "."); i > 0 {
				stem = stem[:i]
			}
			base, why = stem, "its file"
		}
		base = sanitizeName(base)
		if base == "" {
			base = "file_source"
		}
		name := base
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		taken[name] = true
		o.name, o.source.Name = name, name
		feastName := o.source.Path
		im.objGap(o, false, fmt.Sprintf("it has no name (%s:%d); Feast names it after its path %q, which YAML definitions do not allow as a name; written as %s, after %s",
			o.file, o.line, feastName, name, why),
			"keep it or rename it (the name only links definitions); a registry Python Feast applied holds it under the path, so `feast plan` against that registry shows the rename")
	}
	for i, o := range im.unnamedGaps {
		im.gaps[i].Name = o.name
	}
}

// sanitizeName turns s into a valid definition name: characters other
// than letters, digits, _ and - become _, and leading _ and - are dropped.
func sanitizeName(s string) string {
	b := []rune(s)
	for i, r := range b {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b[i] = '_'
		}
	}
	return strings.TrimLeft(string(b), "_-")
}

// defined returns the object a gap of the registry conversion names: the
// one of that kind and name, else the only object of that name (a stream
// feature view is a feature view here).
func (im *pyImporter) defined(kind, name string) *pyObj {
	if name == "" {
		return nil
	}
	var only *pyObj
	n := 0
	for _, o := range im.objects {
		if o.name != name {
			continue
		}
		if o.kind == kind {
			return o
		}
		only = o
		n++
	}
	if n == 1 {
		return only
	}
	return nil
}
