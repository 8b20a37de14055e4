// Package definitions reads a feature repository's YAML definitions into
// model objects and validates them, reporting every problem at once with
// file, line, object and field.
package definitions

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
)

// Repo holds the objects a repository defines, in file order.
type Repo struct {
	Entities        []*model.Entity
	DataSources     []*model.DataSource
	FeatureViews    []*model.FeatureView
	OnDemandViews   []*model.OnDemandFeatureView
	FeatureServices []*model.FeatureService
	// Permissions are Feast's access rules (the permissions section).
	Permissions []*model.Permission
	// Files lists the definition files read, relative to the repository.
	Files []string
	// PythonFiles lists the Feast Python definition files (*.py importing
	// feast) found in the repository, relative to it and sorted. They are
	// not read: see PythonFiles.
	PythonFiles []string
}

// Empty reports whether the repository defines no object at all.
func (r *Repo) Empty() bool {
	return len(r.Entities) == 0 && len(r.DataSources) == 0 && len(r.FeatureViews) == 0 &&
		len(r.OnDemandViews) == 0 && len(r.FeatureServices) == 0 && len(r.Permissions) == 0
}

// Problem is one definition error.
type Problem struct {
	File   string
	Line   int
	Object string // e.g. `feature view "driver_stats"`; empty for file-level problems
	Field  string // e.g. "ttl" or "schema[2].dtype"
	Msg    string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Object != "" {
		b.WriteString(p.Object)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every error found in one load; it implements error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s) in feature definitions:\n  %s", len(ps), strings.Join(lines, "\n  "))
}

// Sections are the top-level keys of a definitions file.
var Sections = []string{"entities", "data_sources", "feature_views", "on_demand_feature_views", "feature_services", "permissions"}

// ODFVChecker compiles and type-checks on-demand expressions against their
// input fields; Load reports its errors as definition problems.
type ODFVChecker func(odfv *model.OnDemandFeatureView, inputs []model.Field) error

// Options tune Load.
type Options struct {
	// CheckODFV, when set, validates on-demand feature view expressions.
	CheckODFV ODFVChecker
}

// Load reads every definitions file under repoPath (skipping
// feature_store.yaml, hidden directories, data/ and paths matched by
// .feastignore) and validates the result.
func Load(repoPath string, opts Options) (*Repo, error) {
	files, err := findFiles(repoPath)
	if err != nil {
		return nil, err
	}
	l := &loader{opts: opts, pos: map[string]pos{}}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(repoPath, rel))
		if err != nil {
			return nil, fmt.Errorf("read definitions: %w", err)
		}
		if l.parseFile(rel, data) {
			l.repo.Files = append(l.repo.Files, rel)
		}
	}
	l.resolve()
	if l.repo.PythonFiles, err = PythonFiles(repoPath); err != nil {
		return nil, err
	}
	if len(l.problems) > 0 {
		sort.SliceStable(l.problems, func(i, j int) bool {
			if l.problems[i].File != l.problems[j].File {
				return l.problems[i].File < l.problems[j].File
			}
			return l.problems[i].Line < l.problems[j].Line
		})
		return nil, l.problems
	}
	return &l.repo, nil
}

// ParseFiles parses in-memory files (name -> contents); used by tests.
func ParseFiles(files map[string]string, opts Options) (*Repo, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	l := &loader{opts: opts, pos: map[string]pos{}}
	for _, n := range names {
		if l.parseFile(n, []byte(files[n])) {
			l.repo.Files = append(l.repo.Files, n)
		}
	}
	l.resolve()
	if len(l.problems) > 0 {
		return nil, l.problems
	}
	return &l.repo, nil
}

type pos struct {
	file string
	line int
}

type loader struct {
	opts     Options
	repo     Repo
	problems Problems
	// pos records where each object ("kind/name") was defined.
	pos map[string]pos
	// raw references resolved after all files are read.
	fvRefs   []fvRef
	odfvRefs []odfvRef
	fsRefs   []fsRef
	srcRefs  []srcRef
}

type fvRef struct {
	fv       *model.FeatureView
	at       pos
	entities []*yaml.Node
	source   *yaml.Node
	schema   []schemaField
}

