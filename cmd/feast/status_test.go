package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runStatus runs `feast status` (registered by the lead in the root command)
// on its own, with the given repository.
func runStatus(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	g := &globals{chdir: dir, stdout: &out, stderr: &errOut}
	cmd := newStatusCmd(g)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestStatusCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo_repo")
	mustRun(t, "init", dir)
	mustRun(t, "-c", dir, "apply")

	out, err := runStatus(t, dir, "--exit-code")
	if !isExit(err, 2) {
		t.Fatalf("--exit-code before materialization: %v\n%s", err, out)
	}
	if !strings.Contains(out, "driver_hourly_stats") || !strings.Contains(out, "NEVER MATERIALIZED") {
		t.Fatalf("status before materialization:\n%s", out)
	}

	mustRun(t, "-c", dir, "materialize-incremental", "now")
	out, err = runStatus(t, dir, "--exit-code", "-v", "driver_hourly_stats")
	if err != nil {
		t.Fatalf("status after materialization: %v\n%s", err, out)
	}
	t.Logf("feast status:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "VIEW") || !strings.HasPrefix(lines[1], "driver_hourly_stats") ||
		!strings.HasSuffix(lines[1], " ok") || !strings.Contains(lines[1], " 1d ") {
		t.Fatalf("status table:\n%s", out)
	}

	out, err = runStatus(t, dir, "-o", "json", "-v", "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0]["feature_view"] != "driver_hourly_stats" || rows[0]["status"] != "ok" ||
		rows[0]["ttl_seconds"] != float64(86400) || rows[0]["last_interval_end"] == nil || rows[0]["stale"] != false {
		t.Fatalf("json rows: %v", rows)
	}
	end, err := time.Parse(time.RFC3339Nano, rows[0]["last_interval_end"].(string))
	if err != nil || time.Since(end) > time.Minute {
		t.Fatalf("last_interval_end %v: %v", rows[0]["last_interval_end"], err)
	}

	if _, err := runStatus(t, dir, "-o", "yaml"); err == nil {
		t.Fatal("-o yaml must be refused")
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 90 * time.Minute: "1h30m", 24 * time.Hour: "1d",
		26*time.Hour + 3*time.Second: "1d2h3s", -2 * time.Hour: "-2h", 1500 * time.Millisecond: "2s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
