package stream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/values"
)

// TestMessageTimestampGuards: a Kafka message dated outside years
// 0001-9999 (epoch milliseconds in a seconds field) or beyond the future
// guard is poison ("invalid"), not written: written online it would hide
// every later message of its entity.
func TestMessageTimestampGuards(t *testing.T) {
	fs := streamRepo(t, sqliteOnline)
	r, err := New(context.Background(), fs, Options{Views: []string{"driver_stats_json"}})
	if err != nil {
		t.Fatal(err)
	}
	c := r.consumers[0]
	for _, msg := range []string{
		`{"driver_id": 1, "event_timestamp": 1714564800123, "conv_rate": 1, "avg_daily_trips": 1}`,
		`{"driver_id": 1, "event_timestamp": 1e19, "conv_rate": 1, "avg_daily_trips": 1}`,
	} {
		_, reason, err := c.decodeRecord([]byte(msg))
		if reason != "invalid" || !errors.Is(err, values.ErrTimeRange) || !strings.Contains(err.Error(), "column event_timestamp: row 0") {
			t.Errorf("%s: %s %v", msg, reason, err)
		}
	}
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	_, reason, err := c.decodeRecord([]byte(`{"driver_id": 1, "event_timestamp": "` + future + `", "conv_rate": 1, "avg_daily_trips": 1}`))
	if reason != "invalid" || err == nil || !strings.Contains(err.Error(), "ahead of the server clock") {
		t.Errorf("future message: %s %v", reason, err)
	}
	if _, reason, err := c.decodeRecord([]byte(`{"driver_id": 1, "event_timestamp": 1714564800, "conv_rate": 1, "avg_daily_trips": 1}`)); err != nil {
		t.Errorf("good message: %s %v", reason, err)
	}
}
