package sqlstore

import (
	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/core"
)

// Column types of Feast's SQL registry (sdk/python/feast/infra/registry/sql.py),
// rendered per dialect by dialect.columnType.
type colType int

const (
	colName     colType = iota // String(255)
	colBigInt                  // BigInteger
	colInt                     // Integer
	colBytes                   // ProtoBytes: LargeBinary, LONGBLOB on MySQL
	colText                    // Text
	colString50                // String(50)
	colString36                // String(36)
)

type column struct {
	name     string
	typ      colType
	nullable bool
}

// tableDef is one table of Feast's SQL registry layout, in Feast's column
// order. Every table except feast_metadata has an index idx_<table>_project_id.
type tableDef struct {
	name  string
	cols  []column
	pk    []string
	index bool
}

func objectTable(name, nameCol, protoCol string, userMetadata bool) tableDef {
	cols := []column{
		{nameCol, colName, false},
		{"project_id", colName, false},
		{"last_updated_timestamp", colBigInt, false},
		{protoCol, colBytes, false},
	}
	if userMetadata {
		cols = append(cols, column{"user_metadata", colBytes, true})
	}
	return tableDef{name: name, cols: cols, pk: []string{nameCol, "project_id"}, index: true}
}

// tableDefs lists every table of the layout, as Feast creates them.
var tableDefs = []tableDef{
	{
		name: "projects",
		cols: []column{
			{"project_id", colName, false},
			{"project_name", colName, false},
			{"last_updated_timestamp", colBigInt, false},
			{"project_proto", colBytes, false},
		},
		pk: []string{"project_id"}, index: true,
	},
	objectTable("entities", "entity_name", "entity_proto", false),
	objectTable("data_sources", "data_source_name", "data_source_proto", false),
	{
		name: "feature_views",
		cols: []column{
			{"feature_view_name", colName, false},
			{"project_id", colName, false},
			{"last_updated_timestamp", colBigInt, false},
			{"materialized_intervals", colBytes, true},
			{"feature_view_proto", colBytes, false},
			{"user_metadata", colBytes, true},
		},
		pk: []string{"feature_view_name", "project_id"}, index: true,
	},
	objectTable("stream_feature_views", "feature_view_name", "feature_view_proto", true),
	objectTable("on_demand_feature_views", "feature_view_name", "feature_view_proto", true),
	objectTable("label_views", "feature_view_name", "feature_view_proto", true),
	objectTable("feature_services", "feature_service_name", "feature_service_proto", false),
	objectTable("saved_datasets", "saved_dataset_name", "saved_dataset_proto", false),
	objectTable("validation_references", "validation_reference_name", "validation_reference_proto", false),
	objectTable("managed_infra", "infra_name", "infra_proto", false),
	objectTable("permissions", "permission_name", "permission_proto", false),
	{
		name: "feature_view_version_history",
		cols: []column{
			{"feature_view_name", colName, false},
			{"project_id", colName, false},
			{"version_number", colInt, false},
			{"feature_view_type", colString50, false},
			{"feature_view_proto", colBytes, false},
			{"created_timestamp", colBigInt, false},
			{"description", colText, true},
			{"version_id", colString36, false},
		},
		pk: []string{"feature_view_name", "project_id", "version_number"}, index: true,
	},
	{
		name: "feast_metadata",
		cols: []column{
			{"project_id", colName, false},
			{"metadata_key", colString50, false},
			{"metadata_value", colText, false},
			{"last_updated_timestamp", colBigInt, false},
		},
		pk: []string{"project_id", "metadata_key"},
	},
}

// Keys of feast_metadata rows.
const (
	metaProjectUUID = "project_uuid"
	metaLastUpdated = "last_updated_timestamp"
)

// infraName is the only infra_name Feast writes in managed_infra.
const infraName = "infra_obj"

// kind maps one object table to its list in core.Registry.
type kind struct {
	table, nameCol, protoCol string
	newMsg                   func() proto.Message
	add                      func(r *core.Registry, m proto.Message)
	items                    func(r *core.Registry) []proto.Message
	name                     func(m proto.Message) string
	// project and setProject are nil for kinds without a project field (infra).
	project    func(m proto.Message) string
	setProject func(m proto.Message, p string)
}

func objectKind[T proto.Message](table, nameCol, protoCol string, list func(*core.Registry) *[]T,
	name func(T) string, project func(T) string, setProject func(T, string)) kind {
	return kind{
		table: table, nameCol: nameCol, protoCol: protoCol,
		newMsg: func() proto.Message {
			var zero T
			return zero.ProtoReflect().New().Interface()
		},
		add: func(r *core.Registry, m proto.Message) {
			l := list(r)
			*l = append(*l, m.(T))
		},
		items: func(r *core.Registry) []proto.Message {
			l := *list(r)
			out := make([]proto.Message, 0, len(l))
			for _, m := range l {
				if m.ProtoReflect().IsValid() {
					out = append(out, m)
				}
			}
			return out
		},
		name:       func(m proto.Message) string { return name(m.(T)) },
		project:    func(m proto.Message) string { return project(m.(T)) },
		setProject: func(m proto.Message, p string) { setProject(m.(T), p) },
	}
}

