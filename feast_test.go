package feast_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/examples"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// demoRepo writes the demo repository with data ending at now.
func demoRepo(t *testing.T, now time.Time) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if err := examples.WriteRepo(dir, "demo", now); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t *testing.T, dir string, now time.Time) *feast.FeatureStore {
	t.Helper()
	fs, err := feast.Open(context.Background(), feast.Options{RepoPath: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

func applyRepo(t *testing.T, fs *feast.FeatureStore) *feast.Plan {
	t.Helper()
	ctx := context.Background()
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyPlanRoundTrip(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := demoRepo(t, now)
	fs := open(t, dir, now)
	p := applyRepo(t, fs)
	created := 0
	for _, o := range p.Objects {
		if o.Action == diff.Create {
			created++
		}
	}
	if created < 7 || len(p.Infra) != 1 || p.Infra[0].Name != "sqlite table demo_driver_hourly_stats" {
		t.Fatalf("first plan: %d created, infra %+v", created, p.Infra)
	}
	// A second plan of the same repo is empty.
	p2, err := fs.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasChanges() {
		t.Fatalf("second plan has changes: %+v", p2.Objects)
	}
	// Change the ttl: the plan shows the property change; apply keeps created time.
	defs := filepath.Join(dir, "features.yaml")
	data, _ := os.ReadFile(defs)
	os.WriteFile(defs, []byte(strings.Replace(string(data), "ttl: 1d", "ttl: 2d", 1)), 0o644)
	p3, err := fs.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, o := range p3.Objects {
		for _, prop := range o.Properties {
			if o.Name == "driver_hourly_stats" && prop.Path == "ttl" && prop.Old == "1d" && prop.New == "2d" {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("ttl change not planned: %+v", p3.Objects)
	}
	if err := fs.Apply(context.Background(), p3); err != nil {
		t.Fatal(err)
	}
	fv, err := fs.FeatureView(context.Background(), "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	if fv.TTL != 48*time.Hour || !fv.Created.Equal(now) {
		t.Errorf("after update: ttl %v created %v", fv.TTL, fv.Created)
	}
}

// failingWriter fails every write after the first `okBatches`.
type failingWriter struct {
	online.Store
	okBatches int32
	calls     atomic.Int32
}

func (w *failingWriter) Write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	if w.calls.Add(1) > w.okBatches {
		return online.WriteStats{}, errors.New("injected: online store went away")
	}
	return w.Store.Write(ctx, b)
}

func TestMaterializeEndToEnd(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	dir := demoRepo(t, now)
	fs := open(t, dir, now)
	applyRepo(t, fs)
	ctx := context.Background()

	// A run whose online writes fail midway records nothing.
	src, err := fs.OfflineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := fs.OnlineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := &failingWriter{Store: dst, okBatches: 0}
	_, err = fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{Engine: materialize.NewLocal(src, bad, materialize.LocalOptions{BatchSize: 1})})
	if err == nil || !strings.Contains(err.Error(), "injected") || !strings.Contains(err.Error(), "driver_hourly_stats") {
		t.Fatalf("expected the injected failure naming the view, got %v", err)
	}
	fv, _ := fs.FeatureView(ctx, "driver_hourly_stats")
	if len(fv.Intervals) != 0 {
		t.Fatalf("failed run recorded intervals: %+v", fv.Intervals)
	}

	// The re-run completes and records [now-ttl, now].
	res, err := fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Stats.RowsWritten != int64(len(examples.DemoDrivers)) || !res[0].Start.Equal(now.Add(-24*time.Hour)) {
		t.Fatalf("results: %+v", res)
	}
	fv, _ = fs.FeatureView(ctx, "driver_hourly_stats")
	if len(fv.Intervals) != 1 || !fv.Intervals[0].End.Equal(now) {
		t.Fatalf("intervals: %+v", fv.Intervals)
	}
	// The online store holds the latest hour for every driver.
	keys := make([][]byte, len(examples.DemoDrivers))
	for i, d := range examples.DemoDrivers {
		keys[i], _ = online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: d}}})
	}
	out, err := dst.Read(ctx, []online.ReadRequest{{Project: "demo", View: fv, Features: []string{"conv_rate", "avg_daily_trips"}, EntityKeys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range out[0] {
		if !row[0].Found || !row[0].EventTS.Equal(now.Add(-time.Hour)) {
			t.Errorf("driver %d: %+v", examples.DemoDrivers[i], row[0])
		}
	}
	// Incremental again: continues from the recorded end; nothing new to write.
	later := now.Add(2 * time.Hour)
	res, err = fs.MaterializeIncremental(ctx, later, feast.MaterializeOptions{Views: []string{"driver_hourly_stats"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Start.Equal(now) || res[0].Stats.RowsWritten != 0 {
		t.Errorf("second incremental: %+v", res[0])
	}
	// Re-materializing an old range writes nothing older over newer values.
	res, err = fs.Materialize(ctx, now.Add(-72*time.Hour), now.Add(-48*time.Hour), feast.MaterializeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Stats.RowsSkipped != int64(len(examples.DemoDrivers)) || res[0].Stats.RowsWritten != 0 {
		t.Errorf("old range must be skipped as not newer: %+v", res[0].Stats)
	}
	if _, err := fs.Materialize(ctx, now, now, feast.MaterializeOptions{}); err == nil {
		t.Error("start == end must be rejected")
	}
	if _, err := fs.Materialize(ctx, now.Add(-time.Hour), now, feast.MaterializeOptions{Views: []string{"driver_hourly_stat"}}); err == nil || !strings.Contains(err.Error(), `did you mean "driver_hourly_stats"`) {
		t.Errorf("unknown view error: %v", err)
	}
	_ = model.Int64
}

func TestConcurrentMaterializeOfOneViewIsRefused(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	dir := demoRepo(t, now)
	fs := open(t, dir, now)
	applyRepo(t, fs)
	ctx := context.Background()
	locker, err := materialize.NewLocker(ctx, fs.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	held, err := locker.Lock(ctx, materialize.ViewLockName("demo", "driver_hourly_stats"), materialize.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{})
	if !errors.Is(err, materialize.ErrLocked) || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("a second run must be refused while the view is locked, got %v", err)
	}
	fv, _ := fs.FeatureView(ctx, "driver_hourly_stats")
	if len(fv.Intervals) != 0 {
		t.Fatal("a refused run recorded an interval")
	}
	held.Unlock()
	if _, err := fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{}); err != nil {
		t.Fatal(err)
	}
}
