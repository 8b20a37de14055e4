package materialize_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/values"
)

type countingWriter struct{ rows atomic.Int64 }

func (w *countingWriter) Write(_ context.Context, b online.WriteBatch) (online.WriteStats, error) {
	w.rows.Add(int64(len(b.Rows)))
	return online.WriteStats{Written: len(b.Rows)}, nil
}

// TestLocalRejectsOutOfRangeTimestamps: a source row dated past year 9999
// (epoch milliseconds stored as seconds) fails materialization with the
// column and row instead of being written online, where it would hide
// every later row of its entity.
func TestLocalRejectsOutOfRangeTimestamps(t *testing.T) {
	ts := time.UnixMilli(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixMilli() * 1000) // year 56000-odd
	src := &genSource{n: 10, size: 10, ts: ts}
	w := &countingWriter{}
	eng := materialize.NewLocal(src, w, materialize.LocalOptions{})
	_, err := eng.Materialize(context.Background(), materialize.Task{Project: "p", View: view}, &recordingProgress{})
	if !errors.Is(err, values.ErrTimeRange) || !strings.Contains(err.Error(), `column "event_timestamp" row 0`) || !strings.Contains(err.Error(), "epoch milliseconds?") {
		t.Fatalf("err = %v", err)
	}
	if n := w.rows.Load(); n != 0 {
		t.Fatalf("%d rows written", n)
	}
}
