package definitions

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
)

// Layout is how Export splits the written definitions into files.
type Layout string

// Layouts.
const (
	// LayoutKind writes one file per kind: entities.yaml, data_sources.yaml,
	// feature_views.yaml, on_demand_feature_views.yaml, feature_services.yaml,
	// permissions.yaml.
	LayoutKind Layout = "kind"
	// LayoutObject writes one file per object: <section>/<name>.yaml.
	LayoutObject Layout = "object"
)

// ToolTagPrefix starts the tag keys our own tools put on registry objects
// (such as feast-go/managed-by); they are not part of a definition, so the
// export leaves them out.
const ToolTagPrefix = "feast-go/"

// Object kinds as definition problems name them.
const (
	kindEntity  = "entity"
	kindSource  = "data source"
	kindView    = "feature view"
	kindODFV    = "on demand feature view"
	kindService = "feature service"
)

// sectionOf maps an object kind to its top-level key.
var sectionOf = map[string]string{
	kindEntity: "entities", kindSource: "data_sources", kindView: "feature_views",
	kindODFV: "on_demand_feature_views", kindService: "feature_services", kindPermission: "permissions",
}

// Gap is something in the registry that the written definitions do not
// carry over exactly.
type Gap struct {
	// Kind and Name identify the object ("feature view", "driver_stats");
	// Kind is empty for registry-level notes.
	Kind, Name string
	// Reason says what is not carried over; Hint what to do about it.
	Reason, Hint string
	// Detail is shown below the hint in the written file's comment (e.g. a
	// Python UDF's source, or a skeleton to complete).
	Detail string
	// Dropped is set when the object is not written at all.
	Dropped bool
}

// Label is the object as problems name it, e.g. `feature view "trips"`.
func (g Gap) Label() string {
	if g.Kind == "" {
		return g.Name
	}
	return objectLabel(g.Kind, g.Name)
}

// String renders the gap on one or two lines.
func (g Gap) String() string {
	s := g.Label() + ": " + g.Reason
	if g.Hint != "" {
		s += "\n    hint: " + g.Hint
	}
	return s
}

// Export is a registry project's objects as YAML definitions.
type Export struct {
	Project string
	objects []*exportObject
	gaps    []Gap
}

type exportObject struct {
	kind, name string
	node       *yaml.Node
	// deps are the objects this one refers to, as "kind/name".
	deps    []string
	dropped bool
}

func (o *exportObject) key() string { return o.kind + "/" + o.name }

// Gaps lists what is not carried over, in kind order then name order.
func (e *Export) Gaps() []Gap { return e.gaps }

// Written reports how many objects the export writes.
func (e *Export) Written() int {
	n := 0
	for _, o := range e.objects {
		if !o.dropped {
			n++
		}
	}
	return n
}

// AddGap records a gap found elsewhere (e.g. by comparing a plan of the
// written definitions with the registry).
func (e *Export) AddGap(g Gap) {
	e.gaps = append(e.gaps, g)
}

// FromRegistry converts the objects of project in reg to definitions. What
// cannot be written (Python UDFs, source types this implementation does not
// read, objects that depend on those, definitions that would not load) is
// left out and listed in Gaps, never dropped silently. Tags under
// ToolTagPrefix are not written.
func FromRegistry(reg *core.Registry, project string) *Export {
	b := &exporter{e: &Export{Project: project}, sources: map[string]*model.DataSource{}, byKey: map[string]*exportObject{}}
	b.collect(reg, project)
	b.check()
	return b.e
}

type exporter struct {
	e       *Export
	sources map[string]*model.DataSource // written data sources by name
	// registered names the data sources the registry holds on their own.
	registered map[string]bool
	byKey      map[string]*exportObject
	views      map[string]*model.FeatureView
	odfvs      map[string]*model.OnDemandFeatureView
}

func (b *exporter) add(kind, name string, node *yaml.Node, deps ...string) {
	o := &exportObject{kind: kind, name: name, node: node, deps: deps}
	b.e.objects = append(b.e.objects, o)
	b.byKey[o.key()] = o
}

func (b *exporter) gap(g Gap) { b.e.gaps = append(b.e.gaps, g) }

