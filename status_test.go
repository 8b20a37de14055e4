package feast

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/feastgo/feast/examples"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
)

// TestViewStatusGolden pins the staleness rule: STALE when now minus the
// last interval end is strictly greater than the ttl.
func TestViewStatusGolden(t *testing.T) {
	now := time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	iv := func(startAgo, endAgo time.Duration) model.Interval {
		return model.Interval{Start: now.Add(-startAgo), End: now.Add(-endAgo)}
	}
	cases := []struct {
		name      string
		fv        model.FeatureView
		want      Freshness
		wantAge   time.Duration
		wantStart time.Time
	}{
		{"fresh", model.FeatureView{TTL: day, Online: true, Intervals: []model.Interval{iv(2*day, day-time.Second)}}, Fresh, day - time.Second, now.Add(-2 * day)},
		{"exactly ttl is fresh", model.FeatureView{TTL: day, Online: true, Intervals: []model.Interval{iv(2*day, day)}}, Fresh, day, now.Add(-2 * day)},
		{"one second past ttl", model.FeatureView{TTL: day, Online: true, Intervals: []model.Interval{iv(2*day, day+time.Second)}}, Stale, day + time.Second, now.Add(-2 * day)},
		{"latest end wins, not the last appended", model.FeatureView{TTL: day, Online: true, Intervals: []model.Interval{iv(3*day, time.Hour), iv(5*day, 4*day)}}, Fresh, time.Hour, now.Add(-3 * day)},
		{"never", model.FeatureView{TTL: day, Online: true}, NeverMaterialized, 0, time.Time{}},
		{"ttl 0 never stale", model.FeatureView{Online: true, Intervals: []model.Interval{iv(400*day, 300*day)}}, NoTTL, 300 * day, now.Add(-400 * day)},
		{"offline view", model.FeatureView{TTL: day, Intervals: []model.Interval{iv(9*day, 8*day)}}, NotOnline, 8 * day, now.Add(-9 * day)},
		{"disabled view", model.FeatureView{TTL: day, Online: true, Disabled: true}, NotOnline, 0, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := viewStatus(&c.fv, now)
			if st.Freshness != c.want || st.Age != c.wantAge || !st.LastStart.Equal(c.wantStart) {
				t.Fatalf("got %s age %s start %s, want %s age %s start %s", st.Freshness, st.Age, st.LastStart, c.want, c.wantAge, c.wantStart)
			}
		})
	}
}

// newestStore adds NewestEventReader to a real online store.
type newestStore struct {
	online.Store
	newest map[string]time.Time
	err    error
}

func (s *newestStore) NewestEventTime(_ context.Context, project string, view *model.FeatureView) (time.Time, bool, error) {
	if s.err != nil {
		return time.Time{}, false, s.err
	}
	t, ok := s.newest[project+"/"+view.Name]
	return t, ok, nil
}

func TestStatusAfterMaterialize(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	dir := filepath.Join(t.TempDir(), "repo")
	if err := examples.WriteRepo(dir, "demo", now); err != nil {
		t.Fatal(err)
	}
	fs, err := Open(ctx, Options{RepoPath: dir, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}

	sts, err := fs.Status(ctx, StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) == 0 {
		t.Fatal("no views in status")
	}
	for _, st := range sts {
		if st.View == "driver_hourly_stats" && st.Freshness != NeverMaterialized {
			t.Fatalf("before materialize: %+v", st)
		}
	}

	if _, err := fs.MaterializeIncremental(ctx, now, MaterializeOptions{Views: []string{"driver_hourly_stats"}}); err != nil {
		t.Fatal(err)
	}
	base, err := fs.OnlineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newest := now.Add(-time.Hour)
	fs.onlineMu.Lock()
	fs.online = &newestStore{Store: base, newest: map[string]time.Time{"demo/driver_hourly_stats": newest}}
	fs.onlineMu.Unlock()

	clock = now.Add(2 * time.Hour)
	sts, err = fs.Status(ctx, StatusOptions{Views: []string{"driver_hourly_stats"}})
	if err != nil {
		t.Fatal(err)
	}
	st := sts[0]
	if st.Freshness != Fresh || !st.LastEnd.Equal(now) || !st.LastStart.Equal(now.Add(-24*time.Hour)) || st.Age != 2*time.Hour ||
		!st.NewestEventKnown || !st.NewestEvent.Equal(newest) || st.Intervals != 1 {
		t.Fatalf("after materialize: %+v", st)
	}

	// A day and a bit later the view is stale; a store error is reported per view.
	clock = now.Add(25 * time.Hour)
	fs.online.(*newestStore).err = errors.New("boom")
	sts, err = fs.Status(ctx, StatusOptions{Views: []string{"driver_hourly_stats"}})
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].Freshness != Stale || sts[0].NewestEventErr == nil || sts[0].NewestEventKnown {
		t.Fatalf("a day later: %+v", sts[0])
	}

	if _, err := fs.Status(ctx, StatusOptions{Views: []string{"driver_hourly_stat"}}); err == nil {
		t.Fatal("status of an unknown view must fail")
	}
}

// Status with Cached reports from the snapshot the store holds and leaves
// it in place; without, it reads the registry and replaces it.
func TestStatusCachedKeepsSnapshot(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "repo")
	if err := examples.WriteRepo(dir, "demo", now); err != nil {
		t.Fatal(err)
	}
	fs, err := Open(ctx, Options{RepoPath: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	before, err := fs.Registry().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sts, err := fs.Status(ctx, StatusOptions{Cached: true, SkipOnlineStore: true}); err != nil || len(sts) == 0 {
		t.Fatalf("cached status: %v %v", sts, err)
	}
	if fs.Registry().Cached() != before {
		t.Error("Status with Cached replaced the store's snapshot")
	}
	if _, err := fs.Status(ctx, StatusOptions{SkipOnlineStore: true}); err != nil {
		t.Fatal(err)
	}
	if fs.Registry().Cached() == before {
		t.Error("Status without Cached did not read the registry")
	}
}