type schemaField struct {
	field model.Field
	node  *yaml.Node
	idx   int
}

type odfvRef struct {
	odfv    *model.OnDemandFeatureView
	at      pos
	sources []*yaml.Node
	schema  []schemaField
}

type fsRef struct {
	fs    *model.FeatureService
	at    pos
	items []fsItem
}

type fsItem struct {
	node     *yaml.Node
	view     string
	features []string
	alias    string
	jkm      map[string]string
}

type srcRef struct {
	src   *model.DataSource
	at    pos
	batch *yaml.Node
}

func (l *loader) add(file string, line int, object, field, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: file, Line: line, Object: object, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// parseFile parses one file; it reports whether the file holds definitions.
func (l *loader) parseFile(file string, data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	any := false
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				break
			}
			l.add(file, 0, "", "", "invalid YAML: %v", err)
			return true
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			continue
		}
		known, near := false, false
		for i := 0; i < len(root.Content); i += 2 {
			k := root.Content[i].Value
			if slices.Contains(Sections, k) {
				known = true
			} else if len(config.Closest(k, Sections, 1)) > 0 {
				near = true
			}
		}
		if !known && !near {
			continue // not a definitions file (CI workflow, Helm values, ...)
		}
		any = true
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			if !slices.Contains(Sections, k.Value) {
				l.add(file, k.Line, "", "", "unknown top-level key %q%s (expected %s)", k.Value, didYouMean(k.Value, Sections), strings.Join(Sections, ", "))
				continue
			}
			if v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "") {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				l.add(file, v.Line, "", k.Value, "expected a list")
				continue
			}
			for _, item := range v.Content {
				if item.Kind != yaml.MappingNode {
					l.add(file, item.Line, "", k.Value, "expected a mapping for each item")
					continue
				}
				switch k.Value {
				case "entities":
					l.parseEntity(file, item)
				case "data_sources":
					l.parseSource(file, item)
				case "feature_views":
					l.parseFeatureView(file, item)
				case "on_demand_feature_views":
					l.parseODFV(file, item)
				case "feature_services":
					l.parseFeatureService(file, item)
				case "permissions":
					l.parsePermission(file, item)
				}
			}
		}
	}
	return any
}

func didYouMean(s string, candidates []string) string {
	if c := config.Closest(s, candidates, 1); len(c) > 0 {
		return fmt.Sprintf(" (did you mean %q?)", c[0])
	}
	return ""
}

// fields walks a mapping, checking keys against allowed and returning the
// value nodes by key. name is the object's name (from the "name" key).
func (l *loader) fields(file string, m *yaml.Node, kind string, allowed []string) (map[string]*yaml.Node, string) {
	out := map[string]*yaml.Node{}
	var name string
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "name" {
			name = m.Content[i+1].Value
		}
	}
	object := objectLabel(kind, name)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			l.add(file, k.Line, object, k.Value, "unknown key%s (allowed: %s)", didYouMean(k.Value, allowed), strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.add(file, k.Line, object, k.Value, "duplicate key")
		}
		out[k.Value] = v
	}
	if name == "" {
		l.add(file, m.Line, object, "name", "is required")
	} else if !validName(name) {
		l.add(file, m.Line, object, "name", "%q may only contain letters, digits, _ and - and must not start with _ or -", name)
	}
	return out, name
}

func objectLabel(kind, name string) string {
	if name == "" {
		return kind + " (unnamed)"
	}
	return fmt.Sprintf("%s %q", kind, name)
}

func validName(s string) bool {
	if s == "" || s[0] == '_' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (l *loader) define(kind, name, file string, line int) bool {
	key := kind + "/" + name
	if prev, ok := l.pos[key]; ok {
		l.add(file, line, objectLabel(kind, name), "name", "duplicate %s name, first defined at %s:%d", kind, prev.file, prev.line)
		return false
	}
	l.pos[key] = pos{file, line}
	return true
}

func (l *loader) str(file string, n *yaml.Node, object, field string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		l.add(file, n.Line, object, field, "expected a string")
		return ""
	}
	return n.Value
}

