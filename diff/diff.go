// Package diff compares the objects a feature repository defines with what
// the registry holds, producing the plan that `feast plan` prints and
// `feast apply` carries out.
package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	// Unmanaged marks a deletion of an object that lacks the ManagedByTag
	// (Python Feast, another tool or an older feast-go created it) or that
	// another feature repository applied (OtherRepo): apply refuses to
	// delete it unless told to.
	Unmanaged bool
	// OtherRepo is, for such a deletion, the RepoTag of the repository that
	// applied the object, when it is not the planning repository.
	OtherRepo string
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

// ManagedByTag and ManagedByValue are the tag every object written by
// feast-go's apply carries in its spec tags; apply deletes only objects that
// carry it unless told otherwise.
const (
	ManagedByTag   = definitions.ToolTagPrefix + "managed-by"
	ManagedByValue = "feast-go"
)

// RepoTag records which feature repository applied an object (see
// RepoIdentity). Objects with the ManagedByTag but without a RepoTag (applied
// before the tag existed) count as every repository's own, and gain the tag
// at the next apply: the plan shows it added once.
const RepoTag = definitions.ToolTagPrefix + "repo"

// Managed reports whether a registry object carries the ManagedByTag with
// the ManagedByValue.
func Managed(m proto.Message) bool {
	return tagsOf(m)[ManagedByTag] == ManagedByValue
}

// RepoOf returns the RepoTag of a registry object ("" when it has none).
func RepoOf(m proto.Message) string {
	return tagsOf(m)[RepoTag]
}

// Foreign reports whether repo may not delete m without being told to:
// feast-go did not create m, or another repository (a RepoTag other than
// repo) applied it. The dummy entity of entity-less views belongs to no one.
// With repo "" only the ManagedByTag counts.
func Foreign(m proto.Message, kind registry.Kind, name, repo string) (foreign bool, otherRepo string) {
	if kind == registry.KindEntity && name == model.DummyEntityName {
		return false, ""
	}
	if !Managed(m) {
		return true, ""
	}
	if r := RepoOf(m); repo != "" && r != "" && r != repo {
		return true, r
	}
	return false, ""
}

// tagsOf returns an object's spec tags (nil for kinds without tags).
func tagsOf(m proto.Message) map[string]string {
	switch x := m.(type) {
	case *core.DataSource:
		return x.GetTags()
	case *core.Entity:
		return x.GetSpec().GetTags()
	case *core.FeatureView:
		return x.GetSpec().GetTags()
	case *core.StreamFeatureView:
		return x.GetSpec().GetTags()
	case *core.OnDemandFeatureView:
		return x.GetSpec().GetTags()
	case *core.FeatureService:
		return x.GetSpec().GetTags()
	case *core.Permission:
		return x.GetSpec().GetTags()
	}
	return nil
}

// markManaged sets the ManagedByTag, and the RepoTag unless repo is "", in
// the spec tags of an object built from the repository.
func markManaged(m proto.Message, repo string) {
	set := func(tags *map[string]string) {
		if *tags == nil {
			*tags = map[string]string{}
		}
		(*tags)[ManagedByTag] = ManagedByValue
		if repo != "" {
			(*tags)[RepoTag] = repo
		}
	}
	switch x := m.(type) {
	case *core.DataSource:
		set(&x.Tags)
	case *core.Entity:
		set(&x.Spec.Tags)
	case *core.FeatureView:
		set(&x.Spec.Tags)
	case *core.StreamFeatureView:
		set(&x.Spec.Tags)
	case *core.OnDemandFeatureView:
		set(&x.Spec.Tags)
	case *core.FeatureService:
		set(&x.Spec.Tags)
	case *core.Permission:
		set(&x.Spec.Tags)
	default:
		panic(fmt.Sprintf("diff: cannot tag %T", m))
	}
}

