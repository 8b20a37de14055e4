package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseMemoryMax(t *testing.T) {
	for in, want := range map[string]int64{"max\n": 0, "": 0, "junk": 0, "-5": 0, "1073741824\n": 1 << 30, "9223372036854771712": 0} {
		got, ok := parseMemoryMax(in)
		if got != want || ok != (want > 0) {
			t.Errorf("parseMemoryMax(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	old := cgroupMemoryMax
	defer func() { cgroupMemoryMax = old }()
	cgroupMemoryMax = filepath.Join(t.TempDir(), "memory.max")
	if err := os.WriteFile(cgroupMemoryMax, []byte("1073741824\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	desc := tuneGC(400)
	if got := debug.SetGCPercent(400); got != 400 {
		t.Errorf("GC percent %d, want 400", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<30/10*8 {
		t.Errorf("memory limit %d, want 80%% of 1 GiB", got)
	}
	if !strings.Contains(desc, "GOGC=400") || !strings.Contains(desc, "of the cgroup's 1024MiB") {
		t.Errorf("description %q", desc)
	}
	// The environment wins.
	debug.SetGCPercent(100)
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "2GiB")
	desc = tuneGC(400)
	if got := debug.SetGCPercent(100); got != 100 || !strings.Contains(desc, "GOGC=150 (environment)") || !strings.Contains(desc, "GOMEMLIMIT=2GiB (environment)") {
		t.Errorf("with GOGC set: percent %d, %q", got, desc)
	}
}
