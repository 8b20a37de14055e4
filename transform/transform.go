// Package transform evaluates on-demand feature views: each feature of the
// view is a CEL expression (cel.dev/cel-go) over the view's inputs, compiled
// and type-checked once (Compile) and evaluated per entity row at serving
// time (Eval) or over the columns of a historical result (EvalColumns).
//
// # Inputs and names
//
// The caller resolves the view's sources and passes the input fields to
// Compile, named as follows:
//
//   - a feature of a source feature view is named with its feature
//     reference, "view:feature" ("driver_hourly_stats:conv_rate");
//   - a request-source field is named by its bare field name ("val_to_add").
//
// Row maps given to Eval and column maps given to EvalColumns are keyed by
// these same names. Inside expressions a feature is referenced as
// view.feature (driver_hourly_stats.conv_rate) or, when no other input has
// the same bare name, as just feature (conv_rate); a request field is
// always referenced by its bare name, which wins over a feature of the
// same name (reach the feature with its qualified form). Names that are
// not CEL identifiers, or are CEL reserved words, cannot be referenced.
//
// # Types
//
// Inputs are typed from their Feast types: INT32/INT64 are CEL int,
// FLOAT/DOUBLE are double, STRING (also UUID, JSON text, DECIMAL text) is
// string, BYTES is bytes, BOOL is bool, UNIX_TIMESTAMP is timestamp, and
// lists and sets are lists of those. Arithmetic may mix int and double
// (conv_rate + val_to_add): the int operand is converted to double, and
// ordering comparisons (<, <=, >, >=) across numeric types work as expected.
// Equality keeps CEL's rule that both sides have the same type: write
// acc_rate == 0.0, not acc_rate == 0. The standard CEL
// library is available, plus the strings and math extensions
// (lowerAscii, replace, split, math.greatest, math.round, ...).
//
// Each feature's expression must produce its declared dtype: Float64 and
// Float32 take double (or int, converted; Float32 is narrowed), Int64 and
// Int32 take int (Int32 is range-checked at evaluation), String, Bool and
// Bytes take their CEL types, UnixTimestamp takes timestamp or int epoch
// seconds, and Array(T) takes list(T).
//
// # Nulls
//
// A null (missing or empty) input value is passed to CEL as null. An
// expression that reads a null input and then fails (conv_rate * 2.0 with
// conv_rate null) yields null rather than an error: nulls propagate. An
// expression that handles the null explicitly is evaluated normally:
// conv_rate == null ? 0.0 : conv_rate * 2.0 yields 0.0. An expression that
// evaluates to null yields null. Errors of evaluations that read no null
// input (integer division by zero, overflow, an Int32 result out of range)
// are returned; list inputs cannot be compared with null, only propagate it.
//
// A Program is immutable and safe for concurrent use.
package transform

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	celtypes "cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// ErrCompile is wrapped by every error Compile returns for a bad expression.
var ErrCompile = errors.New("compile on demand feature view")

// Program is a compiled on-demand feature view.
type Program struct {
	view     string
	inputs   []model.Field
	celNames map[string]int // CEL identifier -> index into inputs
	features []feature
	used     []int // indexes of inputs referenced by any expression, ascending
	// slots maps the CEL names of referenced inputs to their position in used;
	// evaluation keeps one value per slot.
	slots map[string]int
}

type feature struct {
	field model.Field
	prg   cel.Program
}

// identRE matches names CEL can declare and reference.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reserved are CEL's reserved words and literals, which cannot be identifiers.
var reserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true, "const": true,
	"continue": true, "else": true, "for": true, "function": true, "if": true, "import": true,
	"let": true, "loop": true, "package": true, "namespace": true, "return": true, "var": true,
	"void": true, "while": true,
}

func validIdent(s string) bool { return identRE.MatchString(s) && !reserved[s] }

