// Package diff compares the objects a feature repository defines with what
// the registry holds, producing the plan that `feast plan` prints and
// `feast apply` carries out.
package diff

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
)

// Action is what apply does to one object.
type Action string

// Actions.
const (
	Create    Action = "Created"
	Update    Action = "Updated"
	Delete    Action = "Deleted"
	Unchanged Action = "Unchanged"
)

// Property is one changed field of an updated object.
type Property struct {
	Path     string
	Old, New string
}

// ObjectDiff is the change to one registry object.
type ObjectDiff struct {
	Kind       registry.Kind
	Name       string
	Action     Action
	Properties []Property
	// Current is the object in the registry (nil when created); Desired is
	// the object from the repository (nil when deleted).
	Current, Desired proto.Message
}

// InfraDiff is a change to online-store infrastructure.
type InfraDiff struct {
	Action Action
	Name   string // e.g. "sqlite table proj_driver_stats"
}

// Plan is every change apply would make.
type Plan struct {
	Project string
	Objects []ObjectDiff
	Infra   []InfraDiff
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	for _, o := range p.Objects {
		if o.Action != Unchanged {
			return true
		}
	}
	return len(p.Infra) > 0
}

// Desired converts a repository's objects to registry protos for project.
func Desired(repo *definitions.Repo, project string) []registry.Object {
	var out []registry.Object
	for _, s := range repo.DataSources {
		out = append(out, registry.Object{Kind: registry.KindDataSource, Name: s.Name, Msg: s.ToProto(project)})
	}
	needDummy := false
	for _, fv := range repo.FeatureViews {
		if len(fv.Entities) == 1 && fv.Entities[0] == model.DummyEntityName {
			needDummy = true
		}
	}
	entities := repo.Entities
	if needDummy {
		entities = append(append([]*model.Entity(nil), entities...), &model.Entity{Name: model.DummyEntityName, JoinKey: model.DummyEntityJoinKey, ValueType: model.Invalid}) // Feast's DUMMY_ENTITY: value type UNKNOWN
	}
	for _, e := range entities {
		out = append(out, registry.Object{Kind: registry.KindEntity, Name: e.Name, Msg: e.ToProto(project)})
	}
	views := map[string]*model.FeatureView{}
	for _, fv := range repo.FeatureViews {
		views[fv.Name] = fv
		if fv.IsStream {
			out = append(out, registry.Object{Kind: registry.KindStreamView, Name: fv.Name, Msg: fv.ToStreamProto(project)})
		} else {
			out = append(out, registry.Object{Kind: registry.KindFeatureView, Name: fv.Name, Msg: fv.ToProto(project)})
		}
	}
	for _, o := range repo.OnDemandViews {
		out = append(out, registry.Object{Kind: registry.KindOnDemandView, Name: o.Name, Msg: o.ToProto(project, views)})
	}
	for _, fs := range repo.FeatureServices {
		out = append(out, registry.Object{Kind: registry.KindFeatureService, Name: fs.Name, Msg: fs.ToProto(project)})
	}
	return out
}

// Compute diffs desired objects against the registry's objects of project.
func Compute(current *core.Registry, project string, desired []registry.Object) *Plan {
	p := &Plan{Project: project}
	cur := map[string]registry.Object{}
	for _, o := range registry.Objects(current, project) {
		cur[string(o.Kind)+"/"+o.Name] = o
	}
	seen := map[string]bool{}
	for _, d := range desired {
		key := string(d.Kind) + "/" + d.Name
		seen[key] = true
		c, ok := cur[key]
		if !ok {
			p.Objects = append(p.Objects, ObjectDiff{Kind: d.Kind, Name: d.Name, Action: Create, Desired: d.Msg})
			continue
		}
		props := Properties(spec(c.Msg), spec(d.Msg))
		action := Unchanged
		if len(props) > 0 {
			action = Update
		}
		p.Objects = append(p.Objects, ObjectDiff{Kind: d.Kind, Name: d.Name, Action: action, Properties: props, Current: c.Msg, Desired: d.Msg})
	}
	for _, c := range registry.Objects(current, project) {
		if !seen[string(c.Kind)+"/"+c.Name] {
			p.Objects = append(p.Objects, ObjectDiff{Kind: c.Kind, Name: c.Name, Action: Delete, Current: c.Msg})
		}
	}
	order := map[registry.Kind]int{}
	for i, k := range registry.Kinds {
		order[k] = i
	}
	sort.SliceStable(p.Objects, func(i, j int) bool {
		a, b := p.Objects[i], p.Objects[j]
		if order[a.Kind] != order[b.Kind] {
			return order[a.Kind] < order[b.Kind]
		}
		return a.Name < b.Name
	})
	return p
}