// kinds lists the object tables Load reads and Update writes. Its indexes are
// the kind numbers of the load query; projects and feast_metadata follow.
var kinds = []kind{
	objectKind("entities", "entity_name", "entity_proto",
		func(r *core.Registry) *[]*core.Entity { return &r.Entities },
		func(m *core.Entity) string { return m.GetSpec().GetName() },
		func(m *core.Entity) string { return m.GetSpec().GetProject() },
		func(m *core.Entity, p string) {
			if m.Spec == nil {
				m.Spec = &core.EntitySpecV2{}
			}
			m.Spec.Project = p
		}),
	objectKind("data_sources", "data_source_name", "data_source_proto",
		func(r *core.Registry) *[]*core.DataSource { return &r.DataSources },
		func(m *core.DataSource) string { return m.GetName() },
		func(m *core.DataSource) string { return m.GetProject() },
		func(m *core.DataSource, p string) { m.Project = p }),
	objectKind("feature_views", "feature_view_name", "feature_view_proto",
		func(r *core.Registry) *[]*core.FeatureView { return &r.FeatureViews },
		func(m *core.FeatureView) string { return m.GetSpec().GetName() },
		func(m *core.FeatureView) string { return m.GetSpec().GetProject() },
		func(m *core.FeatureView, p string) {
			if m.Spec == nil {
				m.Spec = &core.FeatureViewSpec{}
			}
			m.Spec.Project = p
		}),
	objectKind("stream_feature_views", "feature_view_name", "feature_view_proto",
		func(r *core.Registry) *[]*core.StreamFeatureView { return &r.StreamFeatureViews },
		func(m *core.StreamFeatureView) string { return m.GetSpec().GetName() },
		func(m *core.StreamFeatureView) string { return m.GetSpec().GetProject() },
		func(m *core.StreamFeatureView, p string) {
			if m.Spec == nil {
				m.Spec = &core.StreamFeatureViewSpec{}
			}
			m.Spec.Project = p
		}),
	objectKind("on_demand_feature_views", "feature_view_name", "feature_view_proto",
		func(r *core.Registry) *[]*core.OnDemandFeatureView { return &r.OnDemandFeatureViews },
		func(m *core.OnDemandFeatureView) string { return m.GetSpec().GetName() },
		func(m *core.OnDemandFeatureView) string { return m.GetSpec().GetProject() },
		func(m *core.OnDemandFeatureView, p string) {
			if m.Spec == nil {
				m.Spec = &core.OnDemandFeatureViewSpec{}
			}
			m.Spec.Project = p
		}),
	objectKind("label_views", "feature_view_name", "feature_view_proto",
		func(r *core.Registry) *[]*core.LabelView { return &r.LabelViews },
		func(m *core.LabelView) string { return m.GetSpec().GetName() },
		func(m *core.LabelView) string { return m.GetSpec().GetProject() },
		func(m *core.LabelView, p string) {
			if m.Spec == nil {
				m.Spec = &core.LabelViewSpec{}
			}
			m.Spec.Project = p
		}),
	objectKind("feature_services", "feature_service_name", "feature_service_proto",
		func(r *core.Registry) *[]*core.FeatureService { return &r.FeatureServices },
		func(m *core.FeatureService) string { return m.GetSpec().GetName() },
		func(m *core.FeatureService) string { return m.GetSpec().GetProject() },
		func(m *core.FeatureService, p string) {
			if m.Spec == nil {
				m.Spec = &core.FeatureServiceSpec{}
			}
			m.Spec.Project = p
		}),
	objectKind("saved_datasets", "saved_dataset_name", "saved_dataset_proto",
		func(r *core.Registry) *[]*core.SavedDataset { return &r.SavedDatasets },
		func(m *core.SavedDataset) string { return m.GetSpec().GetName() },
		func(m *core.SavedDataset) string { return m.GetSpec().GetProject() },
		func(m *core.SavedDataset, p string) {
			if m.Spec == nil {
				m.Spec = &core.SavedDatasetSpec{}
			}
			m.Spec.Project = p
		}),
	objectKind("validation_references", "validation_reference_name", "validation_reference_proto",
		func(r *core.Registry) *[]*core.ValidationReference { return &r.ValidationReferences },
		func(m *core.ValidationReference) string { return m.GetName() },
		func(m *core.ValidationReference) string { return m.GetProject() },
		func(m *core.ValidationReference, p string) { m.Project = p }),
	objectKind("permissions", "permission_name", "permission_proto",
		func(r *core.Registry) *[]*core.Permission { return &r.Permissions },
		func(m *core.Permission) string { return m.GetSpec().GetName() },
		func(m *core.Permission) string { return m.GetSpec().GetProject() },
		func(m *core.Permission, p string) {
			if m.Spec == nil {
				m.Spec = &core.PermissionSpec{}
			}
			m.Spec.Project = p
		}),
	{
		// managed_infra holds one Infra message per project, named "infra_obj".
		table: "managed_infra", nameCol: "infra_name", protoCol: "infra_proto",
		newMsg: func() proto.Message { return &core.Infra{} },
		add:    func(r *core.Registry, m proto.Message) { r.Infra = m.(*core.Infra) },
		items: func(r *core.Registry) []proto.Message {
			if r.Infra == nil {
				return nil
			}
			return []proto.Message{r.Infra}
		},
		name: func(proto.Message) string { return infraName },
	},
}

// Kind numbers of the two non-object parts of the load query.
var (
	kindProjects = len(kinds)
	kindMetadata = len(kinds) + 1
)
