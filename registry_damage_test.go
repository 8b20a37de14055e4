package feast_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

// A registry written by apply and cut at any byte length is refused with a
// clear error or decodes to exactly the original: never to a registry with
// objects missing (which plan would propose to re-create).
func TestTruncatedRegistryIsRefused(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := demoRepo(t, now)
	applyRepo(t, open(t, dir, now))
	path := filepath.Join(dir, "data", "registry.db")
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := registry.OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := store.Load(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(registry.Objects(want, "demo")) < 7 {
		t.Fatalf("the applied registry holds %d objects", len(registry.Objects(want, "demo")))
	}
	refused := 0
	for n := 1; n < len(full); n++ {
		if err := os.WriteFile(path, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := store.Load(ctx, "demo")
		if err != nil {
			if !strings.Contains(err.Error(), "decode registry") {
				t.Fatalf("cut at %d of %d: unclear error %v", n, len(full), err)
			}
			refused++
			continue
		}
		if !proto.Equal(got, want) {
			t.Fatalf("cut at %d of %d bytes decodes to a different registry (%d objects)", n, len(full), len(registry.Objects(got, "demo")))
		}
	}
	if refused != len(full)-1 {
		t.Errorf("%d of %d cuts refused", refused, len(full)-1)
	}
	// The whole file still decodes (last_updated written last is a valid
	// protobuf encoding).
	os.WriteFile(path, full, 0o644)
	if got, err := store.Load(ctx, "demo"); err != nil || !proto.Equal(got, want) {
		t.Fatalf("whole file: %v", err)
	}
}

// A registry that goes missing or empty under a running store is a failed
// refresh: the last good snapshot keeps serving and the error is reported.
func TestMissingOrEmptyRegistryKeepsSnapshot(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := demoRepo(t, now)
	fs := open(t, dir, now)
	applyRepo(t, fs)
	ctx := context.Background()
	reg := fs.Registry()
	if _, err := reg.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "data", "registry.db")
	full, _ := os.ReadFile(path)
	for name, damage := range map[string]func() error{
		"emptied": func() error { return os.WriteFile(path, nil, 0o644) },
		"deleted": func() error { return os.Remove(path) },
	} {
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "missing or empty") {
			t.Errorf("%s registry: refresh error %v", name, err)
		}
		if reg.LastError() == nil {
			t.Errorf("%s registry: no LastError", name)
		}
		snap := reg.Cached()
		if snap == nil || snap.FeatureViews["driver_hourly_stats"] == nil {
			t.Fatalf("%s registry: the last good snapshot was replaced", name)
		}
		os.WriteFile(path, full, 0o644)
		if _, err := reg.Refresh(ctx); err != nil || reg.LastError() != nil {
			t.Fatalf("restored: %v", err)
		}
	}
}

// A registry whose objects reference objects it does not hold is refused by
// plan, apply and refresh, naming what is missing.
func TestInconsistentRegistryIsRefused(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := demoRepo(t, now)
	fs := open(t, dir, now)
	applyRepo(t, fs)
	ctx := context.Background()
	if _, err := fs.Registry().Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// Another tool drops the entity and a view's data source.
	err := fs.Registry().Store().Update(ctx, "demo", func(r *core.Registry) error {
		registry.Remove(r, "demo", registry.KindEntity, "driver")
		registry.Remove(r, "demo", registry.KindDataSource, "driver_hourly_stats_source")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{`feature view "driver_hourly_stats" uses entity "driver"`, `feature view "driver_hourly_stats" uses data source "driver_hourly_stats_source"`}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s of an inconsistent registry succeeded", what)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q: %v", what, w, err)
			}
		}
	}
	_, err = fs.Plan(ctx)
	check("plan", err)
	_, err = fs.Registry().Refresh(ctx)
	check("refresh", err)
	if snap := fs.Registry().Cached(); snap == nil || snap.Entities["driver"] == nil {
		t.Error("the refresh replaced the consistent snapshot")
	}
	// Apply with a plan made before the damage refuses too.
	fs2 := open(t, dir, now)
	repo, err := fs2.LoadDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	check("apply", fs2.Apply(ctx, &feast.Plan{Repo: repo}))
}
