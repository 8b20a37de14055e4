package config

import (
	"testing"
	"time"
)

// TestFeatureServerWriteLimits: unset limits take the documented
// defaults, negative ones disable the limit, others are kept.
func TestFeatureServerWriteLimits(t *testing.T) {
	cfg, err := Parse("f", "/repo", []byte("project: p\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fs := cfg.FeatureServer
	if fs.PushRowLimit() != 100_000 || fs.WriteConcurrency() != 4 || fs.MaxFutureEventTime() != 24*time.Hour {
		t.Errorf("defaults: %d %d %v", fs.PushRowLimit(), fs.WriteConcurrency(), fs.MaxFutureEventTime())
	}
	cfg, err = Parse("f", "/repo", []byte("project: p\nfeature_server:\n  max_push_rows: 10\n  max_concurrent_writes: -1\n  max_future_event_time_seconds: -1\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fs = cfg.FeatureServer
	if fs.PushRowLimit() != 10 || fs.WriteConcurrency() != 0 || fs.MaxFutureEventTime() != 0 {
		t.Errorf("set: %d %d %v", fs.PushRowLimit(), fs.WriteConcurrency(), fs.MaxFutureEventTime())
	}
	if _, err := Parse("f", "/repo", []byte("project: p\nfeature_server:\n  max_push_rows: many\n"), noEnv); err == nil {
		t.Error("non-integer max_push_rows accepted")
	}
}
