package definitions

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feastgo/feast/model"
)

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
	// pyIcebergFormat is IcebergFormat(...), a SparkSource's table_format.
	pyIcebergFormat struct {
		catalog, namespace string
		props              map[string]string
	}
	// pyProjection selects features of a view, renames it or maps its
	// join keys.
	pyProjection struct {
		obj      *pyObj
		features []string
		alias    string
		jkm      map[string]string
	}
)

// pyErr is an expression the importer cannot read.
type pyErr struct {
	line int
	msg  string
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

// eval1 evaluates n, which eval has not evaluated before.
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
		return evalNum(n)
	case pnName:
		return im.evalName(mod, n)
	case pnList, pnTuple:
		return im.evalList(mod, n)
	case pnDict:
		return im.evalDict(mod, n)
	case pnUnary:
		return im.evalUnary(mod, n)
	case pnBinOp:
		return im.evalBinOp(mod, n)
	case pnAttr:
		return im.evalAttr(mod, n)
	case pnSubscript:
		return im.evalSubscript(mod, n)
	case pnCall:
		return im.call(mod, n)
	}
	return nil, &pyErr{n.line, "expression not understood"}
}

// evalNum reads an int or float literal.
func evalNum(n *pyNode) (pyVal, *pyErr) {
	t := strings.ReplaceAll(strings.ToLower(n.s), "_", "")
	if i, err := strconv.ParseInt(t, 0, 64); err == nil {
		return pyNum{float64(i), true}, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return nil, &pyErr{n.line, fmt.Sprintf("number %s is not read", n.s)}
	}
	return pyNum{f, false}, nil
}

// evalName reads a name: a constant, or what lookup finds (a Feast type
// name is its type).
func (im *pyImporter) evalName(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
}

// evalList reads a list or tuple display.
func (im *pyImporter) evalList(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	out := pyList{}
	for _, it := range n.items {
		v, err := im.eval(mod, it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// evalDict reads a dict display (its items are key, value, key, ...).
func (im *pyImporter) evalDict(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
}

// evalUnary computes -x and +x of a number or a timedelta.
func (im *pyImporter) evalUnary(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
}

// evalBinOp computes `x op y` as pyArith does.
func (im *pyImporter) evalBinOp(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
}

// evalAttr reads x.name where x is a module or a Feast name (feast.types.
// Float32, ValueType.STRING).
func (im *pyImporter) evalAttr(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
}

// evalSubscript reads view[["feature", ...]], a projection.
func (im *pyImporter) evalSubscript(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
		if !slices.Contains(known, n) {
			a.im.objGap(a.obj, false, fmt.Sprintf("argument %s (%s:%d) is not carried over", n, a.mod.file, a.nodes[n].line),
				"YAML definitions have no such field; check whether it matters here")
		}
	}
	return
}
