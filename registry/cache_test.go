package registry_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

var registrytestNow = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// countingStore counts loads and can be made to fail.
type countingStore struct {
	loads atomic.Int32
	fail  atomic.Bool
}

func (s *countingStore) Load(context.Context, string) (*core.Registry, error) {
	s.loads.Add(1)
	if s.fail.Load() {
		return nil, errors.New("registry unreachable")
	}
	return &core.Registry{}, nil
}
func (s *countingStore) Update(context.Context, string, func(*core.Registry) error) error { return nil }
func (s *countingStore) Delete(context.Context, string) error                             { return nil }
func (s *countingStore) Close() error                                                     { return nil }

func TestCacheTTL(t *testing.T) {
	now := registrytestNow
	st := &countingStore{}
	r := registry.New(st, "p", registry.Options{CacheTTL: time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := r.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st.loads.Load() != 1 {
		t.Fatalf("loads within ttl = %d, want 1", st.loads.Load())
	}
	now = now.Add(2 * time.Minute)
	old, _ := r.Snapshot(ctx)
	r.Close() // waits for the background refresh the expiry started
	if st.loads.Load() != 2 {
		t.Fatalf("loads after ttl = %d, want 2", st.loads.Load())
	}
	if r.Cached() == old {
		t.Fatal("the background refresh did not replace the expired snapshot")
	}
	// A failed refresh keeps the last good snapshot and reports the error.
	st.fail.Store(true)
	if _, err := r.Refresh(ctx); err == nil || r.LastError() == nil || r.Cached() == nil {
		t.Fatalf("failed refresh: err=%v last=%v cached=%v", err, r.LastError(), r.Cached())
	}
	st.fail.Store(false)
	r.Refresh(ctx)
	if r.LastError() != nil {
		t.Error("error not cleared after a good refresh")
	}
}

func TestCacheTTLZeroNeverExpires(t *testing.T) {
	now := registrytestNow
	st := &countingStore{}
	r := registry.New(st, "p", registry.Options{CacheTTL: 0, Now: func() time.Time { return now }})
	r.Snapshot(context.Background())
	now = now.Add(1000 * time.Hour)
	r.Snapshot(context.Background())
	if st.loads.Load() != 1 {
		t.Errorf("ttl 0 reloaded: %d loads", st.loads.Load())
	}
}

// gateStore blocks each Load until released, and counts loads.
type gateStore struct {
	countingStore
	entered chan struct{}
	release chan struct{}
}

func (s *gateStore) Load(ctx context.Context, p string) (*core.Registry, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.countingStore.Load(ctx, p)
}

// Once the TTL passes, concurrent readers (as pushes are) keep getting the
// cached snapshot without waiting, and exactly one background load runs;
// the readers after it get the new snapshot.
func TestExpiredSnapshotRefreshesInBackground(t *testing.T) {
	var mu sync.Mutex
	now := registrytestNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := &gateStore{entered: make(chan struct{}, 64), release: make(chan struct{})}
	r := registry.New(st, "p", registry.Options{CacheTTL: time.Minute, Now: clock})
	defer r.Close()
	ctx := context.Background()
	go func() { <-st.entered; st.release <- struct{}{} }()
	first, err := r.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	// 16 concurrent readers while the refresh is held in Load: none waits.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				s, err := r.Snapshot(ctx)
				if err != nil || s != first {
					t.Errorf("reader got %p, %v; want the cached snapshot", s, err)
					return
				}
			}
		}()
	}
	wg.Wait() // would deadlock here if a reader loaded on its own goroutine
	<-st.entered
	if n := st.loads.Load(); n != 1 {
		t.Fatalf("loads before the release = %d, want 1 (the first)", n)
	}
	st.release <- struct{}{}
	r.Close()
	if n := st.loads.Load(); n != 2 {
		t.Fatalf("loads = %d, want 2: one background refresh for all readers", n)
	}
	if s := r.Cached(); s == first || !s.LoadedAt.Equal(registrytestNow.Add(time.Minute)) {
		t.Fatalf("after the refresh: %v", s)
	}
}

