package definitions

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
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

// Values an expression evaluates to.
type pyVal any

type (
	pyNum struct {
		f     float64
		isInt bool
	}
	pyNone      struct{}
	pyList      []pyVal
	pyDict      struct{ keys, vals []pyVal }
	pyDuration  time.Duration
	pyDType     model.ValueType
	pyValueType model.ValueType
	// pyFeast is a Feast (or datetime) class, function, type or module
	// that has not been called.
	pyFeast string
	// pyModuleRef is an imported module.
	pyModuleRef string
	pyField     model.Field
	// pyProjection selects features of a view, renames it or maps its
	// join keys.
	pyProjection struct {
		obj      *pyObj
		features []string
		alias    string
		jkm      map[string]string
	}
)

// pyObj is a Feast object a definition file builds.
type pyObj struct {
	kind, name string
	file       string
	line       int
	dropped    bool
	// unnamed is a FileSource without a name (Feast names it after its
	// path); finish gives it one. varName is the variable it is assigned
	// to, if any.
	unnamed bool
	varName string

	entity  *model.Entity
	typed   bool // the entity's value type was given
	source  *model.DataSource
	view    *model.FeatureView
	ents    []pyVal // a view's entities (objects or names)
	odfv    *core.OnDemandFeatureView
	service *model.FeatureService
	projs   []pyProjection
}

