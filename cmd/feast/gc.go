package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// DefaultServeGCPercent is the garbage collector's target of feast serve:
// a request's garbage is most of what the heap holds (the per-value objects
// of a response), so a collection every 4x of the live heap instead of every
// 2x halves the collector's share of CPU; on 100-entity requests it took the
// server from 2.50x to 1.82x the floor proxy's CPU (BENCHMARKS.md).
const DefaultServeGCPercent = 400

// cgroupMemoryMax is where cgroup v2 exposes the container's memory limit.
var cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// tuneGC sets feast serve's collector: GC percent (unless GOGC is set,
// which wins) and, when the process runs under a cgroup memory limit and
// GOMEMLIMIT is not set, a soft limit of 80% of it, so the larger GC
// target never grows the heap into the container's OOM killer. It returns
// a description for the log.
func tuneGC(percent int) string {
	var parts []string
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
		parts = append(parts, fmt.Sprintf("GOGC=%d", percent))
	} else {
		parts = append(parts, "GOGC="+os.Getenv("GOGC")+" (environment)")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if limit, ok := containerMemoryLimit(); ok {
			soft := limit / 10 * 8
			debug.SetMemoryLimit(soft)
			parts = append(parts, fmt.Sprintf("GOMEMLIMIT=%dMiB (80%% of the cgroup's %dMiB)", soft>>20, limit>>20))
		}
	} else {
		parts = append(parts, "GOMEMLIMIT="+os.Getenv("GOMEMLIMIT")+" (environment)")
	}
	return strings.Join(parts, ", ")
}

// containerMemoryLimit reads the cgroup v2 memory limit ("max" means none).
func containerMemoryLimit() (int64, bool) {
	b, err := os.ReadFile(cgroupMemoryMax)
	if err != nil {
		return 0, false
	}
	return parseMemoryMax(string(b))
}

func parseMemoryMax(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0, false
	}
	return n, true
}
