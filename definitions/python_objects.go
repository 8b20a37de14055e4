package definitions

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
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

// pyBuilder builds the value of a call to a Feast (or datetime) name.
type pyBuilder func(im *pyImporter, mod *pyModule, n *pyNode) (pyVal, *pyErr)

// pyBuilders are the calls the importer reads, by the name called. It is
// filled in init: the builders evaluate arguments, which reach call, which
// reads this table.
var pyBuilders map[pyFeast]pyBuilder

// pySourceClasses are the data source constructors read.
var pySourceClasses = []string{"FileSource", "PostgreSQLSource", "PushSource", "RequestSource", "KafkaSource", "SparkSource"}

func init() {
	pyBuilders = map[pyFeast]pyBuilder{
		"timedelta":      (*pyImporter).timedelta,
		"Array":          (*pyImporter).array,
		"Field":          (*pyImporter).field,
		"ParquetFormat":  func(*pyImporter, *pyModule, *pyNode) (pyVal, *pyErr) { return "parquet", nil },
		"Project":        (*pyImporter).projectCall,
		"Entity":         (*pyImporter).entity,
		"FeatureView":    (*pyImporter).featureView,
		"FeatureService": (*pyImporter).featureService,
		"IcebergFormat":  (*pyImporter).icebergFormat,
	}
	for _, class := range pySourceClasses {
		pyBuilders[pyFeast(class)] = func(im *pyImporter, mod *pyModule, n *pyNode) (pyVal, *pyErr) {
			return im.dataSource(mod, n, class)
		}
	}
}

func (im *pyImporter) call(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	if v, err, ok := im.viewMethod(mod, n); ok {
		return v, err
	}
	callee, err := im.eval(mod, n.x)
	if err != nil {
		return nil, err
	}
	f, ok := callee.(pyFeast)
	if !ok {
		return nil, &pyErr{n.line, fmt.Sprintf("call `%s` is not a Feast definition this import reads", clip(n.srcText))}
	}
	if build, ok := pyBuilders[f]; ok {
		return build(im, mod, n)
	}
	hint := ""
	if strings.HasSuffix(string(f), "Source") {
		hint = " (supported sources: " + strings.Join(pySourceClasses, ", ") + ")"
	}
	return nil, &pyErr{n.line, fmt.Sprintf("%s(...) is not supported here%s", f, hint)}
}

// viewMethod reads the methods of views that make projections,
// view.with_name(...) and view.with_join_key_map(...); ok is false when n
// is not one of them.
func (im *pyImporter) viewMethod(mod *pyModule, n *pyNode) (v pyVal, err *pyErr, ok bool) {
	if n.x.kind != pnAttr {
		return nil, nil, false
	}
	base, err := im.eval(mod, n.x.x)
	if err != nil {
		return nil, nil, false
	}
	var p pyProjection
	switch b := base.(type) {
	case *pyObj:
		p = pyProjection{obj: b}
	case pyProjection:
		p = b
	}
	if p.obj == nil || (p.obj.kind != kindView && p.obj.kind != kindODFV) || len(n.items) != 1 || len(n.kw) != 0 {
		return nil, nil, false
	}
	arg, err := im.eval(mod, n.items[0])
	if err != nil {
		return nil, err, true
	}
	switch n.x.s {
	case "with_name":
		if s, ok := arg.(string); ok {
			p.alias = s
			return p, nil, true
		}
	case "with_join_key_map":
		if d, ok := arg.(*pyDict); ok {
			p.jkm = map[string]string{}
			for i := range d.keys {
				k, _ := d.keys[i].(string)
				v, _ := d.vals[i].(string)
				p.jkm[k] = v
			}
			return p, nil, true
		}
	}
	return nil, nil, false
}

// timedelta reads datetime.timedelta(...).
func (im *pyImporter) timedelta(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
}

// array reads Array(type).
func (im *pyImporter) array(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
}

