package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/examples"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// batches replays fixed micro-batches.
type batches []feast.Records

func (b *batches) Next(context.Context) (feast.Records, error) {
	if len(*b) == 0 {
		return feast.Records{}, io.EOF
	}
	r := (*b)[0]
	*b = (*b)[1:]
	return r, nil
}

func TestRunPushesEveryMicroBatch(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "repo")
	if err := examples.WriteRepo(dir, "pushdemo", now); err != nil {
		t.Fatal(err)
	}
	store, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	plan, err := store.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}

	sim := &simulated{drivers: []int64{1001, 1002}, left: 2, now: func() time.Time { return now }}
	first, _ := sim.Next(ctx)
	now = now.Add(time.Minute)
	second, _ := sim.Next(ctx)
	bad := feast.Records{Columns: map[string][]any{"driver_id": {int64(1)}, "conv_rate": {"high"}}}
	src := &batches{first, bad, second}
	var logs []string
	n, err := Run(ctx, store, src, "driver_stats_push_source", feast.PushOnline, func(f string, a ...any) { logs = append(logs, f) })
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || len(logs) != 3 {
		t.Fatalf("pushed %d rows, logs %v", n, logs)
	}
	// The second micro-batch is what the online store serves.
	fv, err := store.FeatureView(ctx, "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	on, err := store.OnlineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: 1002}}})
	res, err := on.Read(ctx, []online.ReadRequest{{Project: store.Project(), View: fv, Features: []string{"conv_rate", "avg_daily_trips"}, EntityKeys: [][]byte{k}}})
	if err != nil {
		t.Fatal(err)
	}
	got := res[0][0][1]
	want := second.Columns["avg_daily_trips"][1].(int64)
	if !got.Found || got.Value.GetInt64Val() != want || !got.EventTS.Equal(now) {
		t.Fatalf("online value %v at %v, want %d at %v", got.Value, got.EventTS, want, now)
	}
}
