package objstore_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feastgo/feast/offline/objstore"
)

// CachedFile: a second read waiting on the first read's download of the
// same file does not fail when the first read is cancelled (it downloads
// under its own context), a cached copy is served without opening the
// file, and a copy of another size is not served for the file.
func TestCachedFile(t *testing.T) {
	s, err := objstore.New(objstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	const name, body = "s3://lake/warehouse/data/00000-0-a.parquet", "parquet bytes"
	var opens atomic.Int64
	started := make(chan struct{}, 2)
	open := func(ctx context.Context) (io.ReadCloser, error) {
		if opens.Add(1) == 1 {
			started <- struct{}{}
			<-ctx.Done() // the first download hangs until its read is cancelled
			return nil, ctx.Err()
		}
		return io.NopCloser(strings.NewReader(body)), nil
	}
	first, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		_, _, err := s.CachedFile(first, name, int64(len(body)), open)
		errs <- err
	}()
	<-started
	second := make(chan string, 1)
	go func() {
		local, release, err := s.CachedFile(context.Background(), name, int64(len(body)), open)
		if err != nil {
			t.Errorf("second read: %v", err)
			second <- ""
			return
		}
		defer release()
		b, _ := os.ReadFile(local)
		second <- string(b)
	}()
	time.Sleep(50 * time.Millisecond) // the second read waits on the first's download
	cancel()
	if err := <-errs; err == nil {
		t.Error("the cancelled read succeeded")
	}
	if got := <-second; got != body {
		t.Fatalf("second read got %q, want %q", got, body)
	}
	// Cached: served without opening the file again.
	n := opens.Load()
	local, release, err := s.CachedFile(context.Background(), name, int64(len(body)), open)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if opens.Load() != n {
		t.Error("a cached file was opened again")
	}
	// Another size is another file: not served from that copy.
	other, release, err := s.CachedFile(context.Background(), name, int64(len(body))+1, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body + "!")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	release()
	if other == local {
		t.Error("a copy of another size was served for the file")
	}
	// A copy whose length is not the recorded size fails.
	if _, _, err := s.CachedFile(context.Background(), name+"x", 99, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	}); err == nil || !strings.Contains(err.Error(), "records 99") {
		t.Errorf("short copy: %v, want an error naming the recorded size", err)
	}
}

// A download's own timeout (an HTTP client's deadline: an error that is
// context.DeadlineExceeded while the caller's context is live) is
// reported as it is, once, not retried as another read's cancellation nor
// turned into "the staging cache is too small".
func TestCachedFileOwnTimeout(t *testing.T) {
	s, err := objstore.New(objstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int64
	_, _, err = s.CachedFile(context.Background(), "s3://lake/d.parquet", 0, func(context.Context) (io.ReadCloser, error) {
		opens.Add(1)
		return nil, fmt.Errorf("GET s3://lake/d.parquet: %w", context.DeadlineExceeded)
	})
	if err == nil || !strings.Contains(err.Error(), "GET s3://lake/d.parquet") || opens.Load() != 1 {
		t.Errorf("err = %v after %d opens, want the GET's timeout after 1", err, opens.Load())
	}
}