func (l *loader) boolean(file string, n *yaml.Node, object, field string, def bool) bool {
	if n == nil {
		return def
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		l.add(file, n.Line, object, field, "expected true or false, got %q", n.Value)
		return def
	}
	return b
}

func (l *loader) strMap(file string, n *yaml.Node, object, field string) map[string]string {
	if n == nil {
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		l.add(file, n.Line, object, field, "expected a mapping of strings")
		return nil
	}
	return m
}

func (l *loader) strList(file string, n *yaml.Node, object, field string) []*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.add(file, n.Line, object, field, "expected a list")
		return nil
	}
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			l.add(file, c.Line, object, field, "expected a list of names")
			return nil
		}
	}
	return n.Content
}

var entityKeys = []string{"name", "join_keys", "join_key", "value_type", "description", "tags", "owner"}

func (l *loader) parseEntity(file string, m *yaml.Node) {
	f, name := l.fields(file, m, "entity", entityKeys)
	obj := objectLabel("entity", name)
	e := &model.Entity{Name: name, JoinKey: name, ValueType: model.Int64, Description: l.str(file, f["description"], obj, "description"),
		Owner: l.str(file, f["owner"], obj, "owner"), Tags: l.strMap(file, f["tags"], obj, "tags")}
	if n := f["join_keys"]; n != nil {
		keys := l.strList(file, n, obj, "join_keys")
		switch {
		case len(keys) == 1:
			e.JoinKey = keys[0].Value
		case len(keys) > 1:
			l.add(file, n.Line, obj, "join_keys", "only one join key per entity is supported (as in Feast); declare one entity per key")
		case n.Kind == yaml.SequenceNode:
			l.add(file, n.Line, obj, "join_keys", "must list one join key")
		}
	}
	if n := f["join_key"]; n != nil {
		e.JoinKey = l.str(file, n, obj, "join_key")
	}
	if n := f["value_type"]; n != nil {
		vt, err := model.ParseValueType(n.Value)
		if err != nil {
			l.add(file, n.Line, obj, "value_type", "%v", err)
		} else if !model.IsValidEntityKeyType(vt) {
			l.add(file, n.Line, obj, "value_type", "%s cannot be an entity key (use STRING, BYTES, INT32, INT64 or UNIX_TIMESTAMP)", vt)
		} else {
			e.ValueType = vt
		}
	} else {
		l.add(file, m.Line, obj, "value_type", "is required (e.g. INT64 or STRING)")
	}
	if name != "" && l.define("entity", name, file, m.Line) {
		l.repo.Entities = append(l.repo.Entities, e)
	}
}

var sourceKeys = map[model.SourceKind][]string{
	model.SourceFile:     {"name", "type", "path", "file_format", "s3_endpoint_override", "timestamp_field", "created_timestamp_column", "date_partition_column", "field_mapping", "description", "tags", "owner"},
	model.SourcePostgres: {"name", "type", "table", "query", "timestamp_field", "created_timestamp_column", "date_partition_column", "field_mapping", "description", "tags", "owner"},
	model.SourcePush:     {"name", "type", "batch_source", "description", "tags", "owner"},
	model.SourceKafka:    {"name", "type", "kafka_bootstrap_servers", "topic", "message_format", "schema_json", "batch_source", "timestamp_field", "created_timestamp_column", "field_mapping", "watermark_delay_threshold", "description", "tags", "owner"},
	model.SourceRequest:  {"name", "type", "schema", "description", "tags", "owner"},
	model.SourceIceberg:  {"name", "type", "table", "catalog", "catalog_properties", "snapshot_id", "as_of", "timestamp_field", "created_timestamp_column", "field_mapping", "description", "tags", "owner"},
}

var sourceKinds = []string{"file", "postgres", "push", "kafka", "request", "iceberg"}