// spec returns the part of an object that definitions control: the spec
// (or the whole data source minus meta), without the project.
func spec(m proto.Message) proto.Message {
	var s proto.Message
	switch x := m.(type) {
	case *core.DataSource:
		c := proto.Clone(x).(*core.DataSource)
		c.Meta = nil
		s = c
	case *core.Entity:
		s = proto.Clone(x.GetSpec())
	case *core.FeatureView:
		s = proto.Clone(x.GetSpec())
	case *core.StreamFeatureView:
		s = proto.Clone(x.GetSpec())
	case *core.OnDemandFeatureView:
		s = proto.Clone(x.GetSpec())
	case *core.FeatureService:
		s = proto.Clone(x.GetSpec())
	default:
		return m
	}
	clearProject(s.ProtoReflect())
	return s
}

func clearProject(m protoreflect.Message) {
	if f := m.Descriptor().Fields().ByName("project"); f != nil && f.Kind() == protoreflect.StringKind {
		m.Clear(f)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					clearProject(mv.Message())
					return true
				})
			}
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len(); i++ {
				clearProject(v.List().Get(i).Message())
			}
		case fd.Kind() == protoreflect.MessageKind:
			clearProject(v.Message())
		}
		return true
	})
}

// Properties lists the fields that differ between two messages of the same
// type, with readable old and new values. Lists of named messages (features,
// projections) are compared element by element by name.
func Properties(oldM, newM proto.Message) []Property {
	var out []Property
	diffMessage("", oldM.ProtoReflect(), newM.ProtoReflect(), &out)
	return out
}

func diffMessage(prefix string, a, b protoreflect.Message, out *[]Property) {
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		path := prefix + string(fd.Name())
		if fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic() {
			if a.Has(fd) != b.Has(fd) {
				*out = append(*out, Property{Path: path, Old: render(a, fd), New: render(b, fd)})
				continue
			}
		}
		if !a.Has(fd) && !b.Has(fd) {
			continue
		}
		va, vb := a.Get(fd), b.Get(fd)
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind && hasNameField(fd.Message()):
			diffNamedList(path, va.List(), vb.List(), out)
		case fd.IsMap() || fd.IsList():
			if !equalValue(fd, va, vb) {
				*out = append(*out, Property{Path: path, Old: render(a, fd), New: render(b, fd)})
			}
		case fd.Kind() == protoreflect.MessageKind && !isLeafMessage(fd.Message()):
			if a.Has(fd) && b.Has(fd) {
				diffMessage(path+".", va.Message(), vb.Message(), out)
			} else {
				*out = append(*out, Property{Path: path, Old: render(a, fd), New: render(b, fd)})
			}
		default:
			if !equalValue(fd, va, vb) {
				*out = append(*out, Property{Path: path, Old: render(a, fd), New: render(b, fd)})
			}
		}
	}
}

func hasNameField(md protoreflect.MessageDescriptor) bool {
	for _, n := range []protoreflect.Name{"name", "feature_view_name"} {
		if f := md.Fields().ByName(n); f != nil && f.Kind() == protoreflect.StringKind {
			return true
		}
	}
	return false
}

func nameOf(m protoreflect.Message) string {
	for _, n := range []protoreflect.Name{"name", "feature_view_name"} {
		if f := m.Descriptor().Fields().ByName(n); f != nil && f.Kind() == protoreflect.StringKind {
			return m.Get(f).String()
		}
	}
	return ""
}

