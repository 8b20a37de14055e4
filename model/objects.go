package model

import (
	"slices"
	"time"
)

// DummyEntityName and DummyEntityJoinKey are the placeholder entity Feast
// gives feature views declared without entities.
const (
	DummyEntityName    = "__dummy"
	DummyEntityJoinKey = "__dummy_id"
)

// Field is a typed column: a feature, an entity column or a request field.
type Field struct {
	Name        string
	Type        ValueType
	Description string
	Tags        map[string]string
	// Expression is the CEL expression computing an on-demand feature; empty
	// for every other field.
	Expression string
}

// Entity is a business object features are keyed by.
type Entity struct {
	Name        string
	JoinKey     string
	ValueType   ValueType
	Description string
	Owner       string
	Tags        map[string]string
	Created     time.Time
	Updated     time.Time
}

// SourceKind is the kind of a data source as written in definitions.
type SourceKind string

// Data source kinds.
const (
	SourceFile     SourceKind = "file"
	SourcePostgres SourceKind = "postgres"
	SourcePush     SourceKind = "push"
	SourceKafka    SourceKind = "kafka"
	SourceRequest  SourceKind = "request"
	// SourceIceberg is an Apache Iceberg table read through its catalog.
	SourceIceberg SourceKind = "iceberg"
	// SourceOther is a source read from a registry whose kind this
	// implementation does not handle (BigQuery, Snowflake, ...).
	SourceOther SourceKind = "other"
)

// DataSource is where feature rows come from.
type DataSource struct {
	Name        string
	Kind        SourceKind
	Description string
	Owner       string
	Tags        map[string]string

	// TimestampField is the event timestamp column; CreatedTimestampColumn
	// optionally breaks ties between rows with equal event timestamps.
	TimestampField         string
	CreatedTimestampColumn string
	DatePartitionColumn    string
	// FieldMapping maps source column names to feature or join-key names.
	FieldMapping map[string]string

	// Path is a file source's location: a local path, glob or folder
	// (relative paths resolve against the repository), or an object-store URI.
	Path string
	// FileFormat is "parquet" or "csv" for file sources.
	FileFormat string
	// S3EndpointOverride is the endpoint of a file source in an
	// S3-compatible store (Feast's FileOptions.s3_endpoint_override),
	// addressed path-style; empty means AWS or the offline store's
	// s3_endpoint_override.
	S3EndpointOverride string

	// Table and Query describe a postgres source (exactly one is set).
	Table string
	Query string

	// Iceberg describes an iceberg source's table; nil for other kinds.
	Iceberg *IcebergTable

	// BatchSource is the historical store of push and kafka sources.
	BatchSource *DataSource

	// Kafka options.
	KafkaBootstrapServers string
	Topic                 string
	MessageFormat         string // "json" or "avro"
	SchemaJSON            string
	WatermarkDelay        time.Duration

	// Schema lists the fields of a request source.
	Schema []Field
}

// IcebergTable is where an iceberg source's rows live: a table of a catalog,
// optionally as of a snapshot.
type IcebergTable struct {
	// Table is the table identifier, namespace.table (nested namespaces
	// dotted: a.b.table).
	Table string
	// Catalog names a catalog of the offline store's iceberg_catalogs;
	// empty means "default".
	Catalog string
	// CatalogProperties are iceberg-go catalog properties (type, uri,
	// warehouse, ...) that override the named catalog's; values may hold
	// ${VAR}, expanded when the table is read, so the registry never holds
	// their values.
	CatalogProperties map[string]string
	// SnapshotID pins reads to one snapshot; 0 means none.
	SnapshotID int64
	// AsOf pins reads to the snapshot current at that time; zero means
	// none. At most one of SnapshotID and AsOf is set.
	AsOf time.Time
}

// ColumnFor returns the source column holding the named feature or join key,
// honouring the field mapping (source column -> name).
func (s *DataSource) ColumnFor(name string) string {
	for col, mapped := range s.FieldMapping {
		if mapped == name {
			return col
		}
	}
	return name
}

// Interval is one recorded materialization run [Start, End].
type Interval struct {
	Start, End time.Time
}

// FeatureView is a group of features read from one source and keyed by entities.
type FeatureView struct {
	Name     string
	Entities []string
	// EntityColumns are the join keys with their types, in entity order.
	// A view without entities (Entities is Feast's __dummy) has none: it
	// joins on time alone offline and is stored online under Feast's dummy
	// entity key. Its registry proto carries Feast's __dummy_id column,
	// added by ToProto and dropped by FeatureViewFromProto.
	EntityColumns []Field
	Features      []Field
	// TTL bounds how far back a point-in-time join looks and how old an
	// online value may be before it is reported OUTSIDE_MAX_AGE. Zero means
	// no limit.
	TTL         time.Duration
	Online      bool
	Offline     bool
	Disabled    bool
	Description string
	Owner       string
	Tags        map[string]string
	// Source is the batch source; StreamSource is the push or kafka source
	// when the view is fed by one (Feast's stream_source).
	Source       *DataSource
	StreamSource *DataSource
	// IsStream marks views stored as Feast StreamFeatureViews.
	IsStream bool

	Created   time.Time
	Updated   time.Time
	Intervals []Interval
}