// Compile compiles and type-checks every feature expression of odfv against
// the input fields (named as the package documentation describes). Errors
// name the view, the feature and CEL's message; an unknown identifier also
// lists the names that are available.
func Compile(odfv *model.OnDemandFeatureView, inputs []model.Field) (*Program, error) {
	p := &Program{
		view:     odfv.Name,
		inputs:   inputs,
		celNames: map[string]int{},
	}
	decls, err := p.declare()
	if err != nil {
		return nil, err
	}
	env, err := cel.NewEnv(append(decls, baseOptions()...)...)
	if err != nil {
		return nil, fmt.Errorf("%w %s: build CEL environment: %v", ErrCompile, odfv.Name, err)
	}
	promote, err := cel.NewStaticOptimizer(numericPromotion{})
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrCompile, odfv.Name, err)
	}
	used := map[int]bool{}
	for _, f := range odfv.Features {
		fail := func(msg string) error {
			return fmt.Errorf("%w %s: feature %s: %s", ErrCompile, odfv.Name, f.Name, msg)
		}
		if strings.TrimSpace(f.Expression) == "" {
			return nil, fail("no expression")
		}
		checked, iss := env.Compile(f.Expression)
		if iss.Err() != nil {
			return nil, fail(p.explain(iss.Err().Error()))
		}
		checked, iss = promote.Optimize(env, checked)
		if iss.Err() != nil {
			return nil, fail(iss.Err().Error())
		}
		if err := checkOutput(checked.OutputType(), f.Type); err != nil {
			return nil, fail(err.Error())
		}
		for _, ref := range checked.NativeRep().ReferenceMap() {
			if ref.Name == "" || ref.Value != nil {
				continue
			}
			if i, ok := p.celNames[ref.Name]; ok {
				used[i] = true
			}
		}
		prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			return nil, fail(err.Error())
		}
		p.features = append(p.features, feature{field: f, prg: prg})
	}
	slotOf := map[int]int{}
	for i := range inputs {
		if used[i] {
			slotOf[i] = len(p.used)
			p.used = append(p.used, i)
		}
	}
	p.slots = map[string]int{}
	for name, i := range p.celNames {
		if slot, ok := slotOf[i]; ok {
			p.slots[name] = slot
		}
	}
	return p, nil
}

// declare assigns CEL names to the inputs and returns their declarations.
func (p *Program) declare() ([]cel.EnvOption, error) {
	bare := map[string][]int{} // bare feature name -> feature inputs with it
	request := map[string]bool{}
	seen := map[string]bool{}
	for i, in := range p.inputs {
		if seen[in.Name] {
			return nil, fmt.Errorf("%w %s: input %q given twice", ErrCompile, p.view, in.Name)
		}
		seen[in.Name] = true
		view, feat, ok := strings.Cut(in.Name, ":")
		if !ok {
			if validIdent(in.Name) {
				p.celNames[in.Name] = i
				request[in.Name] = true
			}
			continue
		}
		if validIdent(view) && validIdent(feat) {
			p.celNames[view+"."+feat] = i
		}
		if validIdent(feat) {
			bare[feat] = append(bare[feat], i)
		}
	}
	for name, idx := range bare {
		if len(idx) == 1 && !request[name] {
			p.celNames[name] = idx[0]
		}
	}
	opts := make([]cel.EnvOption, 0, len(p.celNames))
	for name, i := range p.celNames {
		t, err := celType(p.inputs[i].Type)
		if err != nil {
			return nil, fmt.Errorf("%w %s: input %s: %v", ErrCompile, p.view, p.inputs[i].Name, err)
		}
		opts = append(opts, cel.Variable(name, t))
	}
	return opts, nil
}

// explain adds the available names to an undeclared-reference error.
func (p *Program) explain(msg string) string {
	if !strings.Contains(msg, "undeclared reference") {
		return msg
	}
	names := make([]string, 0, len(p.celNames))
	for n := range p.celNames {
		names = append(names, n)
	}
	sort.Strings(names)
	msg += "\navailable inputs: " + strings.Join(names, ", ")
	// Point out bare names left undeclared because they are ambiguous.
	var ambiguous []string
	for _, m := range undeclaredRE.FindAllStringSubmatch(msg, -1) {
		var quals []string
		for _, in := range p.inputs {
			view, feat, ok := strings.Cut(in.Name, ":")
			if ok && feat == m[1] {
				quals = append(quals, view+"."+feat)
			}
		}
		if len(quals) > 1 || (len(quals) == 1 && p.celNames[m[1]] != indexOf(p.inputs, quals[0])) {
			ambiguous = append(ambiguous, fmt.Sprintf("%s is ambiguous, use one of %s", m[1], strings.Join(quals, ", ")))
		}
	}
	if len(ambiguous) > 0 {
		msg += "\n" + strings.Join(ambiguous, "\n")
	}
	return msg
}