func (b *exporter) collect(reg *core.Registry, project string) {
	var srcs []*core.DataSource
	for _, s := range reg.GetDataSources() {
		if s.GetProject() == project {
			srcs = append(srcs, s)
		}
	}
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].GetName() < srcs[j].GetName() })
	var views []*model.FeatureView
	for _, p := range reg.GetFeatureViews() {
		if p.GetSpec().GetProject() == project {
			views = append(views, model.FeatureViewFromProto(p))
		}
	}
	for _, p := range reg.GetStreamFeatureViews() {
		if p.GetSpec().GetProject() == project {
			views = append(views, model.StreamFeatureViewFromProto(p))
		}
	}
	sort.SliceStable(views, func(i, j int) bool { return views[i].Name < views[j].Name })

	// Data sources: registered ones first, then sources only embedded in
	// other objects (batch sources, request sources) that definitions
	// must name.
	b.registered = map[string]bool{}
	for _, p := range srcs {
		b.registered[p.GetName()] = true
	}
	for _, p := range srcs {
		b.source(model.DataSourceFromProto(p), "")
	}
	b.entities(reg, project, views)
	b.views = map[string]*model.FeatureView{}
	for _, fv := range views {
		b.views[fv.Name] = fv
		b.featureView(fv)
	}
	b.odfvs = map[string]*model.OnDemandFeatureView{}
	var odfvs []*core.OnDemandFeatureView
	for _, p := range reg.GetOnDemandFeatureViews() {
		if p.GetSpec().GetProject() == project {
			odfvs = append(odfvs, p)
		}
	}
	sort.SliceStable(odfvs, func(i, j int) bool { return odfvs[i].GetSpec().GetName() < odfvs[j].GetSpec().GetName() })
	for _, p := range odfvs {
		b.onDemandView(p)
	}
	var services []*model.FeatureService
	for _, p := range reg.GetFeatureServices() {
		if p.GetSpec().GetProject() == project {
			services = append(services, model.FeatureServiceFromProto(p))
		}
	}
	sort.SliceStable(services, func(i, j int) bool { return services[i].Name < services[j].Name })
	for _, fs := range services {
		b.featureService(fs)
	}
	var perms []*model.Permission
	for _, p := range reg.GetPermissions() {
		if p.GetSpec().GetProject() == project {
			perms = append(perms, model.PermissionFromProto(p))
		}
	}
	sort.SliceStable(perms, func(i, j int) bool { return perms[i].Name < perms[j].Name })
	for _, p := range perms {
		if reason, bad := permissionGap(p); bad {
			b.add(kindPermission, p.Name, nil)
			b.byKey[kindPermission+"/"+p.Name].dropped = true
			b.gap(Gap{Kind: kindPermission, Name: p.Name, Dropped: true, Reason: reason,
				Hint: "it comes from a newer Feast: keep managing it there, or define it by hand without that type or action"})
			continue
		}
		b.permission(p)
	}
}

