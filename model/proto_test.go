package model

import "testing"

// A view without entities carries Feast's __dummy_id entity column in the
// registry, as Feast writes it after apply, and none in memory.
func TestEntitylessViewProto(t *testing.T) {
	fv := &FeatureView{Name: "totals", Entities: []string{DummyEntityName}, Features: []Field{{Name: "rides", Type: Int64}}}
	p := fv.ToProto("p")
	cols := p.GetSpec().GetEntityColumns()
	if len(cols) != 1 || cols[0].GetName() != DummyEntityJoinKey || cols[0].GetValueType() != String {
		t.Fatalf("entity columns in the registry = %v", cols)
	}
	if back := FeatureViewFromProto(p); len(back.EntityColumns) != 0 || len(back.Features) != 1 {
		t.Errorf("read back: entity columns %v, features %v", back.EntityColumns, back.Features)
	}
	s := fv.ToStreamProto("p")
	if back := StreamFeatureViewFromProto(s); len(s.GetSpec().GetEntityColumns()) != 1 || len(back.EntityColumns) != 0 {
		t.Errorf("stream view: %v / %v", s.GetSpec().GetEntityColumns(), back.EntityColumns)
	}
	keyed := &FeatureView{Name: "v", Entities: []string{"driver"}, EntityColumns: []Field{{Name: "driver_id", Type: Int64}}}
	if back := FeatureViewFromProto(keyed.ToProto("p")); len(back.EntityColumns) != 1 || back.EntityColumns[0].Name != "driver_id" {
		t.Errorf("keyed view read back: %v", back.EntityColumns)
	}
}
