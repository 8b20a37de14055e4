package registry_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/registry/registrytest"
)

func TestFileStoreConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "registry.db")
	registrytest.Run(t, func(t *testing.T) registry.Store {
		s, err := registry.OpenFile(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestBlobStoreConformance runs the suite through gocloud.dev/blob's local
// file driver, the same code path as s3:// and gs:// registries.
func TestBlobStoreConformance(t *testing.T) {
	url := "file://" + filepath.Join(t.TempDir(), "bucket", "registry.pb")
	registrytest.Run(t, func(t *testing.T) registry.Store {
		s, err := registry.OpenFile(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestFileIsOneSerializedRegistry checks the byte format: the file holds
// exactly one serialized feast.core.Registry, nothing else (its
// last_updated field written last).
func TestFileIsOneSerializedRegistry(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := registry.OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fv := registrytest.FeatureView("p", "driver_stats", "src", "conv_rate")
	if err := s.Update(ctx, "p", func(r *core.Registry) error {
		registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: "driver_stats", Msg: fv})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r core.Registry
	if err := proto.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.RegistrySchemaVersion != "1" || r.VersionId == "" || r.LastUpdated == nil || len(r.FeatureViews) != 1 {
		t.Fatalf("registry = %v", &r)
	}
	// Re-serializing what we read gives the same bytes (deterministic,
	// nothing dropped), with last_updated moved to the end so that a
	// truncated copy cannot decode as a smaller registry.
	opts := proto.MarshalOptions{Deterministic: true}
	last := r.LastUpdated
	r.LastUpdated = nil
	again, _ := opts.Marshal(&r)
	again, _ = opts.MarshalAppend(again, &core.Registry{LastUpdated: last})
	if !bytes.Equal(again, data) {
		t.Error("file bytes are not a deterministic serialization of the Registry with last_updated last")
	}
	// The feature view field (6) is written with Feast's field number.
	want, _ := proto.Marshal(fv)
	if !bytes.Contains(data, append([]byte{0x32, byte(len(want))}, want...)) && len(want) < 128 {
		t.Error("feature view not encoded as Registry field 6")
	}
}

func TestSnapshotIndexesFeatures(t *testing.T) {
	r := &core.Registry{}
	registry.Put(r, registry.Object{Kind: registry.KindFeatureView, Name: "fv", Msg: registrytest.FeatureView("p", "fv", "src", "a", "b")})
	snap := registry.NewSnapshot(r, "p", registrytestNow)
	if _, ok := snap.Features["fv:b"]; !ok {
		t.Fatalf("features index: %v", snap.Features)
	}
	if _, _, err := snap.ResolveFeatureRef("fv:c"); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`did you mean "fv:a"`)) {
		t.Errorf("unknown feature error: %v", err)
	}
	if _, _, err := snap.ResolveFeatureRef("nocolon"); err == nil {
		t.Error("malformed reference accepted")
	}
}
