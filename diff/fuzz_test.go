package diff

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// objectTypes are the registry objects the diff compares, plus the whole
// registry (which nests every other registry message).
var objectTypes = []struct {
	kind registry.Kind // empty for the registry itself
	msg  proto.Message
}{
	{registry.KindDataSource, &core.DataSource{}},
	{registry.KindEntity, &core.Entity{}},
	{registry.KindFeatureView, &core.FeatureView{}},
	{registry.KindStreamView, &core.StreamFeatureView{}},
	{registry.KindOnDemandView, &core.OnDemandFeatureView{}},
	{registry.KindFeatureService, &core.FeatureService{}},
	{registry.KindPermission, &core.Permission{}},
	{"", &core.Registry{}},
}

// FuzzProperties diffs random registry objects of every kind: an object
// against a copy of itself (no changes) and against a variant of itself
// (changes exactly when the two differ), through Properties and Compute.
// With raw set, the objects are the fuzz bytes unmarshaled (arbitrary
// contents, unknown fields included); otherwise the bytes drive a
// generator that sets fields of every kind, then mutates a copy.
//
//	go test -run '^$' -fuzz FuzzProperties -fuzztime 10s ./diff/
func FuzzProperties(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed.kind, seed.a, seed.b, seed.raw)
	}
	f.Fuzz(func(t *testing.T, kind uint8, a, b []byte, raw bool) {
		typ := objectTypes[int(kind)%len(objectTypes)]
		x, y := typ.msg.ProtoReflect().New().Interface(), typ.msg.ProtoReflect().New().Interface()
		if raw {
			if proto.Unmarshal(a, x) != nil || proto.Unmarshal(b, y) != nil {
				return
			}
		} else {
			fill(x.ProtoReflect(), &stream{b: a}, 0)
			y = proto.Clone(x)
			fill(y.ProtoReflect(), &stream{b: b}, 0)
		}
		checkPair(t, typ.kind, x, y)
	})
}

// TestPropertiesOfRandomObjects runs the fuzz checks over generated objects
// on every test run.
func TestPropertiesOfRandomObjects(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		typ := objectTypes[i%len(objectTypes)]
		a, b := randomBytes(r, 1+r.IntN(400)), randomBytes(r, r.IntN(40))
		x := typ.msg.ProtoReflect().New().Interface()
		fill(x.ProtoReflect(), &stream{b: a}, 0)
		y := proto.Clone(x)
		fill(y.ProtoReflect(), &stream{b: b}, 0)
		checkPair(t, typ.kind, x, y)
		if t.Failed() {
			t.Fatalf("case %d (%s): x = %v\ny = %v", i, typ.msg.ProtoReflect().Descriptor().Name(), x, y)
		}
	}
}

// checkPair checks the diff of x with a copy of itself, with itself after
// a registry encoding round trip, and with y.
func checkPair(t *testing.T, kind registry.Kind, x, y proto.Message) {
	t.Helper()
	if props := Properties(x, proto.Clone(x)); len(props) > 0 {
		t.Fatalf("an object diffed with its copy has changes: %v", props)
	}
	if data, err := (proto.MarshalOptions{Deterministic: true}).Marshal(x); err == nil {
		back := x.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(data, back); err != nil {
			t.Fatalf("unmarshal a marshaled object: %v", err)
		}
		if props := Properties(x, back); len(props) > 0 {
			t.Fatalf("an object diffed with its decoded encoding has changes: %v", props)
		}
	}
	props := Properties(x, y)
	if equal := knownEqual(x, y); equal != (len(props) == 0) {
		t.Fatalf("proto.Equal (known fields) = %v but Properties = %v", equal, props)
	}
	paths := map[string]bool{}
	for _, p := range props {
		if p.Path == "" || p.Old == p.New || paths[p.Path] {
			t.Fatalf("unreadable property %+v in %v", p, props)
		}
		paths[p.Path] = true
	}
	if kind == "" {
		return
	}
	// Through Compute as stored (possibly without a spec, project or
	// name): no panic.
	stored := &core.Registry{}
	registry.Put(stored, registry.Object{Kind: kind, Msg: x})
	Compute(stored, "", []registry.Object{{Kind: kind, Msg: y}})
	// Through Compute: x in the registry, y desired, under one name.
	cur, want := named(x), named(y)
	r := &core.Registry{}
	registry.Put(r, registry.Object{Kind: kind, Name: "obj", Msg: cur})
	if p := Compute(r, "p", []registry.Object{{Kind: kind, Name: "obj", Msg: proto.Clone(cur)}}); p.HasChanges() {
		t.Fatalf("an object planned against itself has changes: %+v", p.Objects)
	}
	p := Compute(r, "p", []registry.Object{{Kind: kind, Name: "obj", Msg: want}})
	if equal := knownEqual(spec(cur), spec(want)); equal == p.HasChanges() {
		t.Fatalf("specs equal = %v but plan %+v", equal, p.Objects)
	}
}

