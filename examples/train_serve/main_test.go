package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/examples"
)

func demoStore(t *testing.T, now time.Time) (*feast.FeatureStore, string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	if err := examples.WriteRepo(dir, "trainserve", now); err != nil {
		t.Fatal(err)
	}
	store, err := feast.Open(ctx, feast.Options{RepoPath: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	plan, err := store.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if _, err := store.MaterializeIncremental(ctx, now, feast.MaterializeOptions{}); err != nil {
		t.Fatal(err)
	}
	return store, dir
}

// The model directory carries the feature references; serving reads
// exactly those features online and scores with the trained statistics.
func TestTrainThenServe(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	store, dir := demoStore(t, now)
	modelDir := filepath.Join(t.TempDir(), "model")
	m, err := Train(ctx, store, filepath.Join(dir, "data", "driver_entities.csv"), DefaultFeatures, modelDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Mean) != 3 || m.Std["avg_daily_trips"] <= 0 {
		t.Fatalf("model %+v", m)
	}
	loaded, refs, err := LoadModel(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(refs, DefaultFeatures) || !reflect.DeepEqual(loaded, m) {
		t.Fatalf("loaded %v %+v, saved %v %+v", refs, loaded, DefaultFeatures, m)
	}

	drivers := []int64{1001, 1002, 1003}
	preds, err := Serve(ctx, store, modelDir, drivers)
	if err != nil {
		t.Fatal(err)
	}
	// The same scores from the online values read directly.
	resp, err := store.GetOnlineFeatures(ctx, feast.OnlineRequest{Features: refs, EntityRows: []map[string]any{{"driver_id": 1001}, {"driver_id": 1002}, {"driver_id": 1003}}})
	if err != nil {
		t.Fatal(err)
	}
	cols := resp.ToMap()
	want := map[int64]float64{}
	for i, d := range drivers {
		row := map[string]any{}
		for name, vals := range cols {
			if vals[i] == nil {
				t.Fatalf("driver %d: %s not found online", d, name)
			}
			row[name] = vals[i]
		}
		want[d] = m.Score(row)
	}
	if len(preds) != 3 {
		t.Fatalf("predictions %v", preds)
	}
	for i, p := range preds {
		if p.Score != want[p.DriverID] {
			t.Errorf("driver %d: score %v, want %v", p.DriverID, p.Score, want[p.DriverID])
		}
		if i > 0 && preds[i-1].Score < p.Score {
			t.Errorf("not ranked: %v", preds)
		}
	}
}

func TestLoadModelErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadModel(dir); err == nil {
		t.Fatal("loaded a model from an empty directory")
	}
	if err := SaveModel(dir, &Model{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), "lists no features") {
		t.Fatalf("empty features.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "features.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), "features.json") {
		t.Fatalf("broken features.json: %v", err)
	}
}