// field reads Field(name=..., dtype=..., description=..., tags=...).
func (im *pyImporter) field(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
		if err := setFieldArg(&fld, k, v, a.nodes[k]); err != nil {
			return nil, err
		}
	}
	if fld.Name == "" || fld.Type == model.Invalid {
		return nil, &pyErr{n.line, "a Field needs a name and a dtype"}
	}
	return pyField(fld), nil
}

// setFieldArg sets the Field argument k, whose value v is written at arg.
func setFieldArg(fld *model.Field, k string, v pyVal, arg *pyNode) *pyErr {
	switch k {
	case "name", "description":
		s, ok := v.(string)
		if !ok {
			return &pyErr{arg.line, "Field " + k + " is not a string"}
		}
		if k == "name" {
			if printable(s) != s || strings.Contains(s, "\n") {
				return &pyErr{arg.line, "Field name is not a one-line string"}
			}
			fld.Name = s
		} else {
			fld.Description = s
		}
	case "dtype":
		dt, ok := v.(pyDType)
		if !ok {
			return &pyErr{arg.line, fmt.Sprintf("Field dtype `%s` is not a Feast type", clip(arg.srcText))}
		}
		fld.Type = model.ValueType(dt)
	case "tags":
		d, ok := v.(*pyDict)
		if !ok {
			return &pyErr{arg.line, "Field tags are not a dict"}
		}
		fld.Tags = map[string]string{}
		for i := range d.keys {
			ks, _ := d.keys[i].(string)
			vs, _ := d.vals[i].(string)
			fld.Tags[ks] = vs
		}
	default:
		return &pyErr{arg.line, "Field argument " + k + " is not read"}
	}
	return nil
}