func diffNamedList(path string, a, b protoreflect.List, out *[]Property) {
	am, bm := map[string]protoreflect.Message{}, map[string]protoreflect.Message{}
	var aNames, bNames []string
	for i := 0; i < a.Len(); i++ {
		m := a.Get(i).Message()
		am[nameOf(m)] = m
		aNames = append(aNames, nameOf(m))
	}
	for i := 0; i < b.Len(); i++ {
		m := b.Get(i).Message()
		bm[nameOf(m)] = m
		bNames = append(bNames, nameOf(m))
	}
	for _, n := range bNames {
		if _, ok := am[n]; !ok {
			*out = append(*out, Property{Path: fmt.Sprintf("%s[%s]", path, n), Old: "(none)", New: renderMessage(bm[n])})
		}
	}
	for _, n := range aNames {
		bmsg, ok := bm[n]
		if !ok {
			*out = append(*out, Property{Path: fmt.Sprintf("%s[%s]", path, n), Old: renderMessage(am[n]), New: "(removed)"})
			continue
		}
		diffMessage(fmt.Sprintf("%s[%s].", path, n), am[n], bmsg, out)
	}
	if len(*out) == 0 || true {
		// Order changes matter for entity columns and feature order in outputs.
		same := len(aNames) == len(bNames)
		for i := 0; same && i < len(aNames); i++ {
			same = aNames[i] == bNames[i]
		}
		setEqual := len(am) == len(bm)
		for n := range am {
			if _, ok := bm[n]; !ok {
				setEqual = false
			}
		}
		if !same && setEqual {
			*out = append(*out, Property{Path: path + " order", Old: strings.Join(aNames, ", "), New: strings.Join(bNames, ", ")})
		}
	}
}

// isLeafMessage reports messages rendered as one value (durations, timestamps).
func isLeafMessage(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.Duration", "google.protobuf.Timestamp":
		return true
	}
	return false
}

func equalValue(fd protoreflect.FieldDescriptor, a, b protoreflect.Value) bool {
	switch {
	case fd.IsList():
		la, lb := a.List(), b.List()
		if la.Len() != lb.Len() {
			return false
		}
		for i := 0; i < la.Len(); i++ {
			if !equalScalar(fd, la.Get(i), lb.Get(i)) {
				return false
			}
		}
		return true
	case fd.IsMap():
		ma, mb := a.Map(), b.Map()
		if ma.Len() != mb.Len() {
			return false
		}
		eq := true
		ma.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			w := mb.Get(k)
			if !mb.Has(k) || !equalScalar(fd.MapValue(), v, w) {
				eq = false
			}
			return eq
		})
		return eq
	}
	return equalScalar(fd, a, b)
}

func equalScalar(fd protoreflect.FieldDescriptor, a, b protoreflect.Value) bool {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		return proto.Equal(a.Message().Interface(), b.Message().Interface())
	}
	return a.Interface() == b.Interface() || fmt.Sprint(a.Interface()) == fmt.Sprint(b.Interface())
}

func render(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	if !m.Has(fd) {
		if fd.IsList() || fd.IsMap() || fd.Kind() == protoreflect.MessageKind {
			return "(none)"
		}
	}
	v := m.Get(fd)
	switch {
	case fd.IsList():
		parts := make([]string, v.List().Len())
		for i := range parts {
			parts[i] = renderScalar(fd, v.List().Get(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case fd.IsMap():
		var parts []string
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			parts = append(parts, fmt.Sprintf("%s=%s", k.String(), renderScalar(fd.MapValue(), mv)))
			return true
		})
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return renderScalar(fd, v)
}

func renderScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return renderMessage(v.Message())
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "feast.types.ValueType.Enum" {
			return model.DTypeName(types.ValueType_Enum(v.Enum()))
		}
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return fmt.Sprint(v.Enum())
	case protoreflect.StringKind:
		return fmt.Sprintf("%q", v.String())
	case protoreflect.BytesKind:
		return fmt.Sprintf("%q", v.Bytes())
	}
	return fmt.Sprint(v.Interface())
}

func renderMessage(m protoreflect.Message) string {
	switch x := m.Interface().(type) {
	case *durationpb.Duration:
		return definitions.FormatDuration(x.AsDuration())
	case *core.FeatureSpecV2:
		return fmt.Sprintf("%s %s", x.GetName(), model.DTypeName(x.GetValueType()))
	}
	if n := nameOf(m); n != "" {
		return n
	}
	if t, ok := m.Interface().(interface{ AsTime() time.Time }); ok {
		return t.AsTime().Format(time.RFC3339)
	}
	var parts []string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		parts = append(parts, fmt.Sprintf("%s: %s", fd.Name(), render(m, fd)))
		return true
	})
	return "{" + strings.Join(parts, ", ") + "}"
}