func (l *loader) parseSource(file string, m *yaml.Node) {
	var typ *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "type" {
			typ = m.Content[i+1]
		}
	}
	kind := model.SourceFile
	if typ != nil {
		kind = model.SourceKind(typ.Value)
	}
	allowed, ok := sourceKeys[kind]
	if !ok {
		allowed = sourceKeys[model.SourceFile]
	}
	f, name := l.fields(file, m, "data source", allowed)
	obj := objectLabel("data source", name)
	if !ok {
		l.add(file, typ.Line, obj, "type", "unknown source type %q (supported: %s)", typ.Value, strings.Join(sourceKinds, ", "))
		return
	}
	s := &model.DataSource{
		Name: name, Kind: kind, Description: l.str(file, f["description"], obj, "description"), Owner: l.str(file, f["owner"], obj, "owner"),
		Tags: l.strMap(file, f["tags"], obj, "tags"), TimestampField: l.str(file, f["timestamp_field"], obj, "timestamp_field"),
		CreatedTimestampColumn: l.str(file, f["created_timestamp_column"], obj, "created_timestamp_column"),
		DatePartitionColumn:    l.str(file, f["date_partition_column"], obj, "date_partition_column"),
		FieldMapping:           l.strMap(file, f["field_mapping"], obj, "field_mapping"),
	}
	switch kind {
	case model.SourceFile:
		s.Path = l.str(file, f["path"], obj, "path")
		if s.Path == "" {
			l.add(file, m.Line, obj, "path", "is required for a file source (a .parquet or .csv file, glob or folder)")
		}
		s.FileFormat = l.str(file, f["file_format"], obj, "file_format")
		s.S3EndpointOverride = l.str(file, f["s3_endpoint_override"], obj, "s3_endpoint_override")
		if s.FileFormat == "" {
			s.FileFormat = "parquet"
			if strings.HasSuffix(strings.ToLower(s.Path), ".csv") {
				s.FileFormat = "csv"
			}
		} else if s.FileFormat != "parquet" && s.FileFormat != "csv" {
			l.add(file, f["file_format"].Line, obj, "file_format", "must be parquet or csv")
		}
		if s.TimestampField == "" {
			l.add(file, m.Line, obj, "timestamp_field", "is required (the event timestamp column)")
		}
	case model.SourcePostgres:
		s.Table, s.Query = l.str(file, f["table"], obj, "table"), l.str(file, f["query"], obj, "query")
		if (s.Table == "") == (s.Query == "") {
			l.add(file, m.Line, obj, "table", "set exactly one of table or query")
		}
		if s.TimestampField == "" {
			l.add(file, m.Line, obj, "timestamp_field", "is required (the event timestamp column)")
		}
	case model.SourceIceberg:
		l.parseIceberg(file, m, f, obj, s)
	case model.SourceKafka:
		s.KafkaBootstrapServers = l.str(file, f["kafka_bootstrap_servers"], obj, "kafka_bootstrap_servers")
		s.Topic = l.str(file, f["topic"], obj, "topic")
		s.MessageFormat = l.str(file, f["message_format"], obj, "message_format")
		s.SchemaJSON = l.str(file, f["schema_json"], obj, "schema_json")
		if s.MessageFormat == "" {
			s.MessageFormat = "json"
		}
		if s.MessageFormat != "json" && s.MessageFormat != "avro" {
			l.add(file, f["message_format"].Line, obj, "message_format", "must be json or avro")
		}
		if s.MessageFormat == "avro" && s.SchemaJSON == "" {
			l.add(file, m.Line, obj, "schema_json", "is required for avro messages")
		}
		for _, req := range [][2]string{{"kafka_bootstrap_servers", s.KafkaBootstrapServers}, {"topic", s.Topic}, {"timestamp_field", s.TimestampField}} {
			if req[1] == "" {
				l.add(file, m.Line, obj, req[0], "is required for a kafka source")
			}
		}
		if n := f["watermark_delay_threshold"]; n != nil {
			d, err := ParseDuration(n.Value)
			if err != nil {
				l.add(file, n.Line, obj, "watermark_delay_threshold", "%v", err)
			}
			s.WatermarkDelay = d
		}
	case model.SourceRequest:
		n := f["schema"]
		if n == nil {
			l.add(file, m.Line, obj, "schema", "is required for a request source")
		}
		for _, sf := range l.parseSchema(file, n, obj, false) {
			s.Schema = append(s.Schema, sf.field)
		}
	}
	if kind == model.SourcePush || kind == model.SourceKafka {
		if f["batch_source"] == nil {
			l.add(file, m.Line, obj, "batch_source", "is required for a %s source (the source that holds its history)", kind)
		} else {
			l.srcRefs = append(l.srcRefs, srcRef{src: s, at: pos{file, m.Line}, batch: f["batch_source"]})
		}
	}
	if name != "" && l.define("data source", name, file, m.Line) {
		l.repo.DataSources = append(l.repo.DataSources, s)
	}
}

