package registry_test

import (
	"context"
	"errors"
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
	r.Snapshot(ctx)
	if st.loads.Load() != 2 {
		t.Fatalf("loads after ttl = %d, want 2", st.loads.Load())
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