// A failed background refresh keeps the last good snapshot for every
// reader and is reported; the failing registry is retried once per TTL,
// not after every request.
func TestFailedBackgroundRefreshKeepsSnapshot(t *testing.T) {
	var mu sync.Mutex
	now := registrytestNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	st := &gateStore{entered: make(chan struct{}, 64), release: make(chan struct{})}
	close(st.release)
	r := registry.New(st, "p", registry.Options{CacheTTL: time.Minute, Now: clock})
	defer r.Close()
	ctx := context.Background()
	first, _ := r.Snapshot(ctx)
	<-st.entered
	st.fail.Store(true)
	advance(time.Hour)
	if s, err := r.Snapshot(ctx); s != first || err != nil {
		t.Fatalf("expired snapshot with a failing store: %p %v", s, err)
	}
	<-st.entered // the background refresh
	deadline := time.Now().Add(10 * time.Second)
	for r.LastError() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r.LastError() == nil || r.Cached() != first {
		t.Fatalf("after the failed refresh: err %v, snapshot replaced %v", r.LastError(), r.Cached() != first)
	}
	// Within a TTL of the failure, readers do not start another load.
	for i := 0; i < 100; i++ {
		if s, err := r.Snapshot(ctx); s != first || err != nil {
			t.Fatalf("reader after the failure: %p %v", s, err)
		}
	}
	advance(59 * time.Second)
	r.Snapshot(ctx)
	if n := st.loads.Load(); n != 2 {
		t.Fatalf("loads within a TTL of the failure = %d, want 2", n)
	}
	// A TTL after the failure, one retry; it succeeds and replaces the snapshot.
	st.fail.Store(false)
	advance(time.Second)
	r.Snapshot(ctx)
	<-st.entered
	for r.Cached() == first && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r.Cached() == first || r.LastError() != nil || st.loads.Load() != 3 {
		t.Fatalf("retry a TTL after the failure: replaced %v, err %v, loads %d", r.Cached() != first, r.LastError(), st.loads.Load())
	}
}

// Concurrent Refresh calls share loads: a caller whose call began before a
// load started returns that load's result instead of loading again (16
// callers used to make 16 serialized loads).
func TestConcurrentRefreshSharesLoads(t *testing.T) {
	st := &gateStore{entered: make(chan struct{}, 64), release: make(chan struct{})}
	r := registry.New(st, "p", registry.Options{})
	ctx := context.Background()
	go func() { r.Refresh(ctx) }()
	<-st.entered // load 1 is held; 16 more callers arrive meanwhile
	var arrived, wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		arrived.Add(1)
		go func() { defer wg.Done(); arrived.Done(); r.Refresh(ctx) }()
	}
	arrived.Wait()
	close(st.release) // later loads pass the gate at once
	wg.Wait()
	// Load 1, then one load for the callers that waited on it; a caller
	// scheduled only after that load began may add one more.
	if n := st.loads.Load(); n < 2 || n > 3 {
		t.Fatalf("17 concurrent refreshes made %d loads, want 2 (or 3)", n)
	}
}

// hangStore answers its first Load and then never answers again, ignoring
// the context, as a registry database behind a dropped connection can.
type hangStore struct {
	countingStore
	hang chan struct{} // closed at the end of the test
}

func (s *hangStore) Load(ctx context.Context, p string) (*core.Registry, error) {
	if s.loads.Load() > 0 {
		<-s.hang
	}
	return s.countingStore.Load(ctx, p)
}

// A registry that stops answering fails the refresh after LoadTimeout
// (naming the timeout) and keeps the last good snapshot.
func TestRefreshOfAHungRegistryEndsAtTheLoadTimeout(t *testing.T) {
	var mu sync.Mutex
	now := registrytestNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := &hangStore{hang: make(chan struct{})}
	defer close(st.hang)
	r := registry.New(st, "p", registry.Options{CacheTTL: time.Minute, Now: clock, LoadTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	first, err := r.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if s, err := r.Snapshot(ctx); err != nil || s != first {
		t.Fatalf("expired snapshot: %p, %v; want the cached one at once", s, err)
	}
	// The background refresh fails on its own (Close would cancel it).
	for deadline := time.Now().Add(30 * time.Second); r.LastError() == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the background refresh of a hung registry never ended")
		}
	}
	defer r.Close()
	var te *registry.LoadTimeoutError
	if err := r.LastError(); !errors.As(err, &te) || te.Timeout != 50*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("last error = %v, want a LoadTimeoutError of 50ms", err)
	}
	if r.Cached() != first {
		t.Fatal("a timed-out refresh replaced the last good snapshot")
	}
	// A caller's own Refresh is bounded the same way.
	if _, err := r.Refresh(ctx); !errors.As(err, &te) {
		t.Fatalf("Refresh of a hung registry: %v, want a LoadTimeoutError", err)
	}
}