// projectCall reads Project(name=...): the project is not written (the
// one feature_store.yaml names is used); a different name is listed.
func (im *pyImporter) projectCall(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
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
	if class == "FileSource" || class == "PostgreSQLSource" || class == "KafkaSource" || class == "SparkSource" {
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
		im.fileSourceArgs(a, s)
		known = append(known, "path", "file_format", "s3_endpoint_override")
	case "PostgreSQLSource":
		s.Kind = model.SourcePostgres
		s.Table, s.Query = a.str("table"), a.str("query")
		known = append(known, "table", "query")
	case "PushSource", "KafkaSource":
		s.Kind = model.SourcePush
		if class == "KafkaSource" {
			s.Kind = model.SourceKafka
			im.kafkaSourceArgs(a, s)
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
	case "SparkSource":
		im.sparkSourceArgs(a, s)
		known = append(known, "table", "query", "path", "file_format", "table_format")
	}
	s.Description, s.Owner, s.Tags = a.common(known...)
	return o, nil
}

// sparkSourceArgs reads a SparkSource. With table_format=IcebergFormat(...)
// it is an iceberg source: the table (table=, or path= naming a table as
// Feast's path form does; a leading catalog name is dropped and the
// format's namespace prefixed when the name has none), the catalog's name,
// and the format's properties as catalog properties. The snapshot pin
// (snapshot-id, as-of-timestamp) is carried over only in the path form:
// with table= Feast reads the table through Spark's catalog and ignores
// it, and so does the import, saying so. With a path of Parquet files (or
// of .csv files) it is a file source. Anything else (a Spark table or
// query that is not Iceberg, Delta or Hudi formats, a table_format that is
// not read) is dropped, saying why: reading it as Parquet would give other
// rows.
func (im *pyImporter) sparkSourceArgs(a *pyArgs, s *model.DataSource) {
	table, query, path, format := a.str("table"), a.str("query"), a.str("path"), strings.ToLower(a.str("file_format"))
	if _, given := a.nodes["table_format"]; given {
		v, ok := a.value("table_format")
		f, isIceberg := v.(pyIcebergFormat)
		if !ok || !isIceberg {
			im.objGap(a.obj, true, fmt.Sprintf("its table_format (%s:%d) is not read as IcebergFormat(...)", a.mod.file, a.nodes["table_format"].line),
				"only Iceberg tables are read through a SparkSource's table_format (not DeltaFormat or HudiFormat); export other tables to Parquet and define a file source")
			return
		}
		pathForm := false
		if table == "" && model.IcebergTableName(path) {
			table, pathForm = path, true
		}
		if table == "" {
			im.objGap(a.obj, true, "it reads an Iceberg table without naming it (table=, or path= with a table name)", "name the table (namespace.table)")
			return
		}
		s.Kind = model.SourceIceberg
		t := &model.IcebergTable{Table: model.SparkIcebergTable(table, f.catalog, f.namespace), Catalog: f.catalog}
		for _, k := range slices.Sorted(maps.Keys(f.props)) {
			v := f.props[k]
			switch {
			case strings.HasPrefix(k, "iceberg."):
				// Feast's own record of the catalog and namespace.
			case k == "snapshot-id" || k == "as-of-timestamp":
				if !pathForm {
					im.objGap(a.obj, false, fmt.Sprintf("its %s %q is not carried over: with table= Feast reads the table through Spark's catalog, which ignores it", k, v),
						"set snapshot_id: or as_of: if the pin was meant")
					continue
				}
				n, err := strconv.ParseInt(v, 10, 64)
				switch {
				case err != nil || (k == "snapshot-id" && n == 0):
					im.objGap(a.obj, false, fmt.Sprintf("its %s %q is not a number", k, v), "set snapshot_id: or as_of: by hand")
				case k == "snapshot-id":
					t.SnapshotID = n
				default:
					t.AsOf = time.UnixMilli(n).UTC()
				}
			default:
				if t.CatalogProperties == nil {
					t.CatalogProperties = map[string]string{}
				}
				t.CatalogProperties[k] = v
			}
		}
		if t.SnapshotID != 0 && !t.AsOf.IsZero() {
			im.objGap(a.obj, false, "it sets both snapshot-id and as-of-timestamp; the snapshot id is kept", "keep one of snapshot_id and as_of")
			t.AsOf = time.Time{}
		}
		s.Iceberg = t
		if f.catalog != "" {
			im.objGap(a.obj, false, fmt.Sprintf("it reads catalog %q, which Spark configures (spark.sql.catalog.%s.*)", f.catalog, f.catalog),
				fmt.Sprintf("define iceberg_catalogs: {%s: {type: rest|sql|glue, uri: ..., warehouse: ...}} under offline_store in feature_store.yaml", f.catalog))
		}
		if len(t.CatalogProperties) > 0 {
			im.objGap(a.obj, false, "its IcebergFormat properties are written as catalog_properties", "keep only the catalog's (type, uri, warehouse, credentials as ${VAR}); Spark read options are not catalog properties")
		}
		if query != "" || (path != "" && !pathForm) {
			im.objGap(a.obj, false, "its query or path is not carried over: an Iceberg source reads the table", "check that the table holds the same rows")
		}
		return
	}
	csv := format == "csv" && strings.HasSuffix(strings.ToLower(path), ".csv")
	switch {
	case path != "" && (format == "" || format == "parquet" || csv):
		s.Kind = model.SourceFile
		s.Path, s.FileFormat = path, "parquet"
		if csv {
			s.FileFormat = "csv"
		}
	case path != "" && format == "csv":
		im.objGap(a.obj, true, "it reads a folder of CSV files, which a file source reads as CSV only by a .csv path", "point path: at the .csv files (a glob such as .../*.csv) or convert them to Parquet")
	case path != "":
		im.objGap(a.obj, true, fmt.Sprintf("it reads %s files, which only Spark reads here", format), "convert them to Parquet and define a file source")
	case table != "" || query != "":
		im.objGap(a.obj, true, "it reads a Spark table or query, which Spark's catalog resolves and this feature store does not run",
			"export the data to Parquet (a file source), move it to PostgreSQL (a postgres source), or add table_format=IcebergFormat(...) for an Iceberg table")
	default:
		im.objGap(a.obj, true, "it names no table, query or path", "define the source by hand")
	}
}

// icebergFormat reads IcebergFormat(catalog=..., namespace=...,
// properties=...), also with Feast's later catalog_properties= and
// table_properties= in place of properties=.
func (im *pyImporter) icebergFormat(mod *pyModule, n *pyNode) (pyVal, *pyErr) {
	a, err := im.bind(mod, n, "catalog", "namespace", "properties")
	if err != nil {
		return nil, err
	}
	f := pyIcebergFormat{props: map[string]string{}}
	for _, k := range a.order {
		v, err := im.eval(mod, a.nodes[k])
		if err != nil {
			return nil, err
		}
		if _, none := v.(pyNone); none {
			continue
		}
		switch k {
		case "catalog", "namespace":
			str, ok := v.(string)
			if !ok {
				return nil, &pyErr{a.nodes[k].line, "IcebergFormat " + k + " is not a string"}
			}
			if k == "catalog" {
				f.catalog = str
			} else {
				f.namespace = str
			}
		case "properties", "catalog_properties", "table_properties":
			d, ok := v.(*pyDict)
			if !ok {
				return nil, &pyErr{a.nodes[k].line, "IcebergFormat " + k + " is not a dict of strings"}
			}
			for i := range d.keys {
				key, ok1 := d.keys[i].(string)
				val, ok2 := d.vals[i].(string)
				if !ok1 || !ok2 {
					return nil, &pyErr{a.nodes[k].line, "IcebergFormat " + k + " is not a dict of strings"}
				}
				f.props[key] = val
			}
		default:
			return nil, &pyErr{a.nodes[k].line, "IcebergFormat has no argument " + k}
		}
	}
	return f, nil
}

// fileSourceArgs reads the arguments of a FileSource: path, file_format
// and s3_endpoint_override. A path that is not read is written as a
// placeholder and listed.
func (im *pyImporter) fileSourceArgs(a *pyArgs, s *model.DataSource) {
	if v, perr, ok := a.try("path"); ok {
		if p, isStr := v.(string); isStr && perr == nil {
			s.Path = p
		} else {
			s.Path = "TODO-set-the-path"
			why := "it is not a string"
			if perr != nil {
				why = perr.msg
			}
			im.objGap(a.obj, false, fmt.Sprintf("its path is not read (%s:%d: %s); written as %s", a.mod.file, a.nodes["path"].line, why, s.Path),
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
}

// kafkaSourceArgs reads the arguments of a KafkaSource: bootstrap
// servers, topic, message format and watermark delay.
func (im *pyImporter) kafkaSourceArgs(a *pyArgs, s *model.DataSource) {
	s.KafkaBootstrapServers = a.str("kafka_bootstrap_servers")
	if s.KafkaBootstrapServers == "" {
		s.KafkaBootstrapServers = a.str("bootstrap_servers")
	}
	s.Topic = a.str("topic")
	s.MessageFormat = "json"
	s.WatermarkDelay = a.duration("watermark_delay_threshold")
	if fn, ok := a.nodes["message_format"]; ok {
		if fn.kind == pnCall {
			cv, _ := im.eval(a.mod, fn.x)
			switch cv {
			case pyFeast("JsonFormat"), pyFeast("AvroFormat"):
				s.MessageFormat = strings.ToLower(strings.TrimSuffix(string(cv.(pyFeast)), "Format"))
				fa, _ := im.bind(a.mod, fn, "schema_json")
				if fa != nil {
					fa.obj = a.obj
					s.SchemaJSON = fa.str("schema_json")
				}
			default:
				a.wrongType("message_format", "JsonFormat(...) or AvroFormat(...)")
			}
		} else {
			a.wrongType("message_format", "JsonFormat(...) or AvroFormat(...)")
		}
	}
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
