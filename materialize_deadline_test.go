package feast_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/materialize"
)

// expiringEngine runs the real engine, then ends the run's context as a
// request deadline expiring right after the last write would.
type expiringEngine struct {
	materialize.Engine
	cancel context.CancelFunc
}

func (e expiringEngine) Materialize(ctx context.Context, t materialize.Task, p materialize.Progress) (materialize.Stats, error) {
	st, err := e.Engine.Materialize(ctx, t, p)
	e.cancel()
	return st, err
}

// TestIntervalRecordedWhenDeadlineEndsAfterWrite: once every row was
// written, the interval is recorded even when the run's deadline (a
// server's request timeout on a slow machine) expires before the registry
// update; before, the update ran under the expired context and failed with
// "the interval was not recorded".
func TestIntervalRecordedWhenDeadlineEndsAfterWrite(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	dir := demoRepo(t, now)
	// A SQL registry, as in production: its database calls honor the
	// context (the file registry's writes do not look at it).
	cfgPath := filepath.Join(dir, "feature_store.yaml")
	yml, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	yml = []byte(strings.Replace(string(yml), "registry: data/registry.db", "registry:\n  registry_type: sql\n  path: sqlite:///data/registry.sqlite", 1))
	if err := os.WriteFile(cfgPath, yml, 0o644); err != nil {
		t.Fatal(err)
	}
	fs := open(t, dir, now)
	applyRepo(t, fs)
	src, err := fs.OfflineStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dst, err := fs.OnlineStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng := expiringEngine{Engine: materialize.NewLocal(src, dst, materialize.LocalOptions{}), cancel: cancel}
	if _, err := fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{Engine: eng}); err != nil {
		t.Fatalf("materialize: %v", err)
	}
	fv, err := fs.FeatureView(context.Background(), "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	if len(fv.Intervals) != 1 || !fv.Intervals[0].End.Equal(now) {
		t.Fatalf("intervals %+v, want one ending %s", fv.Intervals, now)
	}
}
