package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	st "github.com/feastgo/feast/server/servingtest"
)

// Once the registry's TTL passes and the registry has become unreadable,
// concurrent pushes and reads keep being served from the last good
// snapshot (pushes used to answer 500 and re-read the file on every
// request, naming its path), and the one background refresh that failed is
// reported on /health.
func TestExpiredCorruptRegistryServesLastSnapshot(t *testing.T) {
	f := st.NewRepo(t, t.TempDir(), "pushsrv", st.SQLite().Section(), pushDefs, false)
	var mu sync.Mutex
	now := st.Now
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: f.Dir, Now: clock, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	s, err := New(fs, Options{Logger: discardLogger(), RegistryTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	push := func(id int) (int, string) {
		return do(t, h, "POST", "/push", fmt.Sprintf(`{"push_source_name":"stats_push",
			"df":{"driver_id":[%d],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5],"trips":[%d]}}`, id, id))
	}
	if code, body := push(1); code != 200 {
		t.Fatalf("push: %d %s", code, body)
	}
	if err := os.WriteFile(filepath.Join(f.Dir, "data", "registry.db"), []byte("not a registry"), 0o644); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()

	var wg sync.WaitGroup
	for g := 0; g < 4; g++ { // feature_server.max_concurrent_writes
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				id := 100 + 100*g + i
				code, body := push(id)
				if code != 200 || strings.Contains(body, f.Dir) {
					t.Errorf("push %d with an expired, corrupt registry: %d %s", id, code, body)
					return
				}
				code, body = do(t, h, "POST", "/get-online-features", fmt.Sprintf(`{"features":["driver_stats:trips"],"entities":{"driver_id":[%d]}}`, id))
				if code != 200 || !strings.Contains(body, fmt.Sprintf(`"values":[%d]`, id)) {
					t.Errorf("read %d: %d %s", id, code, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for fs.Registry().LastError() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if fs.Registry().LastError() == nil {
		t.Fatal("the background refresh of the corrupt registry reported no error")
	}
	if code, body := push(999); code != 200 {
		t.Errorf("push after the failed refresh: %d %s", code, body)
	}
	if code, body := do(t, h, "GET", "/health", ""); code != 200 || !strings.Contains(body, `"status":"degraded"`) {
		t.Errorf("health after the failed refresh: %d %s", code, body)
	}
}

// With the registry expired and unreadable, /materialize reads the feature
// views from the last good snapshot as every other endpoint does (it used
// to load the registry on the request's goroutine and answer 500 "load
// registry" without writing a row): the rows are written and served, and
// only recording the interval, which must write the registry, fails and
// says so. The library's default (feast materialize) still loads the
// registry first and fails loudly when it cannot.
func TestExpiredCorruptRegistryMaterializesFromLastSnapshot(t *testing.T) {
	f := st.NewEmpty(t, st.SQLite())
	writeDriverParquet(t, filepath.Join(f.Dir, "data", "driver.parquet"))
	var mu sync.Mutex
	now := st.Now
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: f.Dir, Now: clock, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	s, err := New(fs, Options{Logger: discardLogger(), RegistryTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	const read = `{"features":["driver_stats:trips"],"entities":{"driver_id":[7]}}`
	if code, body := do(t, h, "POST", "/get-online-features", read); code != 200 || !strings.Contains(body, `"values":[null]`) {
		t.Fatalf("read before materializing: %d %s", code, body)
	}
	if err := os.WriteFile(filepath.Join(f.Dir, "data", "registry.db"), []byte("not a registry"), 0o644); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	// The next read starts the background refresh, which fails.
	do(t, h, "POST", "/get-online-features", read)
	deadline := time.Now().Add(10 * time.Second)
	for fs.Registry().LastError() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if fs.Registry().LastError() == nil {
		t.Fatal("the background refresh of the corrupt registry reported no error")
	}

	code, body := do(t, h, "POST", "/materialize", `{"start_ts":"2024-04-30T00:00:00","end_ts":"2024-05-01T12:00:00","feature_views":["driver_stats"]}`)
	t.Logf("answer: %d %s", code, body)
	if code != 500 || !strings.Contains(body, "materialize driver_stats: ") || !strings.Contains(body, "the interval was not recorded") {
		t.Fatalf("materialize with an expired, corrupt registry: %d %s", code, body)
	}
	if code, body := do(t, h, "POST", "/get-online-features", read); code != 200 || !strings.Contains(body, `"values":[77]`) {
		t.Fatalf("read after materializing from the last snapshot: %d %s", code, body)
	}
	if _, err := fs.Materialize(ctx, st.Now.Add(-time.Hour), st.Now, feast.MaterializeOptions{Views: []string{"driver_stats"}}); err == nil || !strings.Contains(err.Error(), "load registry") {
		t.Fatalf("materialize without FromSnapshot (feast materialize) with a corrupt registry: %v", err)
	}
}
