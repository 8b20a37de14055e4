package offline

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/feastgo/feast/model"
)

func view(name string, ttl time.Duration) *model.FeatureView {
	return &model.FeatureView{Name: name, TTL: ttl,
		Source:        &model.DataSource{Name: name, Kind: model.SourceFile, Path: name, TimestampField: "ts"},
		EntityColumns: []model.Field{{Name: "id", Type: model.Int64}},
		Features:      []model.Field{{Name: "x", Type: model.Int64}}}
}

func rel(src *model.DataSource) (string, error) { return src.Path, nil }

func TestValidate(t *testing.T) {
	var reader array.RecordReader
	reader, _ = array.NewRecordReader(arrow.NewSchema(nil, nil), nil)
	defer reader.Release()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		req  HistoricalRequest
		want string
	}{
		{HistoricalRequest{Entities: EntitySource{Records: reader, Path: "x"}, Views: []ViewRequest{{View: view("v", 0)}}}, "set only one"},
		{HistoricalRequest{Entities: EntitySource{Path: "x"}}, "no feature views"},
		{HistoricalRequest{Entities: EntitySource{Path: "x"}, Start: t0, Views: []ViewRequest{{View: view("v", 0)}}}, "entity-less"},
		{HistoricalRequest{Start: t0.Add(time.Hour), End: t0, Views: []ViewRequest{{View: view("v", 0)}}}, "after end"},
		{HistoricalRequest{Views: []ViewRequest{{}}}, "no feature view"},
	} {
		err := tc.req.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.req, err, tc.want)
		}
	}
}

func TestEntitylessDefaults(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	req := &HistoricalRequest{Views: []ViewRequest{{View: view("a", time.Hour)}, {View: view("b", 3*time.Hour)}}}
	_, start, end, err := EntitylessPlan(req, rel, now)
	if err != nil || !end.Equal(now) || !start.Equal(now.Add(-3*time.Hour)) {
		t.Errorf("bounded: start %s end %s err %v", start, end, err)
	}
	req.Views = append(req.Views, ViewRequest{View: view("c", 0)})
	if _, start, _, _ = EntitylessPlan(req, rel, now); !start.IsZero() {
		t.Errorf("a view without ttl must leave start unbounded, got %s", start)
	}
}

func TestPlanRequestTimestampKinds(t *testing.T) {
	req := &HistoricalRequest{Entities: EntitySource{Path: "x"}, Views: []ViewRequest{{View: view("v", 0)}}}
	cols := []Column{{Name: "id", Kind: KindInt, Type: "BIGINT"}, {Name: "event_timestamp", Kind: KindString, Type: "VARCHAR"}}
	if _, err := PlanRequest(req, cols, rel); err == nil || !strings.Contains(err.Error(), "event_timestamp has type VARCHAR, not a timestamp") {
		t.Errorf("string event_timestamp: %v", err)
	}
	cols[1] = Column{Name: "day", Kind: KindDate, Type: "DATE"}
	p, err := PlanRequest(req, cols, rel)
	if err != nil || p.Timestamp != "day" || strings.Join(p.Columns, ",") != "id,day,x" {
		t.Errorf("date column: %+v %v", p, err)
	}
}

func TestFileFormat(t *testing.T) {
	for in, want := range map[string]string{"a.parquet": "parquet", "A.CSV": "csv", "x.csv.gz": "csv", "d/*.parquet": "parquet", "x.json": ""} {
		if got := FileFormat(in); got != want {
			t.Errorf("FileFormat(%s) = %q, want %q", in, got, want)
		}
	}
}
