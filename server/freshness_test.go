package server

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

func TestFreshnessGauge(t *testing.T) {
	now := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	fv := &model.FeatureView{Name: "stats", Online: true, TTL: time.Hour,
		Intervals: []model.Interval{{Start: now.Add(-3 * time.Hour), End: now.Add(-90 * time.Minute)}}}
	never := &model.FeatureView{Name: "never", Online: true, TTL: 0}
	r := &core.Registry{}
	registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: "stats", Msg: fv.ToProto("p")})
	registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: "never", Msg: never.ToProto("p")})
	snap := registry.NewSnapshot(r, "p", now)
	c := newFreshnessCollector(func() *registry.Snapshot { return snap }, func() time.Time { return now })
	want := `
# HELP feast_feature_freshness_seconds Seconds since the end of the feature view's last materialization interval.
# TYPE feast_feature_freshness_seconds gauge
feast_feature_freshness_seconds{feature_view="stats"} 5400
# HELP feast_feature_view_ttl_seconds The feature view's ttl (0 = no limit).
# TYPE feast_feature_view_ttl_seconds gauge
feast_feature_view_ttl_seconds{feature_view="never"} 0
feast_feature_view_ttl_seconds{feature_view="stats"} 3600
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