// pyErr is an expression the importer cannot read.
type pyErr struct {
	line int
	msg  string
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

// lookup resolves a name as seen from line in mod.
func (im *pyImporter) lookup(mod *pyModule, name string, line int) (pyVal, *pyErr) {
	if sts := mod.assigns[name]; len(sts) > 0 {
		st := sts[len(sts)-1]
		for i := len(sts) - 1; i >= 0; i-- {
			if sts[i].line < line {
				st = sts[i]
				break
			}
		}
		return im.stmtValue(mod, st, line)
	}
	if m, ok := mod.imports[name]; ok {
		if knownModule(m) {
			if m == name || !strings.Contains(m, ".") { // import feast / import datetime
				return pyModuleRef(m), nil
			}
			return pyFeast(m[strings.LastIndex(m, ".")+1:]), nil
		}
		// from other_file import name: another file read.
		modName := strings.TrimLeft(m, ".")
		if i := strings.LastIndex(modName, "."); i >= 0 {
			if other := im.module(modName[:i]); other != nil {
				if sts := other.assigns[modName[i+1:]]; len(sts) > 0 {
					return im.stmtValue(other, sts[len(sts)-1], math.MaxInt)
				}
			}
		}
		if !strings.Contains(m, ".") {
			return nil, &pyErr{line, fmt.Sprintf("%s is the Python module %s; what it computes is known only when Python runs", name, m)}
		}
		return nil, &pyErr{line, fmt.Sprintf("%s comes from %s, which is not among the files read", name, m)}
	}
	var found []*pyModule
	for _, other := range im.mods {
		if other != mod && len(other.assigns[name]) > 0 {
			found = append(found, other)
		}
	}
	switch len(found) {
	case 1:
		sts := found[0].assigns[name]
		return im.stmtValue(found[0], sts[len(sts)-1], math.MaxInt)
	case 0:
		if pyKnown[name] {
			return pyFeast(name), nil
		}
		return nil, &pyErr{line, fmt.Sprintf("name %s is not defined in the files read", name)}
	default:
		files := make([]string, len(found))
		for i, f := range found {
			files[i] = f.file
		}
		return nil, &pyErr{line, fmt.Sprintf("name %s is defined in several files (%s)", name, strings.Join(files, ", "))}
	}
}

func (im *pyImporter) module(name string) *pyModule {
	base := name[strings.LastIndex(name, ".")+1:]
	for _, m := range im.mods {
		if m.base == base {
			return m
		}
	}
	return nil
}

func (im *pyImporter) stmtValue(mod *pyModule, st *pyStmt, line int) (pyVal, *pyErr) {
	if st.def != "" {
		if len(st.decorators) == 0 {
			return nil, &pyErr{line, fmt.Sprintf("%s is a plain function, not a Feast object", st.def)}
		}
		v, err := im.defValue(mod, st)
		if err != nil {
			return nil, &pyErr{line, err.msg}
		}
		return v, nil
	}
	if st.value == nil {
		return nil, &pyErr{line, "its definition is not read"}
	}
	v, err := im.eval(mod, st.value)
	if err != nil {
		return nil, &pyErr{line, fmt.Sprintf("%s (at %s:%d)", err.msg, mod.file, err.line)}
	}
	return v, nil
}

func knownModule(m string) bool {
	return m == "feast" || strings.HasPrefix(m, "feast.") || m == "datetime" || strings.HasPrefix(m, "datetime.")
}

// pyKnown are the names read even when a file does not import them.
var pyKnown = map[string]bool{
	"Entity": true, "FileSource": true, "PostgreSQLSource": true, "PushSource": true, "RequestSource": true, "KafkaSource": true,
	"FeatureView": true, "FeatureService": true, "Field": true, "timedelta": true, "Array": true, "ValueType": true,
	"on_demand_feature_view": true, "Project": true, "ParquetFormat": true, "JsonFormat": true, "AvroFormat": true,
	"True": true, "False": true, "None": true,
}

func (im *pyImporter) eval(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	if n == nil {
		return nil, &pyErr{0, "a value is missing"}
	}
	if v, ok := im.memo[n]; ok {
		return v, nil
	}
	if im.busy[n] {
		return nil, &pyErr{n.line, "the definition refers to itself"}
	}
	if err, ok := im.failed[n]; ok {
		return nil, err
	}
	im.busy[n] = true
	v, err := im.eval1(mod, n)
	delete(im.busy, n)
	// Each node is evaluated once: calls build their object once, and
	// names used many times do not re-evaluate their definitions.
	if err != nil {
		im.failed[n] = err
	} else {
		im.memo[n] = v
	}
	return v, err
}

func (im *pyImporter) eval1(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	switch n.kind {
	case pnOpaque:
		return nil, &pyErr{n.line, fmt.Sprintf("%s: `%s`", n.reason, clip(n.s))}
	case pnStr:
		if n.fstring {
			return nil, &pyErr{n.line, fmt.Sprintf("an f-string is computed at run time: `%s`", clip(n.srcText))}
		}
		return n.s, nil
	case pnNum:
		t := strings.ReplaceAll(strings.ToLower(n.s), "_", "")
		if i, err := strconv.ParseInt(t, 0, 64); err == nil {
			return pyNum{float64(i), true}, nil
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, &pyErr{n.line, fmt.Sprintf("number %s is not read", n.s)}
		}
		return pyNum{f, false}, nil
	case pnName:
		switch n.s {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return pyNone{}, nil
		}
		v, err := im.lookup(mod, n.s, n.line)
		if err != nil {
			return nil, err
		}
		if f, ok := v.(pyFeast); ok {
			if vt, err := model.ParseDType(string(f)); err == nil && !strings.Contains(string(f), "(") {
				return pyDType(vt), nil
			}
		}
		return v, nil
	case pnList, pnTuple:
		out := pyList{}
		for _, it := range n.items {
			v, err := im.eval(mod, it)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case pnDict:
		d := &pyDict{}
		for i := 0; i+1 < len(n.items); i += 2 {
			k, err := im.eval(mod, n.items[i])
			if err != nil {
				return nil, err
			}
			v, err := im.eval(mod, n.items[i+1])
			if err != nil {
				return nil, err
			}
			d.keys, d.vals = append(d.keys, k), append(d.vals, v)
		}
		return d, nil
	case pnUnary:
		x, err := im.eval(mod, n.x)
		if err != nil {
			return nil, err
		}
		switch v := x.(type) {
		case pyNum:
			if n.s == "-" || n.s == "+" {
				if n.s == "-" {
					v.f = -v.f
				}
				return v, nil
			}
		case pyDuration:
			if n.s == "-" || n.s == "+" {
				if n.s == "-" {
					v = -v
				}
				return v, nil
			}
		}
		return nil, &pyErr{n.line, fmt.Sprintf("`%s` is computed at run time", clip(n.srcText))}
	case pnBinOp:
		l, err := im.eval(mod, n.x)
		if err != nil {
			return nil, err
		}
		r, err := im.eval(mod, n.y)
		if err != nil {
			return nil, err
		}
		v, why := pyArith(n.s, l, r)
		if why != "" {
			return nil, &pyErr{n.line, fmt.Sprintf("`%s` is not computed here: %s", clip(n.srcText), why)}
		}
		return v, nil
	case pnAttr:
		base, err := im.eval(mod, n.x)
		if err != nil {
			return nil, err
		}
		switch b := base.(type) {
		case pyModuleRef:
			return im.feastName(n, n.s)
		case pyFeast:
			if b == "ValueType" {
				vt, err := model.ParseValueType(n.s)
				if err != nil {
					return nil, &pyErr{n.line, err.Error()}
				}
				return pyValueType(vt), nil
			}
			return im.feastName(n, n.s)
		case *pyObj:
			return nil, &pyErr{n.line, fmt.Sprintf("attribute %s of %s is not read", n.s, objectLabel(b.kind, b.name))}
		}
		return nil, &pyErr{n.line, fmt.Sprintf("`%s` is not read", clip(n.srcText))}
	case pnSubscript:
		base, err := im.eval(mod, n.x)
		if err != nil {
			return nil, err
		}
		o, ok := base.(*pyObj)
		idx, err := im.eval(mod, n.items[0])
		if err != nil {
			return nil, err
		}
		feats, isList := strList(idx)
		if ok && isList && (o.kind == kindView || o.kind == kindODFV) {
			return pyProjection{obj: o, features: feats}, nil
		}
		return nil, &pyErr{n.line, fmt.Sprintf("`%s` is not read (only view[[\"feature\", ...]] selections are)", clip(n.srcText))}
	case pnCall:
		return im.call(mod, n)
	}
	return nil, &pyErr{n.line, "expression not understood"}
}

func (im *pyImporter) feastName(n *pyNode, name string) (pyVal, *pyErr) {
	if vt, err := model.ParseDType(name); err == nil {
		return pyDType(vt), nil
	}
	return pyFeast(name), nil
}

func strList(v pyVal) ([]string, bool) {
	l, ok := v.(pyList)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// pyArgs are a call's arguments by parameter name.
type pyArgs struct {
	im    *pyImporter
	mod   *pyModule
	call  *pyNode
	nodes map[string]*pyNode
	order []string
	obj   *pyObj // the object built, for gaps
}

func (im *pyImporter) bind(mod *pyModule, call *pyNode, positional ...string) (*pyArgs, *pyErr) {
	a := &pyArgs{im: im, mod: mod, call: call, nodes: map[string]*pyNode{}}
	for i, it := range call.items {
		if i >= len(positional) {
			return nil, &pyErr{it.line, fmt.Sprintf("too many positional arguments in `%s`", clip(call.srcText))}
		}
		a.nodes[positional[i]] = it
		a.order = append(a.order, positional[i])
	}
	for _, kw := range call.kw {
		a.nodes[kw.name] = kw.val
		a.order = append(a.order, kw.name)
	}
	return a, nil
}

// try evaluates an argument without recording a failure.
func (a *pyArgs) try(name string) (v pyVal, err *pyErr, present bool) {
	n, ok := a.nodes[name]
	if !ok {
		return nil, nil, false
	}
	v, err = a.im.eval(a.mod, n)
	if _, none := v.(pyNone); none && err == nil {
		return nil, nil, false
	}
	return v, err, true
}

// value evaluates an argument; a failure is recorded against the object.
func (a *pyArgs) value(name string) (pyVal, bool) {
	n, ok := a.nodes[name]
	if !ok {
		return nil, false
	}
	v, err := a.im.eval(a.mod, n)
	if err != nil {
		a.im.objGap(a.obj, false, fmt.Sprintf("%s is not read (%s:%d): %s", name, a.mod.file, err.line, err.msg), "set it by hand in the written definition")
		return nil, false
	}
	if _, none := v.(pyNone); none {
		return nil, false
	}
	return v, true
}

func (a *pyArgs) wrongType(name, want string) {
	a.im.objGap(a.obj, false, fmt.Sprintf("%s is not read (%s:%d): expected %s", name, a.mod.file, a.nodes[name].line, want), "set it by hand in the written definition")
}

func (a *pyArgs) str(name string) string {
	v, ok := a.value(name)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		a.wrongType(name, "a string")
	}
	return s
}

func (a *pyArgs) boolean(name string, def bool) bool {
	v, ok := a.value(name)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		a.wrongType(name, "True or False")
		return def
	}
	return b
}

func (a *pyArgs) strs(name string) []string {
	v, ok := a.value(name)
	if !ok {
		return nil
	}
	l, ok := strList(v)
	if !ok {
		a.wrongType(name, "a list of strings")
	}
	return l
}

func (a *pyArgs) strMap(name string) map[string]string {
	v, ok := a.value(name)
	if !ok {
		return nil
	}
	d, ok := v.(*pyDict)
	if !ok {
		a.wrongType(name, "a dict of strings")
		return nil
	}
	out := map[string]string{}
	for i := range d.keys {
		k, ok1 := d.keys[i].(string)
		val, ok2 := d.vals[i].(string)
		if !ok1 || !ok2 {
			a.wrongType(name, "a dict of strings")
			return nil
		}
		out[k] = val
	}
	return out
}

func (a *pyArgs) duration(name string) time.Duration {
	v, ok := a.value(name)
	if !ok {
		return 0
	}
	switch d := v.(type) {
	case pyDuration:
		return time.Duration(d)
	case pyNum: // Feast also takes seconds
		return time.Duration(d.f * float64(time.Second))
	}
	a.wrongType(name, "a timedelta(...)")
	return 0
}

func (a *pyArgs) fields(name string) []model.Field {
	v, ok := a.value(name)
	if !ok {
		return nil
	}
	l, ok := v.(pyList)
	if !ok {
		a.wrongType(name, "a list of Field(...)")
		return nil
	}
	var out []model.Field
	for _, x := range l {
		f, ok := x.(pyField)
		if !ok {
			a.wrongType(name, "a list of Field(...)")
			return nil
		}
		out = append(out, model.Field(f))
	}
	return out
}

// common reads description, tags and owner, and lists any argument not
// in known as not carried over.
func (a *pyArgs) common(known ...string) (desc, owner string, tags map[string]string) {
	desc, owner, tags = a.str("description"), a.str("owner"), a.strMap("tags")
	known = append(known, "name", "description", "owner", "tags")
	for _, n := range a.order {
		if !contains(known, n) {
			a.im.objGap(a.obj, false, fmt.Sprintf("argument %s (%s:%d) is not carried over", n, a.mod.file, a.nodes[n].line),
				"YAML definitions have no such field; check whether it matters here")
		}
	}
	return
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// newObj starts an object from a call's name argument.
func (im *pyImporter) newObj(mod *pyModule, call *pyNode, kind string, positional ...string) (*pyObj, *pyArgs, *pyErr) {
	return im.newObjOpt(mod, call, kind, false, positional...)
}

// newObjOpt is newObj; with unnamedOK a call without a name argument
// makes an unnamed object, which finish names.
func (im *pyImporter) newObjOpt(mod *pyModule, call *pyNode, kind string, unnamedOK bool, positional ...string) (*pyObj, *pyArgs, *pyErr) {
	a, err := im.bind(mod, call, positional...)
	if err != nil {
		return nil, nil, err
	}
	o := &pyObj{kind: kind, file: mod.file, line: call.line}
	a.obj = o
	n, ok := a.nodes["name"]
	if !ok && unnamedOK {
		o.unnamed, o.varName = true, im.varOf[call]
		im.objects = append(im.objects, o)
		return o, a, nil
	}
	if !ok {
		return nil, nil, &pyErr{call.line, fmt.Sprintf("a %s without a name is not read", kind)}
	}
	v, err := im.eval(mod, n)
	if err != nil {
		return nil, nil, &pyErr{err.line, fmt.Sprintf("the %s's name is not read: %s", kind, err.msg)}
	}
	name, ok := v.(string)
	if !ok || printable(name) != name || strings.Contains(name, "\n") {
		return nil, nil, &pyErr{n.line, fmt.Sprintf("the %s's name is not a one-line string", kind)}
	}
	o.name = name
	im.objects = append(im.objects, o)
	return o, a, nil
}

func (im *pyImporter) call(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	// Methods of views: with_name, with_join_key_map.
	if n.x.kind == pnAttr {
		base, err := im.eval(mod, n.x.x)
		if err == nil {
			var p pyProjection
			switch b := base.(type) {
			case *pyObj:
				p = pyProjection{obj: b}
			case pyProjection:
				p = b
			}
			if p.obj != nil && (p.obj.kind == kindView || p.obj.kind == kindODFV) && len(n.items) == 1 && len(n.kw) == 0 {
				arg, err := im.eval(mod, n.items[0])
				if err != nil {
					return nil, err
				}
				switch n.x.s {
				case "with_name":
					if s, ok := arg.(string); ok {
						p.alias = s
						return p, nil
					}
				case "with_join_key_map":
					if d, ok := arg.(*pyDict); ok {
						p.jkm = map[string]string{}
						for i := range d.keys {
							k, _ := d.keys[i].(string)
							v, _ := d.vals[i].(string)
							p.jkm[k] = v
						}
						return p, nil
					}
				}
			}
		}
	}
	callee, err := im.eval(mod, n.x)
	if err != nil {
		return nil, err
	}
	f, ok := callee.(pyFeast)
	if !ok {
		return nil, &pyErr{n.line, fmt.Sprintf("call `%s` is not a Feast definition this import reads", clip(n.srcText))}
	}
	switch f {
	case "timedelta":
		a, err := im.bind(mod, n, "days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
		if err != nil {
			return nil, err
		}
		unit := map[string]time.Duration{"days": 24 * time.Hour, "seconds": time.Second, "microseconds": time.Microsecond,
			"milliseconds": time.Millisecond, "minutes": time.Minute, "hours": time.Hour, "weeks": 7 * 24 * time.Hour}
		var d time.Duration
		for _, k := range a.order {
			v, err := im.eval(mod, a.nodes[k])
			if err != nil {
				return nil, err
			}
			num, ok := v.(pyNum)
			if !ok || unit[k] == 0 {
				return nil, &pyErr{a.nodes[k].line, fmt.Sprintf("timedelta %s is not a number", k)}
			}
			d += time.Duration(num.f * float64(unit[k]))
		}
		return pyDuration(d), nil
	case "Array":
		if len(n.items) != 1 {
			return nil, &pyErr{n.line, "Array takes one type"}
		}
		v, err := im.eval(mod, n.items[0])
		if err != nil {
			return nil, err
		}
		dt, ok := v.(pyDType)
		if !ok {
			return nil, &pyErr{n.line, "Array of something that is not a Feast type"}
		}
		vt, perr := model.ParseDType("Array(" + model.DTypeName(model.ValueType(dt)) + ")")
		if perr != nil {
			return nil, &pyErr{n.line, perr.Error()}
		}
		return pyDType(vt), nil
	case "Field":
		a, err := im.bind(mod, n, "name", "dtype", "description", "tags")
		if err != nil {
			return nil, err
		}
		var fld model.Field
		for _, k := range a.order {
			v, err := im.eval(mod, a.nodes[k])
			if err != nil {
				return nil, err
			}
			switch k {
			case "name", "description":
				s, ok := v.(string)
				if !ok {
					return nil, &pyErr{a.nodes[k].line, "Field " + k + " is not a string"}
				}
				if k == "name" {
					if printable(s) != s || strings.Contains(s, "\n") {
						return nil, &pyErr{a.nodes[k].line, "Field name is not a one-line string"}
					}
					fld.Name = s
				} else {
					fld.Description = s
				}
			case "dtype":
				dt, ok := v.(pyDType)
				if !ok {
					return nil, &pyErr{a.nodes[k].line, fmt.Sprintf("Field dtype `%s` is not a Feast type", clip(a.nodes[k].srcText))}
				}
				fld.Type = model.ValueType(dt)
			case "tags":
				d, ok := v.(*pyDict)
				if !ok {
					return nil, &pyErr{a.nodes[k].line, "Field tags are not a dict"}
				}
				fld.Tags = map[string]string{}
				for i := range d.keys {
					ks, _ := d.keys[i].(string)
					vs, _ := d.vals[i].(string)
					fld.Tags[ks] = vs
				}
			default:
				return nil, &pyErr{a.nodes[k].line, "Field argument " + k + " is not read"}
			}
		}
		if fld.Name == "" || fld.Type == model.Invalid {
			return nil, &pyErr{n.line, "a Field needs a name and a dtype"}
		}
		return pyField(fld), nil
	case "ParquetFormat":
		return "parquet", nil
	case "Project":
		a, err := im.bind(mod, n, "name")
		if err != nil {
			return nil, err
		}
		name := ""
		if v, err := im.eval(mod, a.nodes["name"]); err == nil {
			name, _ = v.(string)
		}
		switch {
		case im.project == "":
			im.loose(mod.file, n.line, fmt.Sprintf("Project(name=%q) is not written: the project is the one feature_store.yaml names", name),
				fmt.Sprintf("put project: %s in feature_store.yaml", name))
		case name != im.project:
			im.loose(mod.file, n.line, fmt.Sprintf("Project(name=%q) is not written: the project is the one feature_store.yaml names (%q)", name, im.project), "")
		}
		return pyNone{}, nil
	case "Entity":
		return im.entity(mod, n)
	case "FileSource", "PostgreSQLSource", "PushSource", "RequestSource", "KafkaSource":
		return im.dataSource(mod, n, string(f))
	case "FeatureView":
		return im.featureView(mod, n)
	case "FeatureService":
		return im.featureService(mod, n)
	}
	hint := ""
	if strings.HasSuffix(string(f), "Source") {
		hint = " (supported sources: FileSource, PostgreSQLSource, PushSource, RequestSource, KafkaSource)"
	}
	return nil, &pyErr{n.line, fmt.Sprintf("%s(...) is not supported here%s", f, hint)}
}

func (im *pyImporter) entity(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	o, a, err := im.newObj(mod, n, kindEntity, "name", "join_keys")
	if err != nil {
		return nil, err
	}
	e := &model.Entity{Name: o.name, JoinKey: o.name}
	o.entity = e
	if keys := a.strs("join_keys"); len(keys) == 1 {
		e.JoinKey = keys[0]
	} else if len(keys) > 1 {
		im.objGap(o, true, fmt.Sprintf("it has %d join keys (%s:%d); only one per entity is supported", len(keys), mod.file, n.line), "declare one entity per key")
	}
	if k := a.str("join_key"); k != "" {
		e.JoinKey = k
	}
	if v, ok := a.value("value_type"); ok {
		if vt, ok := v.(pyValueType); ok && model.IsValidEntityKeyType(model.ValueType(vt)) {
			e.ValueType, o.typed = model.ValueType(vt), true
		} else {
			a.wrongType("value_type", "ValueType.STRING, BYTES, INT32, INT64 or UNIX_TIMESTAMP")
		}
	}
	e.Description, e.Owner, e.Tags = a.common("join_keys", "join_key", "value_type")
	return o, nil
}

func (im *pyImporter) dataSource(mod *pyModule, n *pyNode, class string) (pyVal, *pyErr) {
	positional := map[string][]string{"FileSource": {"path"}, "PushSource": {"name", "batch_source"}, "RequestSource": {"name", "schema"}}[class]
	o, a, err := im.newObjOpt(mod, n, kindSource, class == "FileSource", positional...)
	if err != nil {
		return nil, err
	}
	s := &model.DataSource{Name: o.name}
	o.source = s
	known := []string{"timestamp_field", "created_timestamp_column", "field_mapping", "date_partition_column"}
	if class == "FileSource" || class == "PostgreSQLSource" || class == "KafkaSource" {
		s.TimestampField = a.str("timestamp_field")
		if s.TimestampField == "" {
			s.TimestampField = a.str("event_timestamp_column")
		}
		s.CreatedTimestampColumn = a.str("created_timestamp_column")
		s.DatePartitionColumn = a.str("date_partition_column")
		s.FieldMapping = a.strMap("field_mapping")
		known = append(known, "event_timestamp_column")
	}
	switch class {
	case "FileSource":
		s.Kind = model.SourceFile
		if v, perr, ok := a.try("path"); ok {
			if p, isStr := v.(string); isStr && perr == nil {
				s.Path = p
			} else {
				s.Path = "TODO-set-the-path"
				why := "it is not a string"
				if perr != nil {
					why = perr.msg
				}
				im.objGap(o, false, fmt.Sprintf("its path is not read (%s:%d: %s); written as %s", mod.file, a.nodes["path"].line, why, s.Path),
					"set path: to the file, folder or glob")
			}
		}
		s.FileFormat = "parquet"
		if strings.HasSuffix(strings.ToLower(s.Path), ".csv") {
			s.FileFormat = "csv"
		}
		if v, ok := a.value("file_format"); ok {
			if f, ok := v.(string); ok {
				s.FileFormat = f
			} else {
				a.wrongType("file_format", "ParquetFormat()")
			}
		}
		if v, ok := a.value("s3_endpoint_override"); ok {
			if e, ok := v.(string); ok {
				s.S3EndpointOverride = e
			} else {
				a.wrongType("s3_endpoint_override", "a string")
			}
		}
		known = append(known, "path", "file_format", "s3_endpoint_override")
	case "PostgreSQLSource":
		s.Kind = model.SourcePostgres
		s.Table, s.Query = a.str("table"), a.str("query")
		known = append(known, "table", "query")
	case "PushSource", "KafkaSource":
		s.Kind = model.SourcePush
		if class == "KafkaSource" {
			s.Kind = model.SourceKafka
			s.KafkaBootstrapServers = a.str("kafka_bootstrap_servers")
			if s.KafkaBootstrapServers == "" {
				s.KafkaBootstrapServers = a.str("bootstrap_servers")
			}
			s.Topic = a.str("topic")
			s.MessageFormat = "json"
			s.WatermarkDelay = a.duration("watermark_delay_threshold")
			if fn, ok := a.nodes["message_format"]; ok {
				if fn.kind == pnCall {
					cv, _ := im.eval(mod, fn.x)
					switch cv {
					case pyFeast("JsonFormat"), pyFeast("AvroFormat"):
						s.MessageFormat = strings.ToLower(strings.TrimSuffix(string(cv.(pyFeast)), "Format"))
						fa, _ := im.bind(mod, fn, "schema_json")
						if fa != nil {
							fa.obj = o
							s.SchemaJSON = fa.str("schema_json")
						}
					default:
						a.wrongType("message_format", "JsonFormat(...) or AvroFormat(...)")
					}
				} else {
					a.wrongType("message_format", "JsonFormat(...) or AvroFormat(...)")
				}
			}
			known = append(known, "kafka_bootstrap_servers", "bootstrap_servers", "topic", "message_format", "watermark_delay_threshold")
		}
		if v, ok := a.value("batch_source"); ok {
			if b, ok := v.(*pyObj); ok && b.kind == kindSource {
				s.BatchSource = b.source
				if b.dropped {
					im.objGap(o, true, "its batch source "+b.name+" is not carried over", "carry that over first, then define this by hand")
				}
			} else {
				a.wrongType("batch_source", "a data source")
			}
		}
		known = append(known, "batch_source")
	case "RequestSource":
		s.Kind = model.SourceRequest
		s.Schema = a.fields("schema")
		known = []string{"schema"}
	}
	s.Description, s.Owner, s.Tags = a.common(known...)
	return o, nil
}

func (im *pyImporter) featureView(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	o, a, err := im.newObj(mod, n, kindView, "name", "source", "schema", "entities", "ttl")
	if err != nil {
		return nil, err
	}
	fv := &model.FeatureView{Name: o.name}
	o.view = fv
	if v, ok := a.value("entities"); ok {
		if l, ok := v.(pyList); ok {
			o.ents = l
		} else {
			a.wrongType("entities", "a list of entities")
		}
	}
	fv.TTL = a.duration("ttl")
	if _, ok := a.nodes["schema"]; !ok {
		im.objGap(o, true, fmt.Sprintf("it has no schema (%s:%d); Python Feast infers the features from the data, which this import does not read", mod.file, n.line),
			"define it with schema: listing the features as {name, dtype}")
	} else if _, perr, _ := a.try("schema"); perr != nil {
		im.objGap(o, true, fmt.Sprintf("its schema is not read (%s:%d): %s", mod.file, perr.line, perr.msg), "define it by hand with schema: listing the features as {name, dtype}")
	} else if fv.Features = a.fields("schema"); len(fv.Features) == 0 {
		im.objGap(o, true, fmt.Sprintf("its schema lists no Field(...) (%s:%d)", mod.file, a.nodes["schema"].line), "define it by hand with schema: listing the features as {name, dtype}")
	}
	fv.Online = a.boolean("online", true)
	fv.Offline = a.boolean("offline", false)
	v, perr, ok := a.try("source")
	switch {
	case !ok:
		im.objGap(o, true, fmt.Sprintf("it has no source (%s:%d)", mod.file, n.line), "define it with source: naming a data source")
	case perr != nil:
		im.objGap(o, true, fmt.Sprintf("its source is not read (%s:%d): %s", mod.file, perr.line, perr.msg), "define it by hand with source: naming a data source")
	default:
		if s, ok := v.(*pyObj); ok && s.kind == kindSource {
			switch s.source.Kind {
			case model.SourcePush:
				fv.StreamSource, fv.Source = s.source, s.source.BatchSource
			case model.SourceKafka:
				fv.StreamSource, fv.Source, fv.IsStream = s.source, s.source.BatchSource, true
			default:
				fv.Source = s.source
			}
			if s.dropped {
				im.objGap(o, true, "its source "+s.name+" is not carried over", "carry that over first, then define this by hand")
			}
		} else {
			im.objGap(o, true, fmt.Sprintf("its source (%s:%d) is not a data source", mod.file, a.nodes["source"].line), "define it by hand with source: naming a data source")
		}
	}
	fv.Description, fv.Owner, fv.Tags = a.common("entities", "ttl", "schema", "online", "offline", "source")
	return o, nil
}

// onDemandView reads @on_demand_feature_view(...): its UDF cannot run
// here, so it is listed with its source and a CEL skeleton.
func (im *pyImporter) onDemandView(mod *pyModule, st *pyStmt, deco *pyNode) *pyObj {
	o := &pyObj{kind: kindODFV, name: st.def, file: mod.file, line: st.line}
	im.objects = append(im.objects, o)
	spec := &core.OnDemandFeatureViewSpec{Name: st.def, Project: im.project, Sources: map[string]*core.OnDemandSource{}, Mode: "pandas"}
	o.odfv = &core.OnDemandFeatureView{Spec: spec}
	if deco.kind != pnCall {
		im.objGap(o, true, fmt.Sprintf("@on_demand_feature_view without arguments (%s:%d) is not read", mod.file, st.line), "define it by hand with a CEL `expression:` per output field")
		return o
	}
	a, err := im.bind(mod, deco, "sources", "schema")
	if err != nil {
		im.objGap(o, true, err.msg, "define it by hand with a CEL `expression:` per output field")
		return o
	}
	a.obj = o
	for _, f := range a.fields("schema") {
		spec.Features = append(spec.Features, model.FieldToProto(f))
	}
	if m := a.str("mode"); m != "" {
		spec.Mode = m
	}
	spec.WriteToOnlineStore = a.boolean("write_to_online_store", false)
	srcName := "sources"
	if _, ok := a.nodes["sources"]; !ok {
		srcName = "inputs"
	}
	if v, ok := a.value(srcName); ok {
		var items []pyVal
		switch l := v.(type) {
		case pyList:
			items = l
		case *pyDict:
			items = l.vals
		}
		for _, it := range items {
			p, isProj := it.(pyProjection)
			if obj, ok := it.(*pyObj); ok {
				p, isProj = pyProjection{obj: obj}, true
			}
			if !isProj {
				a.wrongType(srcName, "feature views and request sources")
				continue
			}
			switch {
			case p.obj.kind == kindSource && p.obj.source.Kind == model.SourceRequest:
				spec.Sources[p.obj.name] = &core.OnDemandSource{Source: &core.OnDemandSource_RequestDataSource{RequestDataSource: p.obj.source.ToProto(im.project)}}
			case p.obj.kind == kindView:
				proj := &core.FeatureViewProjection{FeatureViewName: p.obj.name}
				spec.Sources[p.obj.name] = &core.OnDemandSource{Source: &core.OnDemandSource_FeatureViewProjection{FeatureViewProjection: proj}}
			default:
				a.wrongType(srcName, "feature views and request sources")
			}
		}
	}
	spec.Description, spec.Owner, spec.Tags = a.common("sources", "inputs", "schema", "mode", "write_to_online_store")
	spec.FeatureTransformation = &core.FeatureTransformationV2{Transformation: &core.FeatureTransformationV2_UserDefinedFunction{
		UserDefinedFunction: &core.UserDefinedFunctionV2{Name: st.def, BodyText: printable(st.text), Mode: spec.Mode}}}
	return o
}

func (im *pyImporter) featureService(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	o, a, err := im.newObj(mod, n, kindService, "name", "features")
	if err != nil {
		return nil, err
	}
	o.service = &model.FeatureService{Name: o.name}
	if v, ok := a.value("features"); ok {
		l, _ := v.(pyList)
		for _, it := range l {
			p, isProj := it.(pyProjection)
			if obj, ok := it.(*pyObj); ok {
				p, isProj = pyProjection{obj: obj}, true
			}
			if !isProj || (p.obj.kind != kindView && p.obj.kind != kindODFV) {
				a.wrongType("features", "a list of feature views and on demand feature views")
				continue
			}
			o.projs = append(o.projs, p)
		}
		if l == nil {
			a.wrongType("features", "a list of feature views and on demand feature views")
		}
	}
	if len(o.projs) == 0 && !o.dropped {
		im.objGap(o, true, fmt.Sprintf("no features are read (%s:%d)", mod.file, n.line), "define its features by hand")
	}
	o.service.Description, o.service.Owner, o.service.Tags = a.common("features")
	return o, nil
}

// finish resolves what needs every object (entity value types, view
// entity columns, projections' features) and builds the registry.
func (im *pyImporter) finish() *core.Registry {
	im.nameUnnamedSources()
	// Duplicate names: Feast refuses them; keep the first.
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
	entityByName := map[string]*pyObj{}
	for _, o := range im.objects {
		if o.kind == kindEntity && !o.dropped {
			entityByName[o.name] = o
		}
	}
	// Views: resolve entities; infer untyped entities from view schemas.
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
				for _, f := range o.view.Features {
					if f.Name == e.entity.JoinKey && model.IsValidEntityKeyType(f.Type) {
						e.entity.ValueType, e.typed = f.Type, true
						im.objGap(e, false, fmt.Sprintf("no value_type given (%s:%d); written as %s, the type of %s in feature view %s", e.file, e.line, f.Type, f.Name, o.name),
							"check it; apply records the value type")
					}
				}
			}
		}
		if len(o.view.Entities) == 0 {
			o.view.Entities = []string{model.DummyEntityName}
		}
	}
	for _, o := range im.objects {
		if o.kind == kindEntity && !o.dropped && !o.typed {
			o.entity.ValueType, o.typed = model.Int64, true
			im.objGap(o, false, fmt.Sprintf("no value_type given and no feature view schema declares %s (%s:%d); written as INT64", o.entity.JoinKey, o.file, o.line),
				"check it (Python Feast infers it from the data): set value_type: to the join key's type")
		}
	}
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
	for _, o := range im.objects {
		if o.kind != kindService || o.dropped {
			continue
		}
		for _, p := range o.projs {
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
				if len(p.features) == 0 || contains(p.features, f.Name) {
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
			o.service.Projections = append(o.service.Projections, model.Projection{View: p.obj.name, Alias: p.alias, Features: sel, JoinKeyMap: p.jkm})
		}
		reg.FeatureServices = append(reg.FeatureServices, o.service.ToProto(im.project))
	}
	return reg
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
