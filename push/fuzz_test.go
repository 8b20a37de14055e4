package push_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/examples"
	"github.com/feastgo/feast/push"
)

// FuzzPushDecode feeds arbitrary JSON as the df of a push, of a
// write-to-online-store (with and without transformations) and of a stream
// message to the decoders the server and the Kafka consumer use: each
// either decodes or returns an error, never a panic, and what decodes holds
// as many rows as the request.
func FuzzPushDecode(f *testing.F) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := f.TempDir()
	if err := examples.WriteRepo(dir, "demo", now); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fs.Close() })
	p, err := fs.Plan(ctx)
	if err != nil {
		f.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		f.Fatal(err)
	}
	pusher, err := push.New(fs, push.Options{})
	if err != nil {
		f.Fatal(err)
	}
	var schemas []*push.Schema
	for _, build := range []func() (*push.Schema, error){
		func() (*push.Schema, error) { return pusher.StreamSchema(ctx, "driver_stats_push_source", nil) },
		func() (*push.Schema, error) { return pusher.ViewSchema(ctx, "driver_hourly_stats", false) },
		func() (*push.Schema, error) { return pusher.ViewSchema(ctx, "driver_hourly_stats", true) },
	} {
		s, err := build()
		if err != nil {
			f.Fatal(err)
		}
		schemas = append(schemas, s)
	}
	for _, seed := range []string{
		`{"driver_id":[1001],"event_timestamp":["2024-05-01T11:00:00Z"],"created":["2024-05-01T11:00:00Z"],"conv_rate":[0.5],"acc_rate":[0.25],"avg_daily_trips":[7]}`,
		`{"driver_id":[1001,1002],"event_timestamp":[1714561200,1714561200.5],"conv_rate":["NaN",null],"acc_rate":[1e39,-0.0],"avg_daily_trips":[7,"8"]}`,
		`{"driver_id":[1001],"event_timestamp":[1714561200123],"conv_rate":[0.5]}`,
		`{"driver_id":[1],"driver_id":[2],"event_timestamp":["x"]}`,
		`{"driver_id":[],"event_timestamp":[]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, df []byte) {
		recs, err := push.RecordsFromJSON(json.RawMessage(df))
		if err != nil {
			return
		}
		for i, s := range schemas {
			b, err := s.DecodeWith(recs, i == 2, true)
			if err != nil {
				continue
			}
			if n := push.RecordsLen(recs); b.Len() != n {
				t.Fatalf("schema %d: decoded %d rows of %d", i, b.Len(), n)
			}
		}
	})
}