var schemaKeys = []string{"name", "dtype", "description", "tags"}
var odfvSchemaKeys = []string{"name", "dtype", "description", "tags", "expression"}

func (l *loader) parseSchema(file string, n *yaml.Node, obj string, withExpr bool) []schemaField {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.add(file, n.Line, obj, "schema", "expected a list of {name, dtype}")
		return nil
	}
	allowed := schemaKeys
	if withExpr {
		allowed = odfvSchemaKeys
	}
	var out []schemaField
	seen := map[string]bool{}
	for i, item := range n.Content {
		field := fmt.Sprintf("schema[%d]", i)
		if item.Kind != yaml.MappingNode {
			l.add(file, item.Line, obj, field, "expected {name: ..., dtype: ...}")
			continue
		}
		var fld model.Field
		var dtype *yaml.Node
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "name":
				fld.Name = v.Value
			case "dtype":
				dtype = v
			case "description":
				fld.Description = v.Value
			case "tags":
				fld.Tags = l.strMap(file, v, obj, field+".tags")
			case "expression":
				fld.Expression = v.Value
			default:
				l.add(file, k.Line, obj, field+"."+k.Value, "unknown key%s (allowed: %s)", didYouMean(k.Value, allowed), strings.Join(allowed, ", "))
			}
		}
		if fld.Name == "" {
			l.add(file, item.Line, obj, field+".name", "is required")
			continue
		}
		field = fmt.Sprintf("schema[%s]", fld.Name)
		if seen[fld.Name] {
			l.add(file, item.Line, obj, field, "duplicate field name")
		}
		seen[fld.Name] = true
		if dtype == nil {
			l.add(file, item.Line, obj, field+".dtype", "is required (e.g. Int64, Float32, String, Array(Float32))")
		} else if vt, err := model.ParseDType(dtype.Value); err != nil {
			l.add(file, dtype.Line, obj, field+".dtype", "%v", err)
		} else {
			fld.Type = vt
		}
		if withExpr && fld.Expression == "" {
			l.add(file, item.Line, obj, field+".expression", "is required: a CEL expression over the sources' fields")
		}
		out = append(out, schemaField{field: fld, node: item, idx: i})
	}
	return out
}

var featureViewKeys = []string{"name", "entities", "ttl", "source", "online", "offline", "schema", "tags", "description", "owner", "disabled"}

func (l *loader) parseFeatureView(file string, m *yaml.Node) {
	f, name := l.fields(file, m, "feature view", featureViewKeys)
	obj := objectLabel("feature view", name)
	fv := &model.FeatureView{
		Name: name, Online: l.boolean(file, f["online"], obj, "online", true), Offline: l.boolean(file, f["offline"], obj, "offline", false),
		Disabled: l.boolean(file, f["disabled"], obj, "disabled", false), Description: l.str(file, f["description"], obj, "description"),
		Owner: l.str(file, f["owner"], obj, "owner"), Tags: l.strMap(file, f["tags"], obj, "tags"),
	}
	if n := f["ttl"]; n != nil {
		d, err := ParseDuration(n.Value)
		if err != nil {
			l.add(file, n.Line, obj, "ttl", "%v", err)
		}
		fv.TTL = d
	}
	if f["source"] == nil {
		l.add(file, m.Line, obj, "source", "is required (the name of a data source)")
	}
	schema := l.parseSchema(file, f["schema"], obj, false)
	if f["schema"] == nil {
		l.add(file, m.Line, obj, "schema", "is required: list the features as {name, dtype}")
	}
	ref := fvRef{fv: fv, at: pos{file, m.Line}, entities: l.strList(file, f["entities"], obj, "entities"), source: f["source"], schema: schema}
	if name != "" && l.define("feature view", name, file, m.Line) {
		l.repo.FeatureViews = append(l.repo.FeatureViews, fv)
		l.fvRefs = append(l.fvRefs, ref)
	}
}