// UnmanagedDeletes returns the deletions of objects feast-go did not
// create (see ObjectDiff.Unmanaged).
func (p *Plan) UnmanagedDeletes() []ObjectDiff {
	var out []ObjectDiff
	for _, o := range p.Objects {
		if o.Action == Delete && o.Unmanaged {
			out = append(out, o)
		}
	}
	return out
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

// Desired converts a repository's objects to registry protos for project,
// each tagged with the ManagedByTag.
func Desired(repo *definitions.Repo, project string) []registry.Object {
	return DesiredFor(repo, project, "")
}

// DesiredFor is Desired for the feature repository whose identity is
// repoID (see RepoIdentity): each object also carries the RepoTag. The tag
// is part of what Compute compares, so a plan shows it added to objects an
// older apply wrote, and shows an object another repository applied
// changing hands.
func DesiredFor(repo *definitions.Repo, project, repoID string) []registry.Object {
	out := desired(repo, project)
	for _, o := range out {
		markManaged(o.Msg, repoID)
	}
	return out
}

func desired(repo *definitions.Repo, project string) []registry.Object {
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
	for _, p := range repo.Permissions {
		out = append(out, registry.Object{Kind: registry.KindPermission, Name: p.Name, Msg: p.ToProto(project)})
	}
	return out
}

// Compute diffs desired objects against the registry's objects of project.
func Compute(current *core.Registry, project string, desired []registry.Object) *Plan {
	return ComputeFor(current, project, desired, "")
}

// ComputeFor is Compute for the feature repository repoID: deleting an
// object another repository applied is marked Unmanaged too, with its
// OtherRepo.
func ComputeFor(current *core.Registry, project string, desired []registry.Object, repoID string) *Plan {
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
			// The dummy entity is an artifact of entity-less views, which
			// any apply that needs it writes again: not an object of its own.
			unmanaged, other := Foreign(c.Msg, c.Kind, c.Name, repoID)
			p.Objects = append(p.Objects, ObjectDiff{Kind: c.Kind, Name: c.Name, Action: Delete, Current: c.Msg, Unmanaged: unmanaged, OtherRepo: other})
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
	case *core.Permission:
		s = proto.Clone(x.GetSpec())
	default:
		return m
	}
	if !s.ProtoReflect().IsValid() {
		s = s.ProtoReflect().New().Interface() // a stored object without a spec
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
// type, with readable old and new values. It handles every field kind:
// scalars (bytes by content, floats with NaN equal to NaN, as proto.Equal
// does), enums, nested messages (one property per changed leaf, path
// "a.b"), oneofs (one property naming the member set on each side), maps
// (one property per changed key, path "tags[team]") and lists. Lists of
// named messages (features, projections) are compared element by element by
// name ("features[trips]"), with a separate "order" property when only the
// order changed; lists with unnamed or repeated names are compared by
// position ("features[0]"). Unknown fields are not compared: definitions
// cannot set them.
//
// Properties returns nothing exactly when the messages are equal as
// proto.Equal sees them after discarding unknown fields.
func Properties(oldM, newM proto.Message) []Property {
	var out []Property
	diffMessage("", oldM.ProtoReflect(), newM.ProtoReflect(), &out)
	return out
}

func diffMessage(prefix string, a, b protoreflect.Message, out *[]Property) {
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			fa, fb := a.WhichOneof(od), b.WhichOneof(od)
			if !sameField(fa, fb) {
				// Different members: one property for the oneof, at its
				// first member.
				if od.Fields().Get(0).Number() == fd.Number() {
					*out = append(*out, Property{Path: prefix + string(od.Name()), Old: renderOneof(a, fa), New: renderOneof(b, fb)})
				}
				continue
			}
		}
		if !a.Has(fd) && !b.Has(fd) {
			continue
		}
		diffField(prefix+string(fd.Name()), fd, a, b, out)
	}
}

func sameField(a, b protoreflect.FieldDescriptor) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Number() == b.Number()
}

// diffField reports the differences of one field that is set in a or b.
func diffField(path string, fd protoreflect.FieldDescriptor, a, b protoreflect.Message, out *[]Property) {
	va, vb := a.Get(fd), b.Get(fd)
	switch {
	case fd.IsMap():
		diffMap(path, fd, va.Map(), vb.Map(), out)
	case fd.IsList() && isMessage(fd) && !isLeafMessage(fd.Message()):
		if hasNameField(fd.Message()) {
			diffNamedList(path, va.List(), vb.List(), out)
		} else {
			diffListByPosition(path, va.List(), vb.List(), out)
		}
	case fd.IsList():
		if !equalValue(fd, va, vb) {
			*out = append(*out, Property{Path: path, Old: render(a, fd), New: render(b, fd)})
		}
	case isMessage(fd) && !isLeafMessage(fd.Message()):
		if a.Has(fd) && b.Has(fd) {
			diffMessage(path+".", va.Message(), vb.Message(), out)
		} else {
			*out = append(*out, Property{Path: path, Old: render(a, fd), New: render(b, fd)})
		}
	default:
		if fd.HasPresence() && a.Has(fd) != b.Has(fd) || !equalSingular(fd, va, vb) {
			*out = append(*out, Property{Path: path, Old: render(a, fd), New: render(b, fd)})
		}
	}
}

