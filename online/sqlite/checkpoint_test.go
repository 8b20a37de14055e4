package sqlite

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
)

// After checkpointRows rows the background pass copies the WAL into the
// database file while the writer goes on: the file grows from its empty
// pages to the data, with no checkpoint by the writer (whose threshold is
// far away) and the data readable throughout.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, fv, feats := onlinetest.BenchView(t, s)
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	before := fi.Size()
	n := checkpointRows/len(feats) + 1
	rows := onlinetest.BenchRows(t, n, time.Unix(1_700_000_000, 0))
	if st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: feats, Rows: rows}); err != nil || st.Written != n {
		t.Fatalf("write: %+v %v", st, err)
	}
	waitPasses(t, s, 1)
	fi, err = os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if after := fi.Size(); after < before+int64(n)*int64(len(feats))*20 {
		t.Fatalf("database file %d bytes before, %d after the pass: the rows were not copied into it", before, after)
	}
	res, err := s.Read(ctx, []online.ReadRequest{{Project: project, View: fv, Features: feats, EntityKeys: [][]byte{rows[n-1].EntityKey}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res[0][0] {
		if !v.Found {
			t.Fatalf("read after the pass: %+v", res[0][0])
		}
	}
}

// Close stops the checkpointer; a write after it fails instead of kicking
// a stopped goroutine, and a second Close is harmless.
func TestWriteAfterClose(t *testing.T) {
	s := openTemp(t)
	fv := onlinetest.View("after_close", model.Field{Name: "f0", Type: model.Double})
	rows := onlinetest.BenchRows(t, 1, time.Unix(1_700_000_000, 0))
	rows[0].Values = rows[0].Values[:1]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Write(context.Background(), online.WriteBatch{Project: "p", View: fv, Features: []string{"f0"}, Rows: rows})
	if !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v, want %v", err, errClosed)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A trickle of small writes is checkpointed too: a write more than
// checkpointEvery after the last kick kicks again, whatever its size.
func TestTrickleIsCheckpointed(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	project, fv, feats := onlinetest.BenchView(t, s)
	write := func(ts time.Time) {
		t.Helper()
		if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: feats, Rows: onlinetest.BenchRows(t, 1, ts)}); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Unix(1_700_000_000, 0)
	write(base) // the first write kicks: no kick before it
	kicked := time.Now()
	waitPasses(t, s, 1)
	if time.Since(kicked) < checkpointEvery/2 {
		write(base.Add(time.Second)) // within checkpointEvery: no kick
		time.Sleep(checkpointEvery + 50*time.Millisecond)
		if got := s.ckpt.passes.Load(); got != 1 {
			t.Fatalf("%d passes after a small write within %v of the last kick, want 1", got, checkpointEvery)
		}
	} else {
		t.Logf("the first pass took %v: not checking that a write right after it does not kick", time.Since(kicked))
		time.Sleep(checkpointEvery)
	}
	passes := s.ckpt.passes.Load()
	write(base.Add(2 * time.Second))
	waitPasses(t, s, passes+1)
}

func waitPasses(t *testing.T, s *Store, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.ckpt.passes.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d background checkpoint passes within 20s, want %d", s.ckpt.passes.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
