package feast_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/offline/objstore/fakes3"
)

// The demo repository with its batch source in an S3 stand-in: plan and
// apply accept it, materialization reads it and records the interval,
// status reports it, and when an object disappears the run fails naming
// the source and the object and records nothing.
func TestObjectStoreSourceEndToEnd(t *testing.T) {
	srv := fakes3.Start(t, "lake")
	now := time.Now().UTC().Truncate(time.Hour)
	dir := demoRepo(t, now)
	if err := srv.PutFile("lake", "driver_stats/part-00000.parquet", filepath.Join(dir, "data", "driver_stats", "part-00000.parquet")); err != nil {
		t.Fatal(err)
	}
	defs := filepath.Join(dir, "features.yaml")
	yml, err := os.ReadFile(defs)
	if err != nil {
		t.Fatal(err)
	}
	yml = []byte(strings.Replace(string(yml), "path: data/driver_stats/", "path: \""+srv.URL("lake", "driver_stats/")+"\"", 1))
	if err := os.WriteFile(defs, yml, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "data", "driver_stats")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fs := open(t, dir, now)
	applyRepo(t, fs)
	res, err := fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{})
	if err != nil {
		t.Fatalf("materialize: %v", err)
	}
	var written int64
	for _, r := range res {
		written += r.Stats.RowsWritten
	}
	if written == 0 {
		t.Errorf("materialized nothing: %+v", res)
	}
	fv, err := fs.FeatureView(ctx, "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	if len(fv.Intervals) != 1 || !fv.Intervals[0].End.Equal(now) {
		t.Fatalf("intervals %+v, want one ending %s", fv.Intervals, now)
	}
	if _, err := fs.Status(ctx, feast.StatusOptions{}); err != nil {
		t.Errorf("status: %v", err)
	}

	// Offline push lands in the bucket as a new object.
	df := json.RawMessage(`{"driver_id": [1001], "event_timestamp": ["` + now.Format(time.RFC3339) + `"], "created": ["` + now.Format(time.RFC3339) + `"],
		"conv_rate": [0.5], "acc_rate": [0.25], "avg_daily_trips": [7]}`)
	recs, err := feast.RecordsFromJSON(df)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Push(ctx, "driver_stats_push_source", recs, feast.PushOffline); err != nil {
		t.Fatalf("offline push: %v", err)
	}
	b, err := srv.Bucket(ctx, "lake")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Prefix: "driver_stats/push-"})
	if err != nil || len(objs) != 1 {
		t.Errorf("pushed objects %v (err %v), want one", objs, err)
	}

	srv.SetHook(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/part-00000.parquet") {
			srv.Backend.DeleteObject("lake", "driver_stats/part-00000.parquet")
		}
	})
	later := now.Add(2 * time.Hour)
	fs2 := open(t, dir, later)
	_, err = fs2.MaterializeIncremental(ctx, later, feast.MaterializeOptions{})
	if err == nil || !strings.Contains(err.Error(), "s3://lake/driver_stats/part-00000.parquet") {
		t.Fatalf("materialize with the object gone: err = %v", err)
	}
	fv, err = fs2.FeatureView(ctx, "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	if len(fv.Intervals) != 1 || !fv.Intervals[0].End.Equal(now) {
		t.Errorf("a failed run recorded an interval: %+v", fv.Intervals)
	}
}

// TestPlanChecksObjectStorePaths: feast plan lists object-store sources
// as it checks local paths: a path with objects passes, an empty prefix
// and a missing bucket are problems naming the source, its field and the
// path, and --skip-source-validation (not calling the check) skips it.
func TestPlanChecksObjectStorePaths(t *testing.T) {
	srv := fakes3.Start(t, "lake")
	now := time.Now().UTC().Truncate(time.Hour)
	dir := demoRepo(t, now)
	if err := srv.PutFile("lake", "driver_stats/part-00000.parquet", filepath.Join(dir, "data", "driver_stats", "part-00000.parquet")); err != nil {
		t.Fatal(err)
	}
	defs := filepath.Join(dir, "features.yaml")
	orig, err := os.ReadFile(defs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct{ path, want string }{
		{srv.URL("lake", "driver_stats/"), ""},
		{srv.URL("lake", "nothing/here/"), "no parquet objects under the prefix"},
		{srv.URL("missing-bucket", "driver_stats/"), "missing-bucket"},
	} {
		yml := strings.Replace(string(orig), "path: data/driver_stats/", "path: \""+c.path+"\"", 1)
		if err := os.WriteFile(defs, []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
		fs := open(t, dir, now)
		p, err := fs.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = fs.CheckSourcePaths(ctx, p.Repo)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.path, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "driver_hourly_stats_source") ||
			!strings.Contains(err.Error(), "features.yaml") || !strings.Contains(err.Error(), "--skip-source-validation")):
			t.Errorf("%s: %v, want a problem naming the source, file and %q", c.path, err, c.want)
		}
		fs.Close()
	}
}