// dummyEntityColumn is the entity column Feast gives a view without
// entities in the registry (feature_view.py DUMMY_ENTITY_FIELD).
var dummyEntityColumn = Field{Name: DummyEntityJoinKey, Type: String}

// protoEntityColumns are the entity columns as the registry stores them.
func (fv *FeatureView) protoEntityColumns() []Field {
	if len(fv.EntityColumns) == 0 && len(fv.Entities) == 1 && fv.Entities[0] == DummyEntityName {
		return []Field{dummyEntityColumn}
	}
	return fv.EntityColumns
}

// entityColumnsFromProto drops the dummy column of a view without entities.
func entityColumnsFromProto(fs []Field) []Field {
	out := fs[:0]
	for _, f := range fs {
		if f.Name != DummyEntityJoinKey {
			out = append(out, f)
		}
	}
	return out
}

// JoinKeys returns the join-key column names of the view.
func (fv *FeatureView) JoinKeys() []string {
	keys := make([]string, len(fv.EntityColumns))
	for i, c := range fv.EntityColumns {
		keys[i] = c.Name
	}
	return keys
}

// Feature returns the named feature and whether it exists.
func (fv *FeatureView) Feature(name string) (Field, bool) {
	for _, f := range fv.Features {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// LastMaterializedEnd is the latest recorded interval end, or the zero time.
func (fv *FeatureView) LastMaterializedEnd() time.Time {
	var end time.Time
	for _, iv := range fv.Intervals {
		if iv.End.After(end) {
			end = iv.End
		}
	}
	return end
}

// ODFVSource is one input of an on-demand feature view: a feature view
// (optionally projected to some of its features) or a request source.
type ODFVSource struct {
	// FeatureView names a feature view input; Features optionally narrows it.
	FeatureView string
	Features    []string
	// Request is set for request-source inputs.
	Request *DataSource
}

// OnDemandFeatureView computes features from other views and request data
// with CEL expressions, at read time (or at write time when WriteToOnlineStore).
type OnDemandFeatureView struct {
	Name               string
	Sources            []ODFVSource
	Features           []Field
	WriteToOnlineStore bool
	Description        string
	Owner              string
	Tags               map[string]string
	Created            time.Time
	Updated            time.Time
}

// Projection selects features of one view for a feature service.
type Projection struct {
	View  string
	Alias string
	// Features are the selected features; empty means all of them.
	Features   []Field
	JoinKeyMap map[string]string
}

// NameToUse is the alias when set, else the view name.
func (p *Projection) NameToUse() string {
	if p.Alias != "" {
		return p.Alias
	}
	return p.View
}

// FeatureService is a named set of features a model consumes.
type FeatureService struct {
	Name        string
	Projections []Projection
	Description string
	Owner       string
	Tags        map[string]string
	Created     time.Time
	Updated     time.Time
}

// Inputs returns the fields an on-demand view's expressions read, named as
// package transform expects: "view:feature" for features of source views
// (all of a view's features unless the source narrows them) and the bare
// field name for request-source fields. views resolves feature view names;
// sources it cannot resolve are skipped.
func (o *OnDemandFeatureView) Inputs(views func(string) *FeatureView) []Field {
	var out []Field
	for _, src := range o.Sources {
		if src.Request != nil {
			out = append(out, src.Request.Schema...)
			continue
		}
		fv := views(src.FeatureView)
		if fv == nil {
			continue
		}
		for _, f := range fv.Features {
			if len(src.Features) > 0 && !slices.Contains(src.Features, f.Name) {
				continue
			}
			f.Name = fv.Name + ":" + f.Name
			out = append(out, f)
		}
	}
	return out
}

// StoredView is the feature view an on-demand view with
// WriteToOnlineStore is stored as online (as Feast does): named after the
// on-demand view, with its features, and the entities, join keys and ttl of
// its first feature-view source. ok is false when the view is computed at
// read time or has no resolvable feature-view source.
func (o *OnDemandFeatureView) StoredView(views func(string) *FeatureView) (fv *FeatureView, ok bool) {
	if !o.WriteToOnlineStore {
		return nil, false
	}
	for _, s := range o.Sources {
		if s.Request != nil {
			continue
		}
		keys := views(s.FeatureView)
		if keys == nil {
			return nil, false
		}
		return &FeatureView{
			Name: o.Name, Entities: keys.Entities, EntityColumns: keys.EntityColumns,
			Features: o.Features, Online: true, TTL: keys.TTL,
		}, true
	}
	return nil, false
}
