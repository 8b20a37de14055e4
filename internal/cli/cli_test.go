package cli

import (
	"log/slog"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("x", 3600)) }
	cases := map[string]time.Time{
		"now":                       time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC),
		"2024-01-02T15:04:05":       time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC),
		"2024-01-02 15:04:05.5":     time.Date(2024, 1, 2, 15, 4, 5, 5e8, time.UTC),
		"2024-01-02T15:04:05+02:00": time.Date(2024, 1, 2, 13, 4, 5, 0, time.UTC),
		"2024-01-02T15:04":          time.Date(2024, 1, 2, 15, 4, 0, 0, time.UTC),
		"2024-01-02":                time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
	}
	for in, want := range cases {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v UTC", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday", now); err == nil {
		t.Error("ParseTime(yesterday) succeeded")
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLogLevel(in); err != nil || got != want {
			t.Errorf("ParseLogLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLogLevel("loud"); err == nil {
		t.Error("ParseLogLevel(loud) succeeded")
	}
}