// source writes a data source; embeddedIn names the object it was found
// inside when it is not registered on its own.
func (b *exporter) source(s *model.DataSource, embeddedIn string) {
	if s == nil || s.Name == "" {
		return
	}
	if _, done := b.sources[s.Name]; done {
		return
	}
	if embeddedIn != "" && b.registered[s.Name] {
		return // written (or listed) from the registered copy
	}
	if _, seen := b.byKey[kindSource+"/"+s.Name]; seen {
		return // already listed as not carried over
	}
	if s.Kind == model.SourceOther {
		b.add(kindSource, s.Name, nil)
		b.byKey[kindSource+"/"+s.Name].dropped = true
		b.gap(Gap{Kind: kindSource, Name: s.Name, Dropped: true,
			Reason: "its source type is not supported here (supported: " + strings.Join(sourceKinds, ", ") + ")",
			Hint:   "keep the objects that read it in Python Feast, or land its data in a file or PostgreSQL table and define that source"})
		return
	}
	b.sources[s.Name] = s
	m := mapping()
	m.set("name", str(s.Name))
	m.set("type", str(string(s.Kind)))
	var deps []string
	switch s.Kind {
	case model.SourceFile:
		m.set("path", str(s.Path))
		inferred := "parquet"
		if strings.HasSuffix(strings.ToLower(s.Path), ".csv") {
			inferred = "csv"
		}
		if s.FileFormat != "" && s.FileFormat != inferred {
			m.set("file_format", str(s.FileFormat))
		}
		if s.S3EndpointOverride != "" {
			m.set("s3_endpoint_override", str(s.S3EndpointOverride))
		}
	case model.SourcePostgres:
		if s.Table != "" {
			m.set("table", str(s.Table))
		}
		if s.Query != "" {
			m.set("query", str(s.Query))
		}
	case model.SourceKafka:
		m.set("kafka_bootstrap_servers", str(s.KafkaBootstrapServers))
		m.set("topic", str(s.Topic))
		if s.MessageFormat != "" && s.MessageFormat != "json" {
			m.set("message_format", str(s.MessageFormat))
		}
		if s.SchemaJSON != "" {
			m.set("schema_json", str(s.SchemaJSON))
		}
	case model.SourceRequest:
		m.set("schema", schemaNode(s.Schema, false))
	case model.SourceIceberg:
		exportIceberg(m, s.Iceberg)
	}
	if s.Kind == model.SourcePush || s.Kind == model.SourceKafka {
		if s.BatchSource != nil && s.BatchSource.Name != "" {
			m.set("batch_source", str(s.BatchSource.Name))
			deps = append(deps, kindSource+"/"+s.BatchSource.Name)
		}
	}
	if s.Kind != model.SourcePush && s.Kind != model.SourceRequest {
		if s.TimestampField != "" {
			m.set("timestamp_field", str(s.TimestampField))
		}
		if s.CreatedTimestampColumn != "" {
			m.set("created_timestamp_column", str(s.CreatedTimestampColumn))
		}
		if s.DatePartitionColumn != "" && s.Kind != model.SourceKafka {
			m.set("date_partition_column", str(s.DatePartitionColumn))
		}
		if len(s.FieldMapping) > 0 {
			m.set("field_mapping", strMapNode(s.FieldMapping, true))
		}
	}
	if s.Kind == model.SourceKafka && s.WatermarkDelay > 0 {
		m.set("watermark_delay_threshold", str(FormatDuration(s.WatermarkDelay)))
	}
	m.common(s.Description, s.Owner, s.Tags)
	b.add(kindSource, s.Name, m.node, deps...)
	if embeddedIn != "" {
		b.gap(Gap{Kind: kindSource, Name: s.Name,
			Reason: "is registered only inside " + embeddedIn + "; it is written as a data source of its own",
			Hint:   "apply will register it as a data source too"})
	}
	if s.BatchSource != nil {
		b.source(s.BatchSource, objectLabel(kindSource, s.Name))
	}
}

// entities writes the entities, except Feast's placeholder for views
// without entities (apply adds it back when needed).
func (b *exporter) entities(reg *core.Registry, project string, views []*model.FeatureView) {
	var ents []*model.Entity
	for _, p := range reg.GetEntities() {
		if p.GetSpec().GetProject() == project && p.GetSpec().GetName() != model.DummyEntityName {
			ents = append(ents, model.EntityFromProto(p))
		}
	}
	sort.SliceStable(ents, func(i, j int) bool { return ents[i].Name < ents[j].Name })
	for _, e := range ents {
		m := mapping()
		m.set("name", str(e.Name))
		if e.JoinKey != e.Name {
			m.set("join_keys", flowSeq([]string{e.JoinKey}))
		}
		vt := e.ValueType
		if !model.IsValidEntityKeyType(vt) {
			inferred := model.Invalid
			for _, fv := range views {
				for _, c := range fv.EntityColumns {
					if c.Name == e.JoinKey && model.IsValidEntityKeyType(c.Type) {
						inferred = c.Type
					}
				}
			}
			if inferred == model.Invalid {
				b.add(kindEntity, e.Name, nil)
				b.byKey[kindEntity+"/"+e.Name].dropped = true
				b.gap(Gap{Kind: kindEntity, Name: e.Name, Dropped: true,
					Reason: fmt.Sprintf("its value type is %s and no feature view tells its join key's type", vt),
					Hint:   "define it with value_type: (STRING, BYTES, INT32, INT64 or UNIX_TIMESTAMP)"})
				continue
			}
			b.gap(Gap{Kind: kindEntity, Name: e.Name,
				Reason: fmt.Sprintf("its value type is %s in the registry; written as %s, the type of its join key in the feature views", vt, inferred),
				Hint:   "apply will record the value type"})
			vt = inferred
		}
		m.set("value_type", str(vt.String()))
		m.common(e.Description, e.Owner, e.Tags)
		b.add(kindEntity, e.Name, m.node)
	}
}