// diffMap reports each added, removed and changed key, in key order.
func diffMap(path string, fd protoreflect.FieldDescriptor, a, b protoreflect.Map, out *[]Property) {
	vfd := fd.MapValue()
	for _, k := range mapKeys(a, b) {
		kp := fmt.Sprintf("%s[%s]", path, pathKey(k.String()))
		va, okA := getMap(a, k)
		vb, okB := getMap(b, k)
		switch {
		case !okA:
			*out = append(*out, Property{Path: kp, Old: "(none)", New: renderScalar(vfd, vb)})
		case !okB:
			*out = append(*out, Property{Path: kp, Old: renderScalar(vfd, va), New: "(removed)"})
		case isMessage(vfd) && !isLeafMessage(vfd.Message()):
			diffMessage(kp+".", va.Message(), vb.Message(), out)
		case !equalSingular(vfd, va, vb):
			*out = append(*out, Property{Path: kp, Old: renderScalar(vfd, va), New: renderScalar(vfd, vb)})
		}
	}
}

func getMap(m protoreflect.Map, k protoreflect.MapKey) (protoreflect.Value, bool) {
	if !m.Has(k) {
		return protoreflect.Value{}, false
	}
	return m.Get(k), true
}

// mapKeys returns the keys of a and b, sorted.
func mapKeys(maps ...protoreflect.Map) []protoreflect.MapKey {
	seen := map[any]bool{}
	var keys []protoreflect.MapKey
	for _, m := range maps {
		m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			if !seen[k.Interface()] {
				seen[k.Interface()] = true
				keys = append(keys, k)
			}
			return true
		})
	}
	sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
	return keys
}

func lessKey(a, b protoreflect.MapKey) bool {
	switch x := a.Interface().(type) {
	case string:
		return x < b.String()
	case bool:
		return !x && b.Bool()
	case int32, int64:
		return a.Int() < b.Int()
	case uint32, uint64:
		return a.Uint() < b.Uint()
	}
	return a.String() < b.String()
}

// pathKey renders a map key or element name inside a path's brackets:
// as is when plain, quoted when it holds spaces, brackets, quotes, dots or
// control characters (or is empty).
func pathKey(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '[' || r == ']' || r == '"' || r == '.' || r == 0x7f || !unicode.IsPrint(r)
	}) || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}

func isMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
}

func hasNameField(md protoreflect.MessageDescriptor) bool {
	return nameField(md) != nil
}

func nameField(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	for _, n := range []protoreflect.Name{"name", "feature_view_name"} {
		if f := md.Fields().ByName(n); f != nil && f.Kind() == protoreflect.StringKind && f.Cardinality() != protoreflect.Repeated {
			return f
		}
	}
	return nil
}

func nameOf(m protoreflect.Message) string {
	if f := nameField(m.Descriptor()); f != nil {
		return m.Get(f).String()
	}
	return ""
}

// uniqueNames returns the element names of l and whether they identify
// the elements: every name non-empty and used once.
func uniqueNames(l protoreflect.List) ([]string, map[string]protoreflect.Message, bool) {
	names := make([]string, l.Len())
	byName := make(map[string]protoreflect.Message, l.Len())
	ok := true
	for i := range names {
		m := l.Get(i).Message()
		names[i] = nameOf(m)
		if _, dup := byName[names[i]]; dup || names[i] == "" {
			ok = false
		}
		byName[names[i]] = m
	}
	return names, byName, ok
}

func diffNamedList(path string, a, b protoreflect.List, out *[]Property) {
	aNames, am, okA := uniqueNames(a)
	bNames, bm, okB := uniqueNames(b)
	if !okA || !okB {
		diffListByPosition(path, a, b, out)
		return
	}
	for _, n := range bNames {
		if _, ok := am[n]; !ok {
			*out = append(*out, Property{Path: fmt.Sprintf("%s[%s]", path, pathKey(n)), Old: "(none)", New: renderMessage(bm[n])})
		}
	}
	for _, n := range aNames {
		bmsg, ok := bm[n]
		if !ok {
			*out = append(*out, Property{Path: fmt.Sprintf("%s[%s]", path, pathKey(n)), Old: renderMessage(am[n]), New: "(removed)"})
			continue
		}
		diffMessage(fmt.Sprintf("%s[%s].", path, pathKey(n)), am[n], bmsg, out)
	}
	// Order matters (entity columns, the feature order of outputs): when
	// the same names appear in another order, say so.
	if slices.Equal(aNames, bNames) || len(aNames) != len(bNames) {
		return
	}
	for n := range am {
		if _, ok := bm[n]; !ok {
			return // additions and removals were reported above
		}
	}
	*out = append(*out, Property{Path: path + " order", Old: strings.Join(aNames, ", "), New: strings.Join(bNames, ", ")})
}