var undeclaredRE = regexp.MustCompile(`undeclared reference to '([^']+)'`)

// indexOf returns the input index of a qualified CEL name, or -1.
func indexOf(inputs []model.Field, qualified string) int {
	ref := strings.Replace(qualified, ".", ":", 1)
	for i, in := range inputs {
		if in.Name == ref {
			return i
		}
	}
	return -1
}

// Name is the on-demand feature view's name.
func (p *Program) Name() string { return p.view }

// Features are the view's output features, in the order Eval returns them.
func (p *Program) Features() []model.Field {
	out := make([]model.Field, len(p.features))
	for i, f := range p.features {
		out[i] = f.field
	}
	return out
}

// Inputs are the input fields referenced by at least one expression, in
// the order given to Compile: the only ones a caller needs to fetch.
func (p *Program) Inputs() []model.Field {
	out := make([]model.Field, len(p.used))
	for i, idx := range p.used {
		out[i] = p.inputs[idx]
	}
	return out
}

// celType maps a Feast value type to the declared CEL type of an input.
// Scalars are nullable so expressions can compare them with null.
func celType(vt model.ValueType) (*cel.Type, error) {
	switch vt {
	case model.Int32, model.Int64:
		return cel.NullableType(cel.IntType), nil
	case model.Float, model.Double:
		return cel.NullableType(cel.DoubleType), nil
	case model.String, model.UUID, types.ValueType_TIME_UUID, model.JSON, types.ValueType_DECIMAL:
		return cel.NullableType(cel.StringType), nil
	case model.Bytes:
		return cel.NullableType(cel.BytesType), nil
	case model.Bool:
		return cel.NullableType(cel.BoolType), nil
	case model.UnixTimestamp:
		return cel.TimestampType, nil
	}
	if elem, ok := model.ElementType(vt); ok {
		et, err := celType(elem)
		if err != nil {
			return nil, err
		}
		if et.Kind() != celtypes.TimestampKind {
			et = unwrapNullable(et)
		}
		return cel.ListType(et), nil
	}
	return nil, fmt.Errorf("type %s is not supported in expressions", model.DTypeName(vt))
}

// unwrapNullable returns the plain CEL type for a nullable scalar.
func unwrapNullable(t *cel.Type) *cel.Type {
	switch t.Kind() {
	case celtypes.IntKind:
		return cel.IntType
	case celtypes.DoubleKind:
		return cel.DoubleType
	case celtypes.StringKind:
		return cel.StringType
	case celtypes.BytesKind:
		return cel.BytesType
	case celtypes.BoolKind:
		return cel.BoolType
	}
	return t
}

// checkOutput verifies an expression's CEL type can produce the feature type.
func checkOutput(t *cel.Type, want model.ValueType) error {
	if ok := outputOK(t, want); !ok {
		return fmt.Errorf("expression returns %s, but the feature is declared %s (%s)", typeName(t), model.DTypeName(want), expectHint(want))
	}
	return nil
}

func outputOK(t *cel.Type, want model.ValueType) bool {
	k := t.Kind()
	if k == celtypes.DynKind || k == celtypes.NullTypeKind {
		return true
	}
	switch want {
	case model.Double, model.Float:
		return k == celtypes.DoubleKind || k == celtypes.IntKind || k == celtypes.UintKind
	case model.Int64, model.Int32:
		return k == celtypes.IntKind || k == celtypes.UintKind
	case model.String, model.UUID, types.ValueType_TIME_UUID, model.JSON, types.ValueType_DECIMAL:
		return k == celtypes.StringKind
	case model.Bytes:
		return k == celtypes.BytesKind
	case model.Bool:
		return k == celtypes.BoolKind
	case model.UnixTimestamp:
		return k == celtypes.TimestampKind || k == celtypes.IntKind
	}
	if elem, ok := model.ElementType(want); ok && k == celtypes.ListKind {
		params := t.Parameters()
		return len(params) == 1 && outputOK(params[0], elem)
	}
	return false
}

