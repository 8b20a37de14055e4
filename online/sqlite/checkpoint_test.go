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
	deadline := time.Now().Add(20 * time.Second)
	for s.ckpt.passes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint pass within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
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
