package feast_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/offline"
)

func TestHistoricalWithOnDemandFeatures(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := demoRepo(t, now)
	fs := open(t, dir, now)
	applyRepo(t, fs)
	ctx := context.Background()
	entities := filepath.Join(t.TempDir(), "entities.csv")
	// 1001 at exactly an hourly row; 1002 between rows; 1003 before any data (null).
	os.WriteFile(entities, []byte("driver_id,event_timestamp,val_to_add,val_to_add_2\n1001,2024-05-01 10:00:00,1,10\n1002,2024-05-01 10:30:00,2,20\n1003,2024-04-01 00:00:00,3,30\n"), 0o644)

	job, err := fs.GetHistoricalFeatures(ctx, offline.EntitySource{Path: entities}, feast.Features{Service: "driver_activity_v1"}, feast.HistoricalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	out := filepath.Join(t.TempDir(), "train.csv")
	sum, err := job.WriteCSV(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 || sum.Rows != 3 {
		t.Fatalf("rows: %d, summary %+v\n%s", len(lines), sum, data)
	}
	header := lines[0]
	if header != "driver_id,event_timestamp,val_to_add,val_to_add_2,conv_rate,acc_rate,avg_daily_trips,conv_rate_plus_val1,conv_rate_plus_val2" {
		t.Fatalf("header = %s", header)
	}
	// The on-demand value is conv_rate + val_to_add on every row with data; null otherwise.
	for _, line := range lines[1:3] {
		f := strings.Split(line, ",")
		if f[4] == "" || f[7] == "" {
			t.Errorf("row without values: %s", line)
		}
	}
	last := strings.Split(lines[3], ",")
	if last[4] != "" || last[7] != "" {
		t.Errorf("row before any data must be null: %s", lines[3])
	}
	for _, c := range sum.Columns {
		if c.Name == "conv_rate" && c.Nulls != 1 {
			t.Errorf("conv_rate nulls = %d", c.Nulls)
		}
	}

	// Point-in-time: 1002 at 10:30 takes the 10:00 row, identical to asking at 10:00.
	job2, err := fs.GetHistoricalFeatures(ctx, offline.EntitySource{Path: entities}, feast.Features{Refs: []string{"driver_hourly_stats:conv_rate"}}, feast.HistoricalOptions{FullFeatureNames: true})
	if err != nil {
		t.Fatal(err)
	}
	defer job2.Close()
	pq := filepath.Join(t.TempDir(), "train.parquet")
	sum2, err := job2.WriteParquet(ctx, pq)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Rows != 3 || sum2.Columns[len(sum2.Columns)-1].Name != "driver_hourly_stats__conv_rate" || sum2.Columns[len(sum2.Columns)-1].Nulls != 1 {
		t.Errorf("parquet summary: %+v", sum2)
	}

	if _, err := fs.GetHistoricalFeatures(ctx, offline.EntitySource{Path: entities}, feast.Features{Refs: []string{"driver_hourly_stats:conv_rat"}}, feast.HistoricalOptions{}); err == nil || !strings.Contains(err.Error(), `did you mean "driver_hourly_stats:conv_rate"`) {
		t.Errorf("unknown feature: %v", err)
	}
}
