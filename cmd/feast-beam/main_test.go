package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/examples"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

// demoRepo writes the demo repository with batch_engine set to engineYAML
// and applies it.
func demoRepo(t *testing.T, engineYAML string) (string, time.Time) {
	t.Helper()
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	if err := examples.WriteRepo(dir, "beam_demo", now); err != nil {
		t.Fatal(err)
	}
	yml := filepath.Join(dir, "feature_store.yaml")
	b, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yml, append(b, []byte("\n"+engineYAML)...), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	plan, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	return dir, now
}

func intervals(t *testing.T, dir string) int {
	t.Helper()
	fs, err := feast.Open(context.Background(), feast.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	fv, err := fs.FeatureView(context.Background(), "driver_hourly_stats")
	if err != nil {
		t.Fatal(err)
	}
	return len(fv.Intervals)
}

func runCLI(dir string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(append([]string{"-c", dir}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestMaterializeIncrementalWithBeam(t *testing.T) {
	dir, _ := demoRepo(t, "batch_engine:\n  type: beam\n  runner: prism\n")
	out, errOut, err := runCLI(dir, "materialize-incremental", "now")
	if err != nil {
		t.Fatalf("materialize-incremental: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "batch engine: beam (prism runner)") || !strings.Contains(out, "driver_hourly_stats") || strings.Contains(out, "FAILED") {
		t.Fatalf("unexpected output:\n%s\n%s", out, errOut)
	}
	if n := intervals(t, dir); n != 1 {
		t.Fatalf("%d intervals recorded after a successful run, want 1", n)
	}
	t.Log(out)
}

func TestFailedPipelineRecordsNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	dir, _ := demoRepo(t, "batch_engine:\n  type: beam\n  runner: prism\n")
	// Point the online store at a Redis that is not there.
	yml := filepath.Join(dir, "feature_store.yaml")
	b, _ := os.ReadFile(yml)
	b = bytes.Replace(b, []byte("online_store:\n  type: sqlite\n  path: data/online.db"), []byte(fmt.Sprintf("online_store:\n  type: redis\n  connection_string: %s", addr)), 1)
	if err := os.WriteFile(yml, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLI(dir, "materialize-incremental", "now")
	if err == nil {
		t.Fatalf("materialize into an unreachable redis succeeded:\n%s\n%s", out, errOut)
	}
	if !strings.Contains(out, "FAILED") {
		t.Errorf("summary does not show the failure:\n%s", out)
	}
	if n := intervals(t, dir); n != 0 {
		t.Fatalf("%d intervals recorded after a failed pipeline, want 0", n)
	}
}

func TestWorkerMode(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"--worker=true", "--id=1"}, true},
		{[]string{"-worker"}, true},
		{[]string{"materialize-incremental", "now"}, false},
		{[]string{"--workers=3"}, false},
	} {
		if got := workerMode(c.args); got != c.want {
			t.Errorf("workerMode(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}
