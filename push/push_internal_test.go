package push

import (
	"context"
	"errors"
	"testing"

	"github.com/feastgo/feast/config"
)

// configOnly is a Store with a configuration and nothing else: any other
// call panics, so a test using it shows that nothing was read or written.
type configOnly struct {
	Store
	cfg *config.RepoConfig
}

func (s configOnly) Config() *config.RepoConfig { return s.cfg }

// TestPushSaturated: with every write slot taken a push fails at once
// with ErrWritesSaturated, and succeeds again once a slot is free.
func TestPushSaturated(t *testing.T) {
	fs := configOnly{cfg: &config.RepoConfig{}}
	p, err := New(fs, Options{MaxConcurrent: 2})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := p.admit("a")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.admit("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Push(context.Background(), Request{Source: "s"}); !errors.Is(err, ErrWritesSaturated) {
		t.Fatalf("push with no free slot: %v", err)
	}
	if _, err := p.WriteToOnlineStore(context.Background(), WriteRequest{View: "v"}); !errors.Is(err, ErrWritesSaturated) {
		t.Fatalf("write with no free slot: %v", err)
	}
	r1()
	r3, err := p.admit("c")
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	r2()
	r3()
	if p, _ := New(fs, Options{MaxConcurrent: -1}); p.slots != nil {
		t.Fatal("negative MaxConcurrent still limits")
	}
}
