package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/sqlite"
	"github.com/feastgo/feast/proto/feast/types"
)

func TestNewestEventTime(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, config.SQLiteOnlineConfig{Path: "o.db"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fv := &model.FeatureView{Name: "v", EntityColumns: []model.Field{{Name: "id", Type: model.Int64}}, Features: []model.Field{{Name: "x", Type: model.Int64}}}
	if _, ok, err := s.NewestEventTime(ctx, "p", fv); ok || err != nil {
		t.Fatalf("missing table: ok=%v err=%v", ok, err)
	}
	if err := s.Update(ctx, "p", []*model.FeatureView{fv}, nil); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	var rows []online.Row
	for i := int64(0); i < 3; i++ {
		k, _ := online.SerializeEntityKey([]string{"id"}, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: i}}})
		rows = append(rows, online.Row{EntityKey: k, Values: []*types.Value{{Val: &types.Value_Int64Val{Int64Val: i}}}, EventTS: ts.Add(time.Duration(i) * time.Hour)})
	}
	if _, err := s.Write(ctx, online.WriteBatch{Project: "p", View: fv, Features: []string{"x"}, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.NewestEventTime(ctx, "p", fv)
	if err != nil || !ok || !got.Equal(ts.Add(2*time.Hour)) {
		t.Fatalf("newest = %v %v %v", got, ok, err)
	}
}
