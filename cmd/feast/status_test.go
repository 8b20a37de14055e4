package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/online"
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

// TestStatusOnlineStoreUnreachable: the report is printed, with the error
// per view, and the command fails (exit status 1) when the online store
// cannot be reached; it used to exit 0.
func TestStatusOnlineStoreUnreachable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo_repo")
	mustRun(t, "init", dir)
	mustRun(t, "-c", dir, "apply")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	path := filepath.Join(dir, "feature_store.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^online_store:\n(?:[ \t]+.*\n)*`)
	if !re.Match(data) {
		t.Fatalf("no online_store section in:\n%s", data)
	}
	data = re.ReplaceAll(data, []byte("online_store:\n  type: redis\n  connection_string: "+addr+"\n"))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := runStatus(t, dir)
	if err == nil || !errors.Is(err, online.ErrUnavailable) || isExit(err, 0) {
		t.Fatalf("status with the online store down: err %v\n%s", err, out)
	}
	if !strings.Contains(out, "driver_hourly_stats") || !strings.Contains(out, "error: ") {
		t.Fatalf("the report must still be printed, with the error:\n%s", out)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("status took %v", time.Since(start))
	}
	if out, err := runStatus(t, dir, "--skip-online-store"); err != nil {
		t.Fatalf("--skip-online-store does not touch the store: %v\n%s", err, out)
	}
}