func (b *exporter) featureView(fv *model.FeatureView) {
	m := mapping()
	m.set("name", str(fv.Name))
	var deps []string
	var ents []string
	for _, e := range fv.Entities {
		if e != model.DummyEntityName {
			ents = append(ents, e)
			deps = append(deps, kindEntity+"/"+e)
		}
	}
	if len(ents) > 0 {
		m.set("entities", flowSeq(ents))
	}
	if fv.TTL != 0 {
		m.set("ttl", str(FormatDuration(fv.TTL)))
	}
	src := fv.StreamSource
	if src == nil {
		src = fv.Source
	}
	if src == nil || src.Name == "" {
		b.add(kindView, fv.Name, nil)
		b.byKey[kindView+"/"+fv.Name].dropped = true
		b.gap(Gap{Kind: kindView, Name: fv.Name, Dropped: true, Reason: "it has no named source", Hint: "define it with source: naming a data source"})
		return
	}
	b.source(src, objectLabel(kindView, fv.Name))
	if fv.StreamSource != nil && fv.Source != nil {
		b.source(fv.Source, objectLabel(kindView, fv.Name))
	}
	m.set("source", str(src.Name))
	deps = append(deps, kindSource+"/"+src.Name)
	if !fv.Online {
		m.set("online", boolNode(false))
	}
	if fv.Offline {
		m.set("offline", boolNode(true))
	}
	if fv.Disabled {
		m.set("disabled", boolNode(true))
	}
	m.common(fv.Description, fv.Owner, fv.Tags)
	m.set("schema", schemaNode(fv.Features, false))
	b.add(kindView, fv.Name, m.node, deps...)
}

func (b *exporter) onDemandView(p *core.OnDemandFeatureView) {
	o, err := model.OnDemandFeatureViewFromProto(p)
	if err != nil {
		name := p.GetSpec().GetName()
		b.add(kindODFV, name, nil)
		b.byKey[kindODFV+"/"+name].dropped = true
		if o == nil { // a CEL transformation that does not decode
			b.gap(Gap{Kind: kindODFV, Name: name, Dropped: true, Reason: err.Error(), Hint: "define it by hand with a CEL `expression:` per output field"})
			return
		}
		b.gap(udfGap(p, o))
		return
	}
	m := mapping()
	m.set("name", str(o.Name))
	var names, deps []string
	for _, s := range o.Sources {
		if s.Request != nil {
			b.source(s.Request, objectLabel(kindODFV, o.Name))
			names = append(names, s.Request.Name)
			deps = append(deps, kindSource+"/"+s.Request.Name)
			continue
		}
		names = append(names, s.FeatureView)
		deps = append(deps, kindView+"/"+s.FeatureView)
	}
	m.set("sources", flowSeq(names))
	if o.WriteToOnlineStore {
		m.set("write_to_online_store", boolNode(true))
	}
	m.common(o.Description, o.Owner, o.Tags)
	m.set("schema", schemaNode(o.Features, true))
	b.odfvs[o.Name] = o
	b.add(kindODFV, o.Name, m.node, deps...)
}

// udfGap describes an on-demand view whose transformation is not CEL,
// with the UDF's source when the registry holds it and a skeleton to
// complete.
func udfGap(p *core.OnDemandFeatureView, o *model.OnDemandFeatureView) Gap {
	s := p.GetSpec()
	udf := s.GetFeatureTransformation().GetUserDefinedFunction()
	mode, body := s.GetMode(), udf.GetBodyText()
	if mode == "" {
		mode = udf.GetMode()
	}
	if body == "" {
		//lint:ignore SA1019 registries written by older Feast versions hold the UDF only in this deprecated field
		body = s.GetUserDefinedFunction().GetBodyText()
	}
	what := "a Python UDF"
	if s.GetFeatureTransformation().GetSubstraitTransformation() != nil {
		what = "a Substrait transformation"
	}
	if mode != "" {
		what += fmt.Sprintf(" (mode %s)", mode)
	}
	var sources []string
	for n := range s.GetSources() {
		sources = append(sources, n)
	}
	sort.Strings(sources)
	var sk strings.Builder
	fmt.Fprintf(&sk, "on_demand_feature_views:\n  - name: %s\n    sources: [%s]\n", o.Name, strings.Join(sources, ", "))
	if s.GetWriteToOnlineStore() {
		sk.WriteString("    write_to_online_store: true\n")
	}
	sk.WriteString("    schema:\n")
	for _, f := range o.Features {
		fmt.Fprintf(&sk, "      - {name: %s, dtype: %s, expression: \"TODO\"}\n", f.Name, model.DTypeName(f.Type))
	}
	detail := "Skeleton to complete (fill in each expression):\n" + sk.String()
	if body != "" {
		detail += "UDF source from the registry:\n" + strings.TrimRight(body, "\n") + "\n"
	} else {
		detail += "The registry holds no source text for the UDF.\n"
	}
	return Gap{Kind: kindODFV, Name: o.Name, Dropped: true,
		Reason: "its transformation is " + what + ", which cannot run here",
		Hint:   "write a CEL `expression:` for each output field (" + fieldNames(o.Features) + ") over the sources' fields",
		Detail: detail}
}

