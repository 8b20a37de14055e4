package registry

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/proto/feast/types"
	"google.golang.org/protobuf/types/known/durationpb"
)

// FuzzRegistryToModel decodes arbitrary bytes as a registry (as Load does)
// and converts every object to the model (as a snapshot does): any input is
// refused with an error or indexed, never a panic. The seeds are the
// registries the file store wrote when applying each fixture repository
// (testdata/applied, kept current by TestAppliedRegistryGoldens) and a
// registry with an object of every kind built here.
func FuzzRegistryToModel(f *testing.F) {
	src := &core.DataSource{Name: "src", Project: "p", Type: core.DataSource_BATCH_FILE, TimestampField: "ts",
		Options: &core.DataSource_FileOptions_{FileOptions: &core.DataSource_FileOptions{Uri: "data.parquet"}}}
	fv := &core.FeatureView{Spec: &core.FeatureViewSpec{Name: "v", Project: "p", Entities: []string{"e"},
		Features: []*core.FeatureSpecV2{{Name: "f", ValueType: types.ValueType_FLOAT}}, Ttl: durationpb.New(time.Hour), BatchSource: src, Online: true}}
	reg := &core.Registry{
		DataSources:  []*core.DataSource{src},
		Entities:     []*core.Entity{{Spec: &core.EntitySpecV2{Name: "e", Project: "p", JoinKey: "k", ValueType: types.ValueType_INT64}}},
		FeatureViews: []*core.FeatureView{fv},
		OnDemandFeatureViews: []*core.OnDemandFeatureView{{Spec: &core.OnDemandFeatureViewSpec{Name: "o", Project: "p",
			Sources: map[string]*core.OnDemandSource{"v": {Source: &core.OnDemandSource_FeatureView{FeatureView: fv}}}}}},
		FeatureServices: []*core.FeatureService{{Spec: &core.FeatureServiceSpec{Name: "s", Project: "p",
			Features: []*core.FeatureViewProjection{{FeatureViewName: "v"}}}}},
	}
	seed, _ := encode(reg, time.Unix(1700000000, 0))
	f.Add(seed, "p")
	f.Add([]byte{}, "p")
	applied, err := filepath.Glob(filepath.Join("testdata", "applied", "*.db"))
	if err != nil || len(applied) == 0 {
		f.Fatalf("no applied registries in testdata/applied (%v): see TestAppliedRegistryGoldens", err)
	}
	for _, path := range applied {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "p")
		f.Add(data, "other")
	}
	f.Fuzz(func(t *testing.T, data []byte, project string) {
		r, err := decode(data, "fuzz")
		if err != nil {
			return
		}
		_ = CheckIntegrity(r, project)
		for _, p := range []string{project, "p"} {
			s := NewSnapshot(r, p, time.Unix(0, 0))
			_ = s.FeatureRefNames()
		}
		// What decodes re-encodes to bytes that decode to the same
		// registry (compared as bytes: NaN fields are not proto.Equal).
		if r.GetLastUpdated() == nil {
			return
		}
		when := r.GetLastUpdated().AsTime()
		again, err := encode(proto.Clone(r).(*core.Registry), when)
		if err != nil {
			return
		}
		r2, err := decode(again, "fuzz")
		if err != nil {
			t.Fatalf("re-encoded registry does not decode: %v", err)
		}
		third, _ := encode(r2, when)
		if string(third) != string(again) {
			t.Fatal("re-encoded registry differs")
		}
	})
}
