package registry

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
)

// A stored on-demand view whose CEL transformation does not decode is left
// out of the snapshot with a warning, so that every reader of
// OnDemandViews may use its entries: it used to be kept as nil, which
// FeatureRefNames (found by FuzzRegistryToModel), the UI, materialization
// and apply dereferenced.
func TestSnapshotLeavesOutBrokenOnDemandView(t *testing.T) {
	r := &core.Registry{OnDemandFeatureViews: []*core.OnDemandFeatureView{{Spec: &core.OnDemandFeatureViewSpec{
		Name: "broken", Project: "p", Mode: "cel",
		Features: []*core.FeatureSpecV2{{Name: "x", ValueType: types.ValueType_DOUBLE}},
		FeatureTransformation: &core.FeatureTransformationV2{Transformation: &core.FeatureTransformationV2_UserDefinedFunction{
			UserDefinedFunction: &core.UserDefinedFunctionV2{Name: "broken", Mode: "cel", BodyText: "not json"}}},
	}}}}
	s := NewSnapshot(r, "p", time.Unix(0, 0))
	if _, ok := s.OnDemandViews["broken"]; ok {
		t.Fatal("the view whose transformation does not decode is in the snapshot")
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "decode CEL transformation") {
		t.Fatalf("warnings %q", s.Warnings)
	}
	if names := s.FeatureRefNames(); len(names) != 0 {
		t.Fatalf("feature refs %v", names)
	}
	var nf *NotFoundError
	if _, _, err := s.ResolveFeatureRef("broken:x"); !errors.As(err, &nf) {
		t.Fatalf("resolve broken:x: %v, want not found", err)
	}
}
