package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/registry/registrytest"
)

// BenchmarkLoad1000Views measures Load of a project with 1,000 feature views
// of 10 features each (plus their batch sources embedded in the views).
//
//	go test -run '^$' -bench BenchmarkLoad1000Views -benchmem ./registry/sqlstore/
func BenchmarkLoad1000Views(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, project := seed1000(b, be)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.Load(ctx, project)
				if err != nil {
					b.Fatal(err)
				}
				if len(r.FeatureViews) != 1000 {
					b.Fatalf("loaded %d views", len(r.FeatureViews))
				}
			}
		})
	}
}

// BenchmarkUpdateInterval1000Views measures one materialization record (an
// interval appended to one view) in a project of 1,000 views: load, diff,
// one UPDATE row, commit.
//
//	go test -run '^$' -bench BenchmarkUpdateInterval1000Views -benchmem ./registry/sqlstore/
func BenchmarkUpdateInterval1000Views(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, project := seed1000(b, be)
			ctx := context.Background()
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				from := start.Add(time.Duration(i) * time.Hour)
				i++
				if err := s.Update(ctx, project, func(r *core.Registry) error {
					registry.AppendInterval(r, project, "view_0500", from, from.Add(time.Hour), from)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func seed1000(b *testing.B, be backend) (*Store, string) {
	b.Helper()
	s := openStore(b, be.url(b), Options{})
	const project = "bench"
	features := make([]string, 10)
	for i := range features {
		features[i] = fmt.Sprintf("feature_%02d", i)
	}
	if err := s.Update(context.Background(), project, func(r *core.Registry) error {
		for i := range 1000 {
			r.FeatureViews = append(r.FeatureViews,
				registrytest.FeatureView(project, fmt.Sprintf("view_%04d", i), fmt.Sprintf("source_%04d", i), features...))
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return s, project
}
