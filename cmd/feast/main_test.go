package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI with args and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, args...)
	if err != nil {
		t.Fatalf("feast %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func TestInitPlanApplyCycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo_repo")
	mustRun(t, "init", dir)
	for _, f := range []string{"feature_store.yaml", "features.yaml", "data/driver_stats/part-00000.parquet", "data/driver_entities.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("init did not write %s", f)
		}
	}
	if _, _, err := run(t, "init", dir); err == nil {
		t.Error("init into an existing repository must fail")
	}

	plan := mustRun(t, "-c", dir, "plan")
	for _, want := range []string{
		"Created entity driver\n", "Created feature view driver_hourly_stats\n",
		"Created on demand feature view transformed_conv_rate\n", "Created feature service driver_activity_v1\n",
		"Created sqlite table demo_repo_driver_hourly_stats\n",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan missing %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "__dummy") {
		t.Error("plan must not print the dummy entity")
	}
	if _, _, err := run(t, "-c", dir, "plan", "--exit-code"); !isExit(err, 2) {
		t.Errorf("plan --exit-code with changes: %v", err)
	}
	apply := mustRun(t, "-c", dir, "apply")
	if !strings.Contains(apply, "Applied to project demo_repo") {
		t.Errorf("apply output:\n%s", apply)
	}
	again := mustRun(t, "-c", dir, "plan", "--exit-code")
	if again != "No changes to registry\nNo changes to infrastructure\n" {
		t.Errorf("plan after apply:\n%q", again)
	}

	// Field-level diff and deletion of removed objects.
	defs := filepath.Join(dir, "features.yaml")
	data, _ := os.ReadFile(defs)
	changed := strings.Replace(string(data), "ttl: 1d", "ttl: 2d", 1)
	changed = changed[:strings.Index(changed, "  - name: driver_activity_v2")]
	os.WriteFile(defs, []byte(changed), 0o644)
	plan = mustRun(t, "-c", dir, "plan")
	for _, want := range []string{"Updated feature view driver_hourly_stats\n\tttl: 1d -> 2d\n", "Deleted feature service driver_activity_v2\n"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan missing %q:\n%s", want, plan)
		}
	}
	mustRun(t, "-c", dir, "apply")

	list := mustRun(t, "-c", dir, "feature-views", "list")
	if !strings.Contains(list, "driver_hourly_stats") || !strings.Contains(list, "2d") {
		t.Errorf("feature-views list:\n%s", list)
	}
	if list := mustRun(t, "-c", dir, "feature-services", "list"); strings.Contains(list, "driver_activity_v2") {
		t.Errorf("deleted service still listed:\n%s", list)
	}
	desc := mustRun(t, "-c", dir, "entities", "describe", "driver")
	if !strings.Contains(desc, "joinKey: driver_id") || !strings.Contains(desc, "valueType: INT64") {
		t.Errorf("describe:\n%s", desc)
	}
	if _, _, err := run(t, "-c", dir, "entities", "describe", "drivr"); err == nil || !strings.Contains(err.Error(), `did you mean "driver"`) {
		t.Errorf("describe unknown: %v", err)
	}
	var dump map[string][]map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "-c", dir, "registry-dump")), &dump); err != nil {
		t.Fatal(err)
	}
	if len(dump["featureViews"]) != 1 || len(dump["entities"]) < 1 || len(dump["dataSources"]) != 3 {
		t.Errorf("registry-dump keys: %v", keysOf(dump))
	}

	// -f / FEAST_FS_YAML_FILE_PATH select the config file.
	t.Setenv("FEAST_FS_YAML_FILE_PATH", filepath.Join(dir, "feature_store.yaml"))
	if out := mustRun(t, "plan"); !strings.Contains(out, "No changes to registry") {
		t.Errorf("plan via FEAST_FS_YAML_FILE_PATH:\n%s", out)
	}
	t.Setenv("FEAST_FS_YAML_FILE_PATH", "")

	mustRun(t, "-c", dir, "teardown")
	if list := mustRun(t, "-c", dir, "feature-views", "list"); strings.Contains(list, "driver_hourly_stats") {
		t.Errorf("teardown left views:\n%s", list)
	}
}

func TestPlanReportsDefinitionErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte("project: p\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte("feature_views:\n  - name: fv\n    ttl: 1x\n    source: nope\n    schema: [{name: a, dtype: Int64}]\n"), 0o644)
	_, _, err := run(t, "-c", dir, "plan")
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, want := range []string{`defs.yaml:3: feature view "fv": ttl: invalid duration "1x"`, `defs.yaml:4: feature view "fv": source: data source "nope" is not defined`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error missing %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "registry.db")); err == nil {
		t.Error("a failed plan wrote a registry")
	}
}

func TestMissingConfigSaysWhatToDo(t *testing.T) {
	_, _, err := run(t, "-c", t.TempDir(), "plan")
	if err == nil || !strings.Contains(err.Error(), "feast init") {
		t.Errorf("err = %v", err)
	}
}

func TestVersion(t *testing.T) {
	if out := mustRun(t, "version"); !strings.HasPrefix(out, "Feast SDK Version:") {
		t.Errorf("version: %q", out)
	}
}

func isExit(err error, code int) bool {
	var ec *exitCodeError
	return errors.As(err, &ec) && ec.code == code
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A materialization that fails before any view prints the error, not an
// empty summary claiming there was nothing to materialize.
func TestMaterializeFailureHasNoEmptySummary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", dir)
	mustRun(t, "-c", dir, "apply")
	for _, args := range [][]string{
		{"materialize-incremental", "-v", "no_such_view", "2024-05-01T00:00:00Z"},
		{"materialize", "2024-05-02T00:00:00Z", "2024-05-01T00:00:00Z"},
	} {
		out, _, err := run(t, append([]string{"-c", dir}, args...)...)
		if err == nil || strings.Contains(out, "No online feature views to materialize.") {
			t.Errorf("feast %s: err %v, stdout %q", strings.Join(args, " "), err, out)
		}
	}
}