var odfvKeys = []string{"name", "sources", "schema", "write_to_online_store", "tags", "description", "owner"}

func (l *loader) parseODFV(file string, m *yaml.Node) {
	f, name := l.fields(file, m, "on demand feature view", odfvKeys)
	obj := objectLabel("on demand feature view", name)
	o := &model.OnDemandFeatureView{
		Name: name, WriteToOnlineStore: l.boolean(file, f["write_to_online_store"], obj, "write_to_online_store", false),
		Description: l.str(file, f["description"], obj, "description"), Owner: l.str(file, f["owner"], obj, "owner"),
		Tags: l.strMap(file, f["tags"], obj, "tags"),
	}
	if f["sources"] == nil {
		l.add(file, m.Line, obj, "sources", "is required (feature views and request sources)")
	}
	if f["schema"] == nil {
		l.add(file, m.Line, obj, "schema", "is required: list the computed features as {name, dtype, expression}")
	}
	schema := l.parseSchema(file, f["schema"], obj, true)
	for _, sf := range schema {
		o.Features = append(o.Features, sf.field)
	}
	ref := odfvRef{odfv: o, at: pos{file, m.Line}, schema: schema}
	if n := f["sources"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			l.add(file, n.Line, obj, "sources", "expected a list")
		} else {
			ref.sources = n.Content
		}
	}
	if name != "" && l.define("on demand feature view", name, file, m.Line) {
		l.repo.OnDemandViews = append(l.repo.OnDemandViews, o)
		l.odfvRefs = append(l.odfvRefs, ref)
	}
}

var featureServiceKeys = []string{"name", "features", "tags", "description", "owner"}
var projectionKeys = []string{"view", "features", "alias", "join_key_map"}

func (l *loader) parseFeatureService(file string, m *yaml.Node) {
	f, name := l.fields(file, m, "feature service", featureServiceKeys)
	obj := objectLabel("feature service", name)
	svc := &model.FeatureService{Name: name, Description: l.str(file, f["description"], obj, "description"),
		Owner: l.str(file, f["owner"], obj, "owner"), Tags: l.strMap(file, f["tags"], obj, "tags")}
	ref := fsRef{fs: svc, at: pos{file, m.Line}}
	n := f["features"]
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		line := m.Line
		if n != nil {
			line = n.Line
		}
		l.add(file, line, obj, "features", "is required: a list of \"view\", \"view:feature\" or {view, features, alias, join_key_map}")
	} else {
		for i, item := range n.Content {
			field := fmt.Sprintf("features[%d]", i)
			switch item.Kind {
			case yaml.ScalarNode:
				v, feat, hasFeat := strings.Cut(item.Value, ":")
				it := fsItem{node: item, view: v}
				if hasFeat {
					it.features = []string{feat}
				}
				ref.items = append(ref.items, it)
			case yaml.MappingNode:
				it := fsItem{node: item}
				for j := 0; j+1 < len(item.Content); j += 2 {
					k, v := item.Content[j], item.Content[j+1]
					switch k.Value {
					case "view":
						it.view = v.Value
					case "alias":
						it.alias = v.Value
					case "features":
						for _, fn := range l.strList(file, v, obj, field+".features") {
							it.features = append(it.features, fn.Value)
						}
					case "join_key_map":
						it.jkm = l.strMap(file, v, obj, field+".join_key_map")
					default:
						l.add(file, k.Line, obj, field+"."+k.Value, "unknown key%s (allowed: %s)", didYouMean(k.Value, projectionKeys), strings.Join(projectionKeys, ", "))
					}
				}
				if it.view == "" {
					l.add(file, item.Line, obj, field+".view", "is required")
					continue
				}
				ref.items = append(ref.items, it)
			default:
				l.add(file, item.Line, obj, field, "expected \"view\", \"view:feature\" or a mapping")
			}
		}
	}
	if name != "" && l.define("feature service", name, file, m.Line) {
		l.repo.FeatureServices = append(l.repo.FeatureServices, svc)
		l.fsRefs = append(l.fsRefs, ref)
	}
}
