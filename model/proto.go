package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/proto/feast/core"
)

// Python class paths Feast records in data_source_class_type.
const (
	classFileSource     = "feast.infra.offline_stores.file_source.FileSource"
	classPostgresSource = "feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source.PostgreSQLSource"
	classPushSource     = "feast.data_source.PushSource"
	classKafkaSource    = "feast.data_source.KafkaSource"
	classRequestSource  = "feast.data_source.RequestSource"

	// TransformationModeCEL marks on-demand views whose transformation is a
	// set of CEL expressions (stored in UserDefinedFunctionV2.body_text).
	TransformationModeCEL = "cel"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func copyTags(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// FieldToProto converts a field to Feast's FeatureSpecV2.
func FieldToProto(f Field) *core.FeatureSpecV2 {
	return &core.FeatureSpecV2{Name: f.Name, ValueType: f.Type, Description: f.Description, Tags: copyTags(f.Tags)}
}

// FieldFromProto converts Feast's FeatureSpecV2 to a field.
func FieldFromProto(p *core.FeatureSpecV2) Field {
	return Field{Name: p.GetName(), Type: p.GetValueType(), Description: p.GetDescription(), Tags: copyTags(p.GetTags())}
}

func fieldsToProto(fs []Field) []*core.FeatureSpecV2 {
	out := make([]*core.FeatureSpecV2, len(fs))
	for i, f := range fs {
		out[i] = FieldToProto(f)
	}
	return out
}

func fieldsFromProto(ps []*core.FeatureSpecV2) []Field {
	out := make([]Field, len(ps))
	for i, p := range ps {
		out[i] = FieldFromProto(p)
	}
	return out
}

// ToProto converts the entity for project.
func (e *Entity) ToProto(project string) *core.Entity {
	return &core.Entity{
		Spec: &core.EntitySpecV2{
			Name: e.Name, Project: project, ValueType: e.ValueType, Description: e.Description,
			JoinKey: e.JoinKey, Tags: copyTags(e.Tags), Owner: e.Owner,
		},
		Meta: &core.EntityMeta{CreatedTimestamp: ts(e.Created), LastUpdatedTimestamp: ts(e.Updated)},
	}
}

// EntityFromProto converts a registry entity.
func EntityFromProto(p *core.Entity) *Entity {
	s := p.GetSpec()
	jk := s.GetJoinKey()
	if jk == "" {
		jk = s.GetName()
	}
	return &Entity{
		Name: s.GetName(), JoinKey: jk, ValueType: s.GetValueType(), Description: s.GetDescription(),
		Owner: s.GetOwner(), Tags: copyTags(s.GetTags()),
		Created: fromTS(p.GetMeta().GetCreatedTimestamp()), Updated: fromTS(p.GetMeta().GetLastUpdatedTimestamp()),
	}
}

type postgresSourceConfig struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	Table string `json:"table"`
}

type celTransformation struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// ToProto converts the source for project.
func (s *DataSource) ToProto(project string) *core.DataSource {
	p := &core.DataSource{
		Name: s.Name, Project: project, Description: s.Description, Tags: copyTags(s.Tags), Owner: s.Owner,
		TimestampField: s.TimestampField, CreatedTimestampColumn: s.CreatedTimestampColumn,
		DatePartitionColumn: s.DatePartitionColumn, FieldMapping: copyTags(s.FieldMapping),
	}
	switch s.Kind {
	case SourceFile:
		p.Type = core.DataSource_BATCH_FILE
		p.DataSourceClassType = classFileSource
		opts := &core.DataSource_FileOptions{Uri: s.Path, S3EndpointOverride: s.S3EndpointOverride}
		if s.FileFormat != "csv" {
			opts.FileFormat = &core.FileFormat{Format: &core.FileFormat_ParquetFormat_{ParquetFormat: &core.FileFormat_ParquetFormat{}}}
		}
		p.Options = &core.DataSource_FileOptions_{FileOptions: opts}
	case SourcePostgres:
		p.Type = core.DataSource_CUSTOM_SOURCE
		p.DataSourceClassType = classPostgresSource
		cfg, _ := json.Marshal(postgresSourceConfig{Name: s.Name, Query: s.Query, Table: s.Table})
		p.Options = &core.DataSource_CustomOptions{CustomOptions: &core.DataSource_CustomSourceOptions{Configuration: cfg}}
	case SourcePush:
		p.Type = core.DataSource_PUSH_SOURCE
		p.DataSourceClassType = classPushSource
		p.Options = &core.DataSource_PushOptions_{PushOptions: &core.DataSource_PushOptions{}}
	case SourceKafka:
		p.Type = core.DataSource_STREAM_KAFKA
		p.DataSourceClassType = classKafkaSource
		format := &core.StreamFormat{}
		if s.MessageFormat == "avro" {
			format.Format = &core.StreamFormat_AvroFormat_{AvroFormat: &core.StreamFormat_AvroFormat{SchemaJson: s.SchemaJSON}}
		} else {
			format.Format = &core.StreamFormat_JsonFormat_{JsonFormat: &core.StreamFormat_JsonFormat{SchemaJson: s.SchemaJSON}}
		}
		ko := &core.DataSource_KafkaOptions{KafkaBootstrapServers: s.KafkaBootstrapServers, Topic: s.Topic, MessageFormat: format}
		if s.WatermarkDelay > 0 {
			ko.WatermarkDelayThreshold = durationpb.New(s.WatermarkDelay)
		}
		p.Options = &core.DataSource_KafkaOptions_{KafkaOptions: ko}
	case SourceIceberg:
		if s.Iceberg != nil {
			s.Iceberg.toProto(p)
		}
	case SourceRequest:
		p.Type = core.DataSource_REQUEST_SOURCE
		p.DataSourceClassType = classRequestSource
		p.Options = &core.DataSource_RequestDataOptions_{RequestDataOptions: &core.DataSource_RequestDataOptions{Schema: fieldsToProto(s.Schema)}}
	}
	if s.BatchSource != nil {
		p.BatchSource = s.BatchSource.ToProto(project)
		// As Feast does, a push source without its own timestamp fields
		// carries its batch source's.
		if p.TimestampField == "" && p.CreatedTimestampColumn == "" {
			p.TimestampField = s.BatchSource.TimestampField
			p.CreatedTimestampColumn = s.BatchSource.CreatedTimestampColumn
			p.DatePartitionColumn = s.BatchSource.DatePartitionColumn
			p.FieldMapping = copyTags(s.BatchSource.FieldMapping)
		}
	}
	return p
}

// DataSourceFromProto converts a registry data source. Kinds this
// implementation does not read become SourceOther.
func DataSourceFromProto(p *core.DataSource) *DataSource {
	if p == nil {
		return nil
	}
	s := &DataSource{
		Name: p.GetName(), Description: p.GetDescription(), Owner: p.GetOwner(), Tags: copyTags(p.GetTags()),
		TimestampField: p.GetTimestampField(), CreatedTimestampColumn: p.GetCreatedTimestampColumn(),
		DatePartitionColumn: p.GetDatePartitionColumn(), FieldMapping: copyTags(p.GetFieldMapping()),
		Kind: SourceOther,
	}
	switch p.GetType() {
	case core.DataSource_BATCH_FILE:
		s.Kind = SourceFile
		s.Path = p.GetFileOptions().GetUri()
		s.S3EndpointOverride = p.GetFileOptions().GetS3EndpointOverride()
		s.FileFormat = "parquet"
		if p.GetFileOptions().GetFileFormat() == nil && strings.HasSuffix(strings.ToLower(s.Path), ".csv") {
			s.FileFormat = "csv"
		}
	case core.DataSource_CUSTOM_SOURCE:
		if p.GetDataSourceClassType() == classPostgresSource {
			s.Kind = SourcePostgres
			var cfg postgresSourceConfig
			_ = json.Unmarshal(p.GetCustomOptions().GetConfiguration(), &cfg)
			s.Table, s.Query = cfg.Table, cfg.Query
		}
	case core.DataSource_BATCH_SPARK:
		if t, ok := icebergFromProto(p); ok {
			s.Kind, s.Iceberg = SourceIceberg, t
		}
	case core.DataSource_PUSH_SOURCE:
		s.Kind = SourcePush
	case core.DataSource_STREAM_KAFKA:
		s.Kind = SourceKafka
		ko := p.GetKafkaOptions()
		s.KafkaBootstrapServers, s.Topic = ko.GetKafkaBootstrapServers(), ko.GetTopic()
		if a := ko.GetMessageFormat().GetAvroFormat(); a != nil {
			s.MessageFormat, s.SchemaJSON = "avro", a.GetSchemaJson()
		} else {
			s.MessageFormat, s.SchemaJSON = "json", ko.GetMessageFormat().GetJsonFormat().GetSchemaJson()
		}
		s.WatermarkDelay = ko.GetWatermarkDelayThreshold().AsDuration()
	case core.DataSource_REQUEST_SOURCE:
		s.Kind = SourceRequest
		s.Schema = fieldsFromProto(p.GetRequestDataOptions().GetSchema())
	}
	if p.GetBatchSource() != nil {
		s.BatchSource = DataSourceFromProto(p.GetBatchSource())
	}
	return s
}

func intervalsToProto(ivs []Interval) []*core.MaterializationInterval {
	out := make([]*core.MaterializationInterval, len(ivs))
	for i, iv := range ivs {
		out[i] = &core.MaterializationInterval{StartTime: timestamppb.New(iv.Start), EndTime: timestamppb.New(iv.End)}
	}
	return out
}

func intervalsFromProto(ps []*core.MaterializationInterval) []Interval {
	out := make([]Interval, len(ps))
	for i, p := range ps {
		out[i] = Interval{Start: fromTS(p.GetStartTime()), End: fromTS(p.GetEndTime())}
	}
	return out
}

func durationOrNil(d time.Duration) *durationpb.Duration {
	return durationpb.New(d)
}

// ToProto converts a (batch) feature view for project. Views with IsStream
// set must use ToStreamProto.
func (fv *FeatureView) ToProto(project string) *core.FeatureView {
	spec := &core.FeatureViewSpec{
		Name: fv.Name, Project: project, Entities: append([]string(nil), fv.Entities...),
		Features: fieldsToProto(fv.Features), EntityColumns: fieldsToProto(fv.protoEntityColumns()),
		Description: fv.Description, Tags: copyTags(fv.Tags), Owner: fv.Owner,
		Ttl: durationOrNil(fv.TTL), Online: fv.Online, Offline: fv.Offline, Disabled: fv.Disabled,
	}
	if fv.Source != nil {
		spec.BatchSource = fv.Source.ToProto(project)
	}
	if fv.StreamSource != nil {
		spec.StreamSource = fv.StreamSource.ToProto(project)
	}
	return &core.FeatureView{Spec: spec, Meta: &core.FeatureViewMeta{
		CreatedTimestamp: ts(fv.Created), LastUpdatedTimestamp: ts(fv.Updated),
		MaterializationIntervals: intervalsToProto(fv.Intervals),
	}}
}

// ToStreamProto converts a stream-fed view to Feast's StreamFeatureView.
func (fv *FeatureView) ToStreamProto(project string) *core.StreamFeatureView {
	spec := &core.StreamFeatureViewSpec{
		Name: fv.Name, Project: project, Entities: append([]string(nil), fv.Entities...),
		Features: fieldsToProto(fv.Features), EntityColumns: fieldsToProto(fv.protoEntityColumns()),
		Description: fv.Description, Tags: copyTags(fv.Tags), Owner: fv.Owner,
		Ttl: durationOrNil(fv.TTL), Online: fv.Online, Disabled: fv.Disabled,
	}
	if fv.Source != nil {
		spec.BatchSource = fv.Source.ToProto(project)
		spec.TimestampField = fv.Source.TimestampField
	}
	if fv.StreamSource != nil {
		spec.StreamSource = fv.StreamSource.ToProto(project)
	}
	return &core.StreamFeatureView{Spec: spec, Meta: &core.FeatureViewMeta{
		CreatedTimestamp: ts(fv.Created), LastUpdatedTimestamp: ts(fv.Updated),
		MaterializationIntervals: intervalsToProto(fv.Intervals),
	}}
}

// FeatureViewFromProto converts a registry feature view.
func FeatureViewFromProto(p *core.FeatureView) *FeatureView {
	s := p.GetSpec()
	return &FeatureView{
		Name: s.GetName(), Entities: append([]string(nil), s.GetEntities()...),
		EntityColumns: entityColumnsFromProto(fieldsFromProto(s.GetEntityColumns())), Features: fieldsFromProto(s.GetFeatures()),
		TTL: s.GetTtl().AsDuration(), Online: s.GetOnline(), Offline: s.GetOffline(), Disabled: s.GetDisabled(),
		Description: s.GetDescription(), Owner: s.GetOwner(), Tags: copyTags(s.GetTags()),
		Source: DataSourceFromProto(s.GetBatchSource()), StreamSource: DataSourceFromProto(s.GetStreamSource()),
		Created: fromTS(p.GetMeta().GetCreatedTimestamp()), Updated: fromTS(p.GetMeta().GetLastUpdatedTimestamp()),
		Intervals: intervalsFromProto(p.GetMeta().GetMaterializationIntervals()),
	}
}

// StreamFeatureViewFromProto converts a registry stream feature view.
func StreamFeatureViewFromProto(p *core.StreamFeatureView) *FeatureView {
	s := p.GetSpec()
	return &FeatureView{
		Name: s.GetName(), Entities: append([]string(nil), s.GetEntities()...),
		EntityColumns: entityColumnsFromProto(fieldsFromProto(s.GetEntityColumns())), Features: fieldsFromProto(s.GetFeatures()),
		TTL: s.GetTtl().AsDuration(), Online: s.GetOnline(), Disabled: s.GetDisabled(),
		Description: s.GetDescription(), Owner: s.GetOwner(), Tags: copyTags(s.GetTags()),
		Source: DataSourceFromProto(s.GetBatchSource()), StreamSource: DataSourceFromProto(s.GetStreamSource()),
		IsStream: true,
		Created:  fromTS(p.GetMeta().GetCreatedTimestamp()), Updated: fromTS(p.GetMeta().GetLastUpdatedTimestamp()),
		Intervals: intervalsFromProto(p.GetMeta().GetMaterializationIntervals()),
	}
}

// ToProto converts the on-demand view for project. views resolves the
// feature views it reads (Feast embeds a projection of each).
func (o *OnDemandFeatureView) ToProto(project string, views map[string]*FeatureView) *core.OnDemandFeatureView {
	sources := make(map[string]*core.OnDemandSource, len(o.Sources))
	for _, src := range o.Sources {
		if src.Request != nil {
			sources[src.Request.Name] = &core.OnDemandSource{Source: &core.OnDemandSource_RequestDataSource{RequestDataSource: src.Request.ToProto(project)}}
			continue
		}
		proj := &core.FeatureViewProjection{FeatureViewName: src.FeatureView}
		if fv := views[src.FeatureView]; fv != nil {
			for _, f := range fv.Features {
				if len(src.Features) == 0 || slices.Contains(src.Features, f.Name) {
					proj.FeatureColumns = append(proj.FeatureColumns, FieldToProto(f))
				}
			}
			if fv.Source != nil {
				proj.TimestampField = fv.Source.TimestampField
				proj.CreatedTimestampColumn = fv.Source.CreatedTimestampColumn
			}
		}
		sources[src.FeatureView] = &core.OnDemandSource{Source: &core.OnDemandSource_FeatureViewProjection{FeatureViewProjection: proj}}
	}
	exprs := make([]celTransformation, len(o.Features))
	for i, f := range o.Features {
		exprs[i] = celTransformation{Name: f.Name, Expression: f.Expression}
	}
	body, _ := json.Marshal(exprs)
	features := make([]*core.FeatureSpecV2, len(o.Features))
	for i, f := range o.Features {
		f.Expression = ""
		features[i] = FieldToProto(f)
	}
	return &core.OnDemandFeatureView{
		Spec: &core.OnDemandFeatureViewSpec{
			Name: o.Name, Project: project, Features: features, Sources: sources,
			FeatureTransformation: &core.FeatureTransformationV2{Transformation: &core.FeatureTransformationV2_UserDefinedFunction{
				UserDefinedFunction: &core.UserDefinedFunctionV2{Name: o.Name, BodyText: string(body), Mode: TransformationModeCEL},
			}},
			Mode: TransformationModeCEL, Description: o.Description, Tags: copyTags(o.Tags), Owner: o.Owner,
			WriteToOnlineStore: o.WriteToOnlineStore,
		},
		Meta: &core.OnDemandFeatureViewMeta{CreatedTimestamp: ts(o.Created), LastUpdatedTimestamp: ts(o.Updated)},
	}
}

// OnDemandFeatureViewFromProto converts a registry on-demand view. An error
// is returned for views whose transformation is not CEL (e.g. Python UDFs
// written by Python Feast), which this implementation cannot execute.
func OnDemandFeatureViewFromProto(p *core.OnDemandFeatureView) (*OnDemandFeatureView, error) {
	s := p.GetSpec()
	o := &OnDemandFeatureView{
		Name: s.GetName(), WriteToOnlineStore: s.GetWriteToOnlineStore(), Description: s.GetDescription(),
		Owner: s.GetOwner(), Tags: copyTags(s.GetTags()),
		Created: fromTS(p.GetMeta().GetCreatedTimestamp()), Updated: fromTS(p.GetMeta().GetLastUpdatedTimestamp()),
	}
	names := make([]string, 0, len(s.GetSources()))
	for n := range s.GetSources() {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		src := s.GetSources()[n]
		switch {
		case src.GetRequestDataSource() != nil:
			o.Sources = append(o.Sources, ODFVSource{Request: DataSourceFromProto(src.GetRequestDataSource())})
		case src.GetFeatureViewProjection() != nil:
			pr := src.GetFeatureViewProjection()
			var feats []string
			for _, c := range pr.GetFeatureColumns() {
				feats = append(feats, c.GetName())
			}
			o.Sources = append(o.Sources, ODFVSource{FeatureView: pr.GetFeatureViewName(), Features: feats})
		case src.GetFeatureView() != nil:
			o.Sources = append(o.Sources, ODFVSource{FeatureView: src.GetFeatureView().GetSpec().GetName()})
		}
	}
	exprByName := map[string]string{}
	udf := s.GetFeatureTransformation().GetUserDefinedFunction()
	if udf.GetMode() == TransformationModeCEL || s.GetMode() == TransformationModeCEL {
		var exprs []celTransformation
		if err := json.Unmarshal([]byte(udf.GetBodyText()), &exprs); err != nil {
			return nil, fmt.Errorf("on demand feature view %s: decode CEL transformation: %w", o.Name, err)
		}
		for _, e := range exprs {
			exprByName[e.Name] = e.Expression
		}
	}
	for _, f := range s.GetFeatures() {
		fld := FieldFromProto(f)
		fld.Expression = exprByName[f.GetName()]
		o.Features = append(o.Features, fld)
	}
	if len(exprByName) == 0 {
		mode := s.GetMode()
		if mode == "" {
			mode = udf.GetMode()
		}
		return o, fmt.Errorf("on demand feature view %s uses a %q transformation; only CEL expressions can run here", o.Name, mode)
	}
	return o, nil
}

// ToProto converts the feature service for project. views resolves the
// feature views (and on-demand views as pseudo views) it projects.
func (fs *FeatureService) ToProto(project string) *core.FeatureService {
	projs := make([]*core.FeatureViewProjection, len(fs.Projections))
	for i, p := range fs.Projections {
		projs[i] = &core.FeatureViewProjection{
			FeatureViewName: p.View, FeatureViewNameAlias: p.Alias,
			FeatureColumns: fieldsToProto(p.Features), JoinKeyMap: copyTags(p.JoinKeyMap),
		}
	}
	return &core.FeatureService{
		Spec: &core.FeatureServiceSpec{Name: fs.Name, Project: project, Features: projs, Tags: copyTags(fs.Tags), Description: fs.Description, Owner: fs.Owner},
		Meta: &core.FeatureServiceMeta{CreatedTimestamp: ts(fs.Created), LastUpdatedTimestamp: ts(fs.Updated)},
	}
}

// FeatureServiceFromProto converts a registry feature service.
func FeatureServiceFromProto(p *core.FeatureService) *FeatureService {
	s := p.GetSpec()
	fs := &FeatureService{Name: s.GetName(), Description: s.GetDescription(), Owner: s.GetOwner(), Tags: copyTags(s.GetTags()),
		Created: fromTS(p.GetMeta().GetCreatedTimestamp()), Updated: fromTS(p.GetMeta().GetLastUpdatedTimestamp())}
	for _, pr := range s.GetFeatures() {
		fs.Projections = append(fs.Projections, Projection{
			View: pr.GetFeatureViewName(), Alias: pr.GetFeatureViewNameAlias(),
			Features: fieldsFromProto(pr.GetFeatureColumns()), JoinKeyMap: copyTags(pr.GetJoinKeyMap()),
		})
	}
	return fs
}
