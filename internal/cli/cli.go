// Package cli holds what the feast and feast-beam commands share: parsing
// of command-line timestamps and log levels, and a writer that several
// goroutines may share.
package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// ParseTime parses a command-line timestamp: ISO 8601, with or without a
// zone (naive timestamps are UTC), a bare date, or "now". The result is UTC.
func ParseTime(s string, now func() time.Time) (time.Time, error) {
	if strings.EqualFold(s, "now") {
		return now().UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q: use ISO 8601 (2024-01-02T15:04:05, optionally with a zone such as Z or +02:00) or now", s)
}

// ParseLogLevel parses --log-level: debug, info, warning (or warn, or
// empty) and error.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warning", "warn", "":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: use debug, info, warning or error", s)
}

// LockedWriter serializes writes to an io.Writer shared by goroutines
// (progress lines and the log both write to stderr).
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLockedWriter wraps w.
func NewLockedWriter(w io.Writer) *LockedWriter { return &LockedWriter{w: w} }

func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
