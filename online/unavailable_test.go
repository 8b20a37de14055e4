package online

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestUnavailable(t *testing.T) {
	if Unavailable(nil) != nil {
		t.Fatal("Unavailable(nil) must be nil")
	}
	cause := errors.New("connection refused")
	err := fmt.Errorf("read online features: %w", Unavailable(fmt.Errorf("redis: read v: %w", cause)))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, cause) {
		t.Fatalf("%v: want it to match ErrUnavailable and its cause", err)
	}
	if got := err.Error(); got != "read online features: redis: read v: connection refused" {
		t.Fatalf("message %q: marking must not change it", got)
	}
	if again := Unavailable(err); again != err {
		t.Fatal("marking twice must not wrap again")
	}
}

func TestWithTimeout(t *testing.T) {
	ctx := context.Background()
	tctx, cancel, check := WithTimeout(ctx, 10*time.Millisecond, "read_timeout")
	defer cancel()
	<-tctx.Done()
	err := check(tctx.Err())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 10ms (read_timeout; raise it if the store is only slow)") {
		t.Fatalf("the store's own timeout: %v", err)
	}

	// The caller's deadline expiring first is the caller's business.
	parent, pcancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer pcancel()
	tctx, cancel, check = WithTimeout(parent, time.Hour, "read_timeout")
	defer cancel()
	<-tctx.Done()
	if err := check(tctx.Err()); errors.Is(err, ErrUnavailable) {
		t.Fatalf("the caller's deadline: %v must not be an outage", err)
	}

	// Errors before the timeout pass through; no timeout, no bound.
	_, cancel, check = WithTimeout(ctx, time.Hour, "read_timeout")
	defer cancel()
	if err := check(errBoom); err != errBoom {
		t.Fatalf("early error: %v", err)
	}
	nctx, cancel, check := WithTimeout(ctx, 0, "read_timeout")
	defer cancel()
	if _, ok := nctx.Deadline(); ok || check(errBoom) != errBoom {
		t.Fatal("d <= 0 must not bound the call")
	}
}

var errBoom = errors.New("boom")
