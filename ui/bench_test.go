package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/ui"
)

// bigSnapshot builds, in memory, a registry of views feature views with
// features features each (plus their entity and sources), 100 feature
// services and 100 on-demand views.
func bigSnapshot(views, features int) *registry.Snapshot {
	const project = "big"
	reg := &core.Registry{}
	ent := &model.Entity{Name: "driver", JoinKey: "driver_id", ValueType: model.Int64}
	reg.Entities = append(reg.Entities, ent.ToProto(project))
	fvs := map[string]*model.FeatureView{}
	for i := 0; i < views; i++ {
		src := &model.DataSource{Name: fmt.Sprintf("source_%04d", i), Kind: model.SourceFile, Path: fmt.Sprintf("data/s%d.parquet", i), TimestampField: "ts"}
		reg.DataSources = append(reg.DataSources, src.ToProto(project))
		fv := &model.FeatureView{Name: fmt.Sprintf("view_%04d", i), Entities: []string{"driver"}, EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
			TTL: time.Hour, Online: true, Source: src, Owner: fmt.Sprintf("team%d@example.com", i%20),
			Tags: map[string]string{"team": fmt.Sprintf("t%d", i%20)}, Description: fmt.Sprintf("Statistics number %d", i)}
		for j := 0; j < features; j++ {
			fv.Features = append(fv.Features, model.Field{Name: fmt.Sprintf("feature_%02d_%04d", j, i), Type: model.Float, Description: "a measure"})
		}
		fvs[fv.Name] = fv
		reg.FeatureViews = append(reg.FeatureViews, fv.ToProto(project))
	}
	for i := 0; i < 100; i++ {
		v := fmt.Sprintf("view_%04d", i)
		reg.FeatureServices = append(reg.FeatureServices, (&model.FeatureService{Name: fmt.Sprintf("service_%03d", i),
			Projections: []model.Projection{{View: v}, {View: fmt.Sprintf("view_%04d", i+100)}}}).ToProto(project))
		o := &model.OnDemandFeatureView{Name: fmt.Sprintf("odfv_%03d", i), Sources: []model.ODFVSource{{FeatureView: v}},
			Features: []model.Field{{Name: "double_it", Type: model.Double, Expression: fmt.Sprintf("double(feature_00_%04d) * 2.0", i)}}}
		reg.OnDemandFeatureViews = append(reg.OnDemandFeatureViews, o.ToProto(project, fvs))
	}
	return registry.NewSnapshot(reg, project, time.Now())
}

// BenchmarkCatalog2000Views renders list pages and searches over 2,000
// feature views with 50 features each (100,000 features). The catalog is
// built once per snapshot, before the timer.
func BenchmarkCatalog2000Views(b *testing.B) {
	f := newFixture(b)
	snap := bigSnapshot(2000, 50)
	if len(snap.Warnings) > 0 {
		b.Fatal(snap.Warnings)
	}
	h, err := ui.New(f.Store, ui.Options{Snapshot: func(context.Context) (*registry.Snapshot, error) { return snap, nil }})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if code, _ := get(b, h, "/feature-views"); code != http.StatusOK {
		b.Fatal(code)
	}
	b.Logf("catalog built and first page rendered in %s", time.Since(start))
	for _, c := range []struct{ name, path string }{
		{"views-list", "/feature-views"},
		{"views-list-page-30", "/feature-views?page=30"},
		{"views-filter-tag", "/feature-views?tag=team:t7&owner=team7"},
		{"features-list", "/features"},
		{"features-filter", "/features?q=feature_07"},
		{"search-name", "/search?q=view_1234"},
		{"search-common", "/search?q=feature_01"},
		{"search-words", "/search?q=statistics+12"},
		{"search-json", "/api/search?q=feature_01_12"},
		{"lineage-focus", "/lineage?focus=feature-views/view_0042"},
		{"lineage-all", "/lineage"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodGet, c.path, nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}

// BenchmarkPreview times the data preview of a 1M-row Parquet source: the
// default bounded sample (10,000 rows) against a sample of the whole file,
// to show the preview does not scan.
func BenchmarkPreview(b *testing.B) {
	f := newFixture(b)
	writeDriverParquet(b, f, 1_000_000)
	h := newUI(b, f, "")
	for _, c := range []struct{ name, q string }{
		{"default-10k", "/api/preview/driver_src"},
		{"whole-file-1M", "/api/preview/driver_src?sample=1000000"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if code, body := get(b, h, c.q); code != 200 {
					b.Fatalf("%d %s", code, body)
				}
			}
		})
	}
}