// knownEqual compares two messages as proto.Equal does, ignoring unknown
// fields and the sign of zero (proto.Clone drops a -0 that proto.Equal
// would count as set).
func knownEqual(x, y proto.Message) bool {
	x, y = proto.Clone(x), proto.Clone(y)
	discardUnknown(x.ProtoReflect())
	discardUnknown(y.ProtoReflect())
	return proto.Equal(x, y)
}

func discardUnknown(m protoreflect.Message) {
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case !fd.HasPresence() && (fd.Kind() == protoreflect.FloatKind || fd.Kind() == protoreflect.DoubleKind) && !fd.IsList() && !fd.IsMap() && v.Float() == 0:
			m.Clear(fd)
		case fd.IsMap():
			if isMessage(fd.MapValue()) {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					discardUnknown(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if isMessage(fd) {
				for i := 0; i < v.List().Len(); i++ {
					discardUnknown(v.List().Get(i).Message())
				}
			}
		case isMessage(fd):
			discardUnknown(v.Message())
		}
		return true
	})
}

// named returns a copy of a registry object with project "p" and name "obj".
func named(m proto.Message) proto.Message {
	m = proto.Clone(m)
	switch x := m.(type) {
	case *core.DataSource:
		x.Project, x.Name = "p", "obj"
		return x
	}
	r := m.ProtoReflect()
	specFD := r.Descriptor().Fields().ByName("spec")
	s := r.Mutable(specFD).Message()
	s.Set(s.Descriptor().Fields().ByName("project"), protoreflect.ValueOfString("p"))
	s.Set(s.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString("obj"))
	return m
}

type seed struct {
	kind uint8
	a, b []byte
	raw  bool
}

