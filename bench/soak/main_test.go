package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyRevisionReportsErrors checks that a failing apply, or a
// repository without features.yaml, reaches the caller: the soak counts
// apply errors from it.
func TestApplyRevisionReportsErrors(t *testing.T) {
	repo := t.TempDir()
	if err := applyRevision(repo, 1, func() error { return nil }); err == nil {
		t.Error("applyRevision without features.yaml returned nil")
	}
	yaml := filepath.Join(repo, "features.yaml")
	if err := os.WriteFile(yaml, []byte("entities:\n  - name: driver\n    description: A driver\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("apply: boom")
	if err := applyRevision(repo, 2, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("applyRevision = %v, want %v", err, boom)
	}
	applied := false
	if err := applyRevision(repo, 3, func() error { applied = true; return nil }); err != nil || !applied {
		t.Errorf("applyRevision = %v, applied %v; want nil, true", err, applied)
	}
	data, err := os.ReadFile(yaml)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "(soak revision 3)") {
		t.Errorf("features.yaml after revision 3:\n%s", data)
	}
}
