package feast_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/offlinetest"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// A feature view without entities (Feast's __dummy entity) goes through
// every flow: apply, materialization (stored under Feast's dummy entity key
// {__dummy_id: ""}), online reads next to keyed views and alone (one value
// per entity row, whatever the row's keys), pushes, and point-in-time joins
// on time alone.
func TestViewWithoutEntities(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	dir := demoRepo(t, now)
	csv := "event_timestamp,created,rides\n"
	for h := 5; h >= 1; h-- {
		csv += fmt.Sprintf("%s,%s,%d\n", now.Add(-time.Duration(h)*time.Hour).Format("2006-01-02 15:04:05+00"), now.Format("2006-01-02 15:04:05+00"), 100-h)
	}
	defs := `data_sources:
  - name: totals_source
    type: file
    path: data/totals.csv
    timestamp_field: event_timestamp
    created_timestamp_column: created
  - name: totals_push
    type: push
    batch_source: totals_source
feature_views:
  - name: city_totals
    ttl: 2h
    source: totals_push
    schema:
      - {name: rides, dtype: Int64}
`
	for name, body := range map[string]string{"data/totals.csv": csv, "totals.yaml": defs} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs := open(t, dir, now)
	applyRepo(t, fs)
	ctx := context.Background()

	res, err := fs.MaterializeIncremental(ctx, now, feast.MaterializeOptions{Views: []string{"city_totals", "driver_hourly_stats"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.View == "city_totals" && r.Stats.RowsWritten != 1 {
			t.Errorf("city_totals wrote %d rows, want the one latest row", r.Stats.RowsWritten)
		}
	}
	// Stored where Feast stores it.
	dst, err := fs.OnlineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fv, err := fs.FeatureView(ctx, "city_totals")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := online.SerializeEntityKey([]string{"__dummy_id"}, []*types.Value{{Val: &types.Value_StringVal{StringVal: ""}}})
	out, err := dst.Read(ctx, []online.ReadRequest{{Project: "demo", View: fv, Features: []string{"rides"}, EntityKeys: [][]byte{key}}})
	if err != nil || !out[0][0][0].Found || out[0][0][0].Value.GetInt64Val() != 99 {
		t.Fatalf("value under the dummy key: %+v, %v", out, err)
	}

	i64 := func(v int64) *types.Value { return &types.Value{Val: &types.Value_Int64Val{Int64Val: v}} }
	resp, err := fs.GetOnlineFeatures(ctx, feast.OnlineRequest{
		Features: []string{"city_totals:rides", "driver_hourly_stats:conv_rate"},
		Entities: map[string][]*types.Value{"driver_id": {i64(1001), i64(1002)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.ToMap()
	if fmt.Sprint(got["rides"]) != "[99 99]" || len(got["conv_rate"]) != 2 || got["conv_rate"][0] == nil {
		t.Errorf("online with a keyed view: %v", got)
	}
	if _, ok := got["__dummy_id"]; ok {
		t.Errorf("the dummy key is not a response column: %v", got)
	}

	// Alone: the rows come from whatever entity columns the request gives,
	// as Feast's SDK needs one entity row per wanted value.
	resp, err = fs.GetOnlineFeatures(ctx, feast.OnlineRequest{
		Features: []string{"city_totals:rides"},
		Entities: map[string][]*types.Value{"driver_id": {i64(1001), i64(1002), i64(5)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.ToMap(); fmt.Sprint(got["rides"]) != "[99 99 99]" {
		t.Errorf("online alone: %v", got)
	}

	// A push needs no entity columns and lands under the same key.
	if _, err := fs.Push(ctx, "totals_push", feast.Records{Columns: map[string][]any{
		"event_timestamp": {now.Add(-30 * time.Minute)}, "created": {now}, "rides": {int64(123)}}}, feast.PushOnline); err != nil {
		t.Fatal(err)
	}
	resp, err = fs.GetOnlineFeatures(ctx, feast.OnlineRequest{Features: []string{"city_totals:rides"}, EntityRows: []map[string]any{{"driver_id": 1001}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.ToMap(); fmt.Sprint(got["rides"]) != "[123]" || fmt.Sprint(got["driver_id"]) != "[1001]" {
		t.Errorf("after the push: %v", got)
	}

	// Historical: each entity row gets the latest total at its time within
	// the 2h ttl, whatever its driver.
	ents := fmt.Sprintf("SELECT * FROM (VALUES (1001, TIMESTAMPTZ '%s'), (7, TIMESTAMPTZ '%s'), (1002, TIMESTAMPTZ '%s')) AS t(driver_id, event_timestamp)",
		now.Add(-150*time.Minute).Format(time.RFC3339), now.Add(-4*time.Hour).Format(time.RFC3339), now.Add(-10*time.Hour).Format(time.RFC3339))
	job, err := fs.GetHistoricalFeatures(ctx, offline.EntitySource{Query: ents}, feast.Features{Refs: []string{"city_totals:rides"}}, feast.HistoricalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	rr, err := job.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	lines, err := offlinetest.RenderReader(rr)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"driver_id event_timestamp rides",
		fmt.Sprintf("1001 %s 97", now.Add(-150*time.Minute).Format(time.RFC3339)),
		fmt.Sprintf("7 %s 96", now.Add(-4*time.Hour).Format(time.RFC3339)),
		fmt.Sprintf("1002 %s null", now.Add(-10*time.Hour).Format(time.RFC3339))}
	if got := strings.Join(lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("historical:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}