func fieldNames(fs []model.Field) string { return strings.Join(namesOf(fs), ", ") }

func namesOf(fs []model.Field) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return names
}

func (b *exporter) featureService(fs *model.FeatureService) {
	m := mapping()
	m.set("name", str(fs.Name))
	m.common(fs.Description, fs.Owner, fs.Tags)
	items := &yaml.Node{Kind: yaml.SequenceNode}
	var deps []string
	for _, p := range fs.Projections {
		var all []model.Field
		if fv, ok := b.views[p.View]; ok {
			all = fv.Features
			deps = append(deps, kindView+"/"+p.View)
		} else if o, ok := b.odfvs[p.View]; ok {
			all = o.Features
			deps = append(deps, kindODFV+"/"+p.View)
		} else if _, ok := b.byKey[kindODFV+"/"+p.View]; ok {
			deps = append(deps, kindODFV+"/"+p.View)
		} else {
			deps = append(deps, kindView+"/"+p.View)
		}
		names := make([]string, len(p.Features))
		for i, f := range p.Features {
			names[i] = f.Name
		}
		plain := p.Alias == "" && len(p.JoinKeyMap) == 0
		switch {
		case plain && len(all) > 0 && slices.Equal(names, namesOf(all)):
			items.Content = append(items.Content, str(p.View))
		case plain && len(names) == 1:
			items.Content = append(items.Content, str(p.View+":"+names[0]))
		default:
			pm := mapping()
			pm.set("view", str(p.View))
			if len(names) > 0 {
				pm.set("features", flowSeq(names))
			}
			if p.Alias != "" {
				pm.set("alias", str(p.Alias))
			}
			if len(p.JoinKeyMap) > 0 {
				pm.set("join_key_map", strMapNode(p.JoinKeyMap, true))
			}
			items.Content = append(items.Content, pm.node)
		}
	}
	m.set("features", items)
	b.add(kindService, fs.Name, m.node, deps...)
}

// check drops objects whose dependencies were dropped, then loads the
// written definitions and drops any object they report a problem for,
// until the definitions load.
func (b *exporter) check() {
	for round := 0; round < 100; round++ {
		b.cascade()
		files := map[string]string{}
		for name, data := range b.e.render(LayoutKind, false) {
			files[name] = string(data)
		}
		_, err := ParseFiles(files, Options{})
		if err == nil {
			return
		}
		ps, ok := err.(Problems)
		if !ok {
			return
		}
		progress := false
		for _, p := range ps {
			o := b.objectFor(p.Object)
			if o == nil || o.dropped {
				continue
			}
			o.dropped, progress = true, true
			msg := p.Msg
			if p.Field != "" {
				msg = p.Field + ": " + msg
			}
			b.gap(Gap{Kind: o.kind, Name: o.name, Dropped: true, Reason: "it would not load as a definition: " + msg,
				Hint: "fix it in the source registry or define it by hand"})
		}
		if !progress {
			for _, p := range ps {
				b.gap(Gap{Name: "definitions", Reason: p.String(), Hint: "fix the written files by hand"})
			}
			return
		}
	}
}

// objectFor finds the written object a problem label names.
func (b *exporter) objectFor(label string) *exportObject {
	for _, o := range b.e.objects {
		if o.node != nil && objectLabel(o.kind, o.name) == label {
			return o
		}
	}
	return nil
}

// cascade drops every object that refers to a dropped or missing one.
func (b *exporter) cascade() {
	for changed := true; changed; {
		changed = false
		for _, o := range b.e.objects {
			if o.dropped {
				continue
			}
			for _, d := range o.deps {
				dep, ok := b.byKey[d]
				if ok && !dep.dropped {
					continue
				}
				if !ok {
					continue // missing references are reported by the load check
				}
				o.dropped, changed = true, true
				kind, name, _ := strings.Cut(d, "/")
				b.gap(Gap{Kind: o.kind, Name: o.name, Dropped: true,
					Reason: "it refers to " + objectLabel(kind, name) + ", which is not carried over",
					Hint:   "carry that over first, then define this by hand"})
				break
			}
		}
	}
}