// fuzzSeeds are real registry objects (from the fixture repositories),
// each paired with every other object of its kind, and generator inputs.
func fuzzSeeds(tb testing.TB) []seed {
	var seeds []seed
	byKind := map[registry.Kind][][]byte{}
	for _, dir := range fixtureRepos(tb) {
		repo, err := definitions.Load(dir, definitions.Options{})
		if err != nil {
			tb.Fatalf("load %s: %v", dir, err)
		}
		reg := &core.Registry{}
		for _, o := range Desired(repo, "p") {
			registry.Put(reg, o)
			data, err := proto.Marshal(o.Msg)
			if err != nil {
				tb.Fatal(err)
			}
			byKind[o.Kind] = append(byKind[o.Kind], data)
		}
		data, err := proto.Marshal(reg)
		if err != nil {
			tb.Fatal(err)
		}
		byKind[""] = append(byKind[""], data)
	}
	for i, typ := range objectTypes {
		objs := byKind[typ.kind]
		for j := range objs {
			seeds = append(seeds, seed{uint8(i), objs[j], objs[j], true}, seed{uint8(i), objs[j], objs[(j+1)%len(objs)], true})
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 20 {
		seeds = append(seeds, seed{uint8(i), randomBytes(r, 200), randomBytes(r, 20), false})
	}
	return seeds
}

// fixtureRepos are the repositories the project's examples and tests use.
func fixtureRepos(tb testing.TB) []string {
	repos := []string{filepath.Join("..", "examples", "driver_ranking"), filepath.Join("..", "definitions", "testdata", "good")}
	more, err := filepath.Glob(filepath.Join("..", "testdata", "repos", "*"))
	if err != nil {
		tb.Fatal(err)
	}
	return append(repos, more...)
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// stream hands out fuzz bytes; once empty it yields zeros, which the
// generator reads as "leave alone", so every object is finite.
type stream struct{ b []byte }

func (s *stream) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *stream) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (s *stream) bytes() []byte {
	n := min(int(s.byte()%16), len(s.b))
	out := append([]byte(nil), s.b[:n]...)
	s.b = s.b[n:]
	return out
}

// words make names collide, so named lists and map keys match up; they
// include the empty name and characters paths must quote.
var words = []string{"a", "b", "driver_id", "", "x.y", "[k]", "two words", `{"table":"t"}`}

func (s *stream) string() string {
	c := s.byte()
	if c%2 == 0 {
		return words[int(c/2)%len(words)]
	}
	return strings.ToValidUTF8(string(s.bytes()), "?")
}

// fill sets or changes fields of m as the stream says: for each field a
// byte, odd meaning "change it". Scalars get new values, messages are
// filled in place (or cleared), lists grow, shrink, reverse or change an
// element, maps gain, lose or change a key.
func fill(m protoreflect.Message, s *stream, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len() && len(s.b) > 0; i++ {
		fd := fields.Get(i)
		op := s.byte()
		if op&1 == 0 {
			continue
		}
		op >>= 1
		switch {
		case fd.IsMap():
			fillMap(m.Mutable(fd).Map(), fd, s, op, depth)
		case fd.IsList():
			fillList(m, fd, s, op, depth)
		case isMessage(fd):
			if op%4 == 0 || depth >= 6 {
				m.Clear(fd)
			} else {
				fill(m.Mutable(fd).Message(), s, depth+1)
			}
		default:
			m.Set(fd, scalar(fd, s))
		}
	}
}

func fillList(m protoreflect.Message, fd protoreflect.FieldDescriptor, s *stream, op byte, depth int) {
	l := m.Mutable(fd).List()
	switch {
	case op%4 == 0 && depth < 6:
		for n := 1 + int(s.byte()%3); n > 0; n-- {
			l.Append(element(l, fd, s, depth))
		}
	case op%4 == 1 && l.Len() > 0:
		l.Truncate(int(s.byte()) % l.Len())
	case op%4 == 2:
		for i, j := 0, l.Len()-1; i < j; i, j = i+1, j-1 {
			vi, vj := l.Get(i), l.Get(j)
			l.Set(i, vj)
			l.Set(j, vi)
		}
	case l.Len() > 0:
		i := int(s.byte()) % l.Len()
		if isMessage(fd) {
			fill(l.Get(i).Message(), s, depth+1)
		} else {
			l.Set(i, scalar(fd, s))
		}
	}
	if l.Len() == 0 {
		m.Clear(fd)
	}
}

func element(l protoreflect.List, fd protoreflect.FieldDescriptor, s *stream, depth int) protoreflect.Value {
	if !isMessage(fd) {
		return scalar(fd, s)
	}
	v := l.NewElement()
	fill(v.Message(), s, depth+1)
	return v
}

func fillMap(mp protoreflect.Map, fd protoreflect.FieldDescriptor, s *stream, op byte, depth int) {
	vfd := fd.MapValue()
	switch keys := mapKeys(mp); {
	case op%3 == 1 && len(keys) > 0:
		mp.Clear(keys[int(s.byte())%len(keys)])
	case op%3 == 2 && len(keys) > 0 && isMessage(vfd) && depth < 6:
		fill(mp.Mutable(keys[int(s.byte())%len(keys)]).Message(), s, depth+1)
	default:
		k := scalar(fd.MapKey(), s).MapKey()
		if isMessage(vfd) {
			v := mp.NewValue()
			if depth < 6 {
				fill(v.Message(), s, depth+1)
			}
			mp.Set(k, v)
		} else {
			mp.Set(k, scalar(vfd, s))
		}
	}
}

// scalar draws a value of fd's (non-message) kind, favouring edge cases.
func scalar(fd protoreflect.FieldDescriptor, s *stream) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(s.byte()&1 == 1)
	case protoreflect.EnumKind:
		c := s.byte()
		vals := fd.Enum().Values()
		if c < 200 && vals.Len() > 0 {
			return protoreflect.ValueOfEnum(vals.Get(int(c) % vals.Len()).Number())
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(int32(s.uint64()))) // not declared
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(s.uint64()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(s.uint64()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(s.uint64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(s.uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(float(s)))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float(s))
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s.string())
	case protoreflect.BytesKind:
		if c := s.byte(); c%4 == 0 {
			return protoreflect.ValueOfBytes([]byte(words[int(c/4)%len(words)]))
		}
		b := s.bytes()
		if len(b) > 0 && b[0]%2 == 0 {
			b = append(b, make([]byte, 40)...) // long binary: rendered by digest
		}
		return protoreflect.ValueOfBytes(b)
	}
	panic(fmt.Sprintf("scalar: %s is a %v", fd.FullName(), fd.Kind()))
}

func float(s *stream) float64 {
	switch c := s.byte(); c % 8 {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1 - 2*int(c/8%2))
	case 2:
		return math.Copysign(0, -1)
	case 3:
		return float64(c)
	}
	return math.Float64frombits(s.uint64())
}

// TestFixtureReposReplan applies every fixture repository to an empty
// registry, encodes and decodes the registry as the file and SQL stores
// do, and plans again: no changes. Before bytes were compared by content,
// the PostgreSQL source of definitions/testdata/good made this panic.
func TestFixtureReposReplan(t *testing.T) {
	for _, dir := range fixtureRepos(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			repo, err := definitions.Load(dir, definitions.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := &core.Registry{}
			for _, o := range Desired(repo, "p") {
				registry.Put(r, o)
			}
			data, err := proto.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			stored := &core.Registry{}
			if err := proto.Unmarshal(data, stored); err != nil {
				t.Fatal(err)
			}
			if p := Compute(stored, "p", Desired(repo, "p")); p.HasChanges() {
				t.Errorf("second plan has changes:\n%s", renderPlan(p))
			}
		})
	}
}