func expectHint(want model.ValueType) string {
	switch want {
	case model.Double, model.Float:
		return "expected double"
	case model.Int64, model.Int32:
		return "expected int; convert with int(...)"
	case model.String:
		return "expected string; convert with string(...)"
	case model.Bytes:
		return "expected bytes"
	case model.Bool:
		return "expected bool"
	case model.UnixTimestamp:
		return "expected timestamp or int epoch seconds"
	}
	if elem, ok := model.ElementType(want); ok {
		return "expected a list of " + model.DTypeName(elem)
	}
	return "type not supported as an on-demand feature"
}

func typeName(t *cel.Type) string {
	if t.Kind() == celtypes.ListKind && len(t.Parameters()) == 1 {
		return "list(" + typeName(t.Parameters()[0]) + ")"
	}
	// Nullable inputs are CEL wrapper types; name them by the wrapped type.
	s := t.String()
	if inner, ok := strings.CutPrefix(s, "wrapper("); ok {
		return strings.TrimSuffix(inner, ")")
	}
	return s
}

// baseOptions are the CEL environment options shared by every view.
func baseOptions() []cel.EnvOption {
	opts := []cel.EnvOption{
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Math(),
	}
	// Declare int/double mixes for the arithmetic operators. The declarations
	// only exist for the type checker: numericPromotion rewrites every call
	// resolved to one of them into the double overload before planning.
	for _, op := range []string{operators.Add, operators.Subtract, operators.Multiply, operators.Divide} {
		opts = append(opts, cel.Function(op,
			cel.Overload(mixedID(op, "double_int"), []*cel.Type{cel.DoubleType, cel.IntType}, cel.DoubleType),
			cel.Overload(mixedID(op, "int_double"), []*cel.Type{cel.IntType, cel.DoubleType}, cel.DoubleType),
		))
	}
	return opts
}

func mixedID(op, sig string) string {
	name := map[string]string{
		operators.Add: "add", operators.Subtract: "subtract",
		operators.Multiply: "multiply", operators.Divide: "divide",
	}[op]
	return "feast_" + name + "_" + sig
}

// numericPromotion wraps the int operand of a mixed int/double arithmetic
// call in double(...), so the standard double overload evaluates it.
type numericPromotion struct{}

func (numericPromotion) Optimize(ctx *cel.OptimizerContext, a *ast.AST) *ast.AST {
	refs := a.ReferenceMap()
	var visit func(e ast.Expr)
	visit = func(e ast.Expr) {
		switch e.Kind() {
		case ast.CallKind:
			c := e.AsCall()
			if c.IsMemberFunction() {
				visit(c.Target())
			}
			args := c.Args()
			for _, arg := range args {
				visit(arg)
			}
			ref, ok := refs[e.ID()]
			if !ok || len(ref.OverloadIDs) != 1 || len(args) != 2 {
				return
			}
			id := ref.OverloadIDs[0]
			switch {
			case strings.HasPrefix(id, "feast_") && strings.HasSuffix(id, "_double_int"):
				args[1] = ctx.NewCall("double", args[1])
			case strings.HasPrefix(id, "feast_") && strings.HasSuffix(id, "_int_double"):
				args[0] = ctx.NewCall("double", args[0])
			}
		case ast.ComprehensionKind:
			c := e.AsComprehension()
			visit(c.IterRange())
			visit(c.AccuInit())
			visit(c.LoopCondition())
			visit(c.LoopStep())
			visit(c.Result())
		case ast.ListKind:
			for _, el := range e.AsList().Elements() {
				visit(el)
			}
		case ast.MapKind:
			for _, en := range e.AsMap().Entries() {
				me := en.AsMapEntry()
				visit(me.Key())
				visit(me.Value())
			}
		case ast.SelectKind:
			visit(e.AsSelect().Operand())
		case ast.StructKind:
			for _, f := range e.AsStruct().Fields() {
				visit(f.AsStructField().Value())
			}
		}
	}
	visit(a.Expr())
	return a
}