// diffListByPosition compares list elements pairwise, then reports the
// elements only one side has.
func diffListByPosition(path string, a, b protoreflect.List, out *[]Property) {
	for i := 0; i < max(a.Len(), b.Len()); i++ {
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case i >= a.Len():
			*out = append(*out, Property{Path: ip, Old: "(none)", New: renderMessage(b.Get(i).Message())})
		case i >= b.Len():
			*out = append(*out, Property{Path: ip, Old: renderMessage(a.Get(i).Message()), New: "(removed)"})
		default:
			diffMessage(ip+".", a.Get(i).Message(), b.Get(i).Message(), out)
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

// equalValue compares two values of field fd: lists element by element,
// maps key by key.
func equalValue(fd protoreflect.FieldDescriptor, a, b protoreflect.Value) bool {
	switch {
	case fd.IsList():
		la, lb := a.List(), b.List()
		if la.Len() != lb.Len() {
			return false
		}
		for i := 0; i < la.Len(); i++ {
			if !equalSingular(fd, la.Get(i), lb.Get(i)) {
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
			eq = mb.Has(k) && equalSingular(fd.MapValue(), v, mb.Get(k))
			return eq
		})
		return eq
	}
	return equalSingular(fd, a, b)
}

// equalSingular compares two single values of fd's kind (an element, for
// lists; the value, for maps).
func equalSingular(fd protoreflect.FieldDescriptor, a, b protoreflect.Value) bool {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return equalMessage(a.Message(), b.Message())
	case protoreflect.BoolKind:
		return a.Bool() == b.Bool()
	case protoreflect.EnumKind:
		return a.Enum() == b.Enum()
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return a.Int() == b.Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return a.Uint() == b.Uint()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		x, y := a.Float(), b.Float()
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	case protoreflect.StringKind:
		return a.String() == b.String()
	case protoreflect.BytesKind:
		return bytes.Equal(a.Bytes(), b.Bytes())
	}
	panic(fmt.Sprintf("diff: field %s has unhandled kind %v", fd.FullName(), fd.Kind()))
}

// equalMessage compares the known fields of two messages of one type.
// Fields without presence compare by value, so -0 equals an unset 0.
func equalMessage(a, b protoreflect.Message) bool {
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.HasPresence() && a.Has(fd) != b.Has(fd) {
			return false
		}
		if (a.Has(fd) || b.Has(fd)) && !equalValue(fd, a.Get(fd), b.Get(fd)) {
			return false
		}
	}
	return true
}

func render(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	if !m.Has(fd) && (fd.IsList() || fd.IsMap() || fd.HasPresence()) {
		return "(none)"
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
		for _, k := range mapKeys(v.Map()) {
			parts = append(parts, fmt.Sprintf("%s=%s", pathKey(k.String()), renderScalar(fd.MapValue(), v.Map().Get(k))))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return renderScalar(fd, v)
}

// renderOneof renders the member of a oneof that m sets, as "member: value".
func renderOneof(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	if fd == nil {
		return "(none)"
	}
	return string(fd.Name()) + ": " + render(m, fd)
}

// maxBinary is how many bytes of a binary value the plan shows in hex;
// longer values are shown by size and digest.
const maxBinary = 32

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
		return strconv.Quote(v.String())
	case protoreflect.BytesKind:
		return renderBytes(v.Bytes())
	}
	return fmt.Sprint(v.Interface())
}

// renderBytes shows JSON (such as a PostgreSQL source's options) as is,
// other text quoted, short binary values in hex and long ones by size and
// SHA-256 prefix.
func renderBytes(b []byte) string {
	switch {
	case len(b) > 0 && json.Valid(b) && !bytes.ContainsAny(b, "\n\r"):
		return string(b)
	case utf8.Valid(b):
		return strconv.Quote(string(b))
	case len(b) <= maxBinary:
		return "0x" + hex.EncodeToString(b)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("(%d bytes, sha256 %x)", len(b), sum[:6])
}

func renderMessage(m protoreflect.Message) string {
	switch x := m.Interface().(type) {
	case *durationpb.Duration:
		// Durations beyond time.Duration's ±292 years (or invalid) are
		// shown as stored rather than saturated.
		if x.CheckValid() == nil && proto.Equal(durationpb.New(x.AsDuration()), x) {
			return definitions.FormatDuration(x.AsDuration())
		}
		return fmt.Sprintf("{seconds: %d, nanos: %d}", x.GetSeconds(), x.GetNanos())
	case *timestamppb.Timestamp:
		if x.CheckValid() == nil {
			return x.AsTime().Format(time.RFC3339Nano)
		}
		return fmt.Sprintf("{seconds: %d, nanos: %d}", x.GetSeconds(), x.GetNanos())
	case *core.FeatureSpecV2:
		return fmt.Sprintf("%s %s", x.GetName(), model.DTypeName(x.GetValueType()))
	}
	if n := nameOf(m); n != "" {
		return n
	}
	var parts []string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		parts = append(parts, fmt.Sprintf("%s: %s", fd.Name(), render(m, fd)))
		return true
	})
	sort.Strings(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}
