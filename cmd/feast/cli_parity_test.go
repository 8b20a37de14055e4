package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/internal/testenv"
)

// parseArgs parses argv as feast would, without running the command, and
// returns the selected command's path and the flags it was given.
func parseArgs(t *testing.T, args ...string) (string, map[string]string, error) {
	t.Helper()
	root := newRootCmd(io.Discard, io.Discard)
	cmd, rest, err := root.Traverse(args)
	if err != nil {
		return "", nil, err
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return cmd.CommandPath(), nil, err
	}
	got := map[string]string{"args": strings.Join(cmd.Flags().Args(), " ")}
	for _, name := range []string{"chdir", "feature-store-yaml", "log-level", "features", "entities", "dataframe",
		"start-date", "end-date", "output", "feature-service", "views", "template", "reference", "allow-delete-unmanaged", "port"} {
		if f := cmd.Flags().Lookup(name); f != nil && (f.Changed || name == "feature-store-yaml") {
			got[name] = f.Value.String()
		}
	}
	return cmd.CommandPath(), got, nil
}

// TestCLIFlagGolden pins what each argv means: the command selected and
// the value of every flag, following Feast's CLI.
func TestCLIFlagGolden(t *testing.T) {
	t.Setenv("FEAST_FS_YAML_FILE_PATH", "")
	for _, tc := range []struct {
		argv string
		cmd  string
		want map[string]string
	}{
		// The bug of issue 17: the global -f before the command name is
		// the feature_store.yaml, the command's -f its features.
		{"-f demo/feature_store.yaml get-online-features -e driver_id=1001 -f view:feat", "feast get-online-features",
			map[string]string{"feature-store-yaml": "demo/feature_store.yaml", "entities": "[driver_id=1001]", "features": "[view:feat]"}},
		{"get-online-features --feature-store-yaml x.yaml -f v:a -f v:b -e driver_id=1 -e driver_id=2", "feast get-online-features",
			map[string]string{"feature-store-yaml": "x.yaml", "entities": "[driver_id=1,driver_id=2]", "features": "[v:a,v:b]"}},
		{"--feature-store-yaml=x.yaml -c repo get-online-features -f v:a -e k=1", "feast get-online-features",
			map[string]string{"chdir": "repo", "feature-store-yaml": "x.yaml", "entities": "[k=1]", "features": "[v:a]"}},
		// get-historical-features: -d dataframe, -f features, -s/-e dates.
		{`-f fs.yaml get-historical-features -d [{"driver_id":1}] -f v:a -f v:b`, "feast get-historical-features",
			map[string]string{"feature-store-yaml": "fs.yaml", "dataframe": `[{"driver_id":1}]`, "features": "[v:a,v:b]"}},
		{"get-historical-features -f v:a -s 2024-01-01 -e 2024-01-02", "feast get-historical-features",
			map[string]string{"feature-store-yaml": "", "features": "[v:a]", "start-date": "2024-01-01", "end-date": "2024-01-02"}},
		{"get-historical-features --entities e.csv --features v:a,v:b -o out.csv", "feast get-historical-features",
			map[string]string{"feature-store-yaml": "", "entities": "e.csv", "features": "[v:a,v:b]", "output": "out.csv"}},
		{"get-historical-features --feature-service svc --dataframe x.parquet --output t.parquet", "feast get-historical-features",
			map[string]string{"feature-store-yaml": "", "feature-service": "svc", "dataframe": "x.parquet", "output": "t.parquet"}},
		// Commands without their own -f keep the global one anywhere.
		{"-f a.yaml plan", "feast plan", map[string]string{"feature-store-yaml": "a.yaml"}},
		{"plan -f a.yaml", "feast plan", map[string]string{"feature-store-yaml": "a.yaml"}},
		{"--log-level debug -c repo apply", "feast apply", map[string]string{"feature-store-yaml": "", "chdir": "repo", "log-level": "debug"}},
		{"materialize -v a -v b 2024-01-01 now", "feast materialize", map[string]string{"feature-store-yaml": "", "views": "[a,b]", "args": "2024-01-01 now"}},
		{"-f a.yaml materialize-incremental now", "feast materialize-incremental", map[string]string{"feature-store-yaml": "a.yaml", "args": "now"}},
		// validate: -f is Feast's --feature-service there.
		{"-f a.yaml validate -f svc -r ref", "feast validate", map[string]string{"feature-store-yaml": "a.yaml", "feature-service": "svc", "reference": "ref"}},
		{"init -t redis my_repo", "feast init", map[string]string{"feature-store-yaml": "", "template": "redis", "args": "my_repo"}},
		{"-c repo projects describe demo", "feast projects describe", map[string]string{"feature-store-yaml": "", "chdir": "repo", "args": "demo"}},
		{"delete --allow-delete-unmanaged x", "feast delete", map[string]string{"feature-store-yaml": "", "allow-delete-unmanaged": "true", "args": "x"}},
		{"endpoint -p 7000", "feast endpoint", map[string]string{"feature-store-yaml": "", "port": "7000"}},
	} {
		cmd, got, err := parseArgs(t, strings.Fields(tc.argv)...)
		if err != nil {
			t.Errorf("feast %s: %v", tc.argv, err)
			continue
		}
		if cmd != tc.cmd {
			t.Errorf("feast %s: command %q, want %q", tc.argv, cmd, tc.cmd)
		}
		if _, ok := tc.want["args"]; !ok {
			tc.want["args"] = ""
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("feast %s: %s = %q, want %q", tc.argv, k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := tc.want[k]; !ok {
				t.Errorf("feast %s: unexpected %s = %q", tc.argv, k, v)
			}
		}
	}
	// Our old short -e of get-historical-features (an entity file) is
	// now Feast's --end-date; the help says where the file went.
	out := mustRun(t, "get-historical-features", "--help")
	for _, want := range []string{"-e, --end-date", "--entities string", "-d, --dataframe", "-f, --features", "default: JSON on stdout"} {
		if !strings.Contains(out, want) {
			t.Errorf("get-historical-features --help lacks %q:\n%s", want, out)
		}
	}
}

// demoRepo initializes the demo repository, applies it and materializes it.
func demoRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	mustRun(t, "init", dir)
	mustRun(t, "-c", dir, "apply")
	if _, errOut, err := run(t, "-c", dir, "materialize-incremental", "now"); err != nil {
		t.Fatalf("materialize: %v\n%s", err, errOut)
	}
	return dir
}

func TestOnlineAndHistoricalWithFeastFlags(t *testing.T) {
	dir := demoRepo(t)
	yamlPath := filepath.Join(dir, "feature_store.yaml")

	out := mustRun(t, "-f", yamlPath, "get-online-features", "-e", "driver_id=1001", "-f", "driver_hourly_stats:conv_rate")
	var online map[string][]any
	if err := json.Unmarshal([]byte(out), &online); err != nil {
		t.Fatalf("online output is not JSON: %v\n%s", err, out)
	}
	if len(online["driver_id"]) != 1 || len(online["conv_rate"]) != 1 || online["conv_rate"][0] == nil {
		t.Errorf("online output: %s", out)
	}

	ts := time.Now().UTC().Add(-2 * time.Hour).Format("2006-01-02 15:04:05")
	df := `[{"driver_id": 1001, "event_timestamp": "` + ts + `"}, {"driver_id": 1002, "event_timestamp": "` + ts + `"}]`
	out = mustRun(t, "-f", yamlPath, "get-historical-features", "-d", df, "-f", "driver_hourly_stats:conv_rate", "-f", "driver_hourly_stats:acc_rate")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("historical stdout is not a JSON array: %v\n%s", err, out)
	}
	if len(rows) != 2 {
		t.Fatalf("want 2 rows:\n%s", out)
	}
	for _, r := range rows {
		if r["conv_rate"] == nil || r["acc_rate"] == nil || r["driver_id"] == nil {
			t.Errorf("row without values: %v", r)
		}
		if s, _ := r["event_timestamp"].(string); !strings.HasSuffix(s, "Z") {
			t.Errorf("event_timestamp %v is not RFC 3339 UTC", r["event_timestamp"])
		}
	}

	// The same rows into each file format, chosen by extension.
	tmp := t.TempDir()
	for _, name := range []string{"t.json", "t.csv", "t.parquet"} {
		p := filepath.Join(tmp, name)
		out := mustRun(t, "-c", dir, "get-historical-features", "-d", df, "-f", "driver_hourly_stats:conv_rate", "-o", p)
		if !strings.Contains(out, "Wrote 2 rows x 3 columns to "+p) {
			t.Errorf("%s summary:\n%s", name, out)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(name) {
		case ".json":
			var rows []map[string]any
			if err := json.Unmarshal(data, &rows); err != nil || len(rows) != 2 {
				t.Errorf("t.json: %v\n%s", err, data)
			}
		case ".csv":
			if !strings.HasPrefix(string(data), "driver_id,") {
				t.Errorf("t.csv: %q", data)
			}
		case ".parquet":
			if !strings.HasPrefix(string(data), "PAR1") {
				t.Errorf("t.parquet does not start with PAR1")
			}
		}
	}
	// An entity file by -d (an existing file) or --entities.
	out = mustRun(t, "-c", dir, "get-historical-features", "-d", "data/driver_entities.csv", "-f", "driver_hourly_stats:conv_rate")
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) == 0 {
		t.Errorf("-d FILE: %v\n%s", err, out)
	}
}

func TestHistoricalRefusesBadInput(t *testing.T) {
	dir := demoRepo(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "out.json.txt"}, `unknown output format ".txt": use .parquet, .csv or .json`},
		{[]string{"-o", "out"}, "has no extension"},
		{[]string{"-d", "[{\"driver_id\": 1}]"}, "every row needs an event_timestamp"},
		{[]string{"-d", "not json"}, "give a JSON array of entity rows"},
		{[]string{"-d", "[{\"driver_id\": 1, \"event_timestamp\": \"yesterday\"}]"}, "row 0: event_timestamp"},
		{[]string{"-d", "[{\"driver_id\": 1, \"event_timestamp\": \"2024-01-01\"}]", "-s", "2024-01-01"}, "cannot be combined with entity rows"},
		{[]string{"--entities", "data/driver_entities.csv", "-d", "[]"}, "give only one of"},
	} {
		args := append([]string{"-c", dir, "get-historical-features", "-f", "driver_hourly_stats:conv_rate"}, tc.args...)
		out, _, err := run(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", tc.args, out)
		}
	}
	if _, err := os.Stat("out"); err == nil {
		t.Error("a refused output file was created")
	}
}

func TestProjectsCommands(t *testing.T) {
	dir := demoRepo(t)
	out := mustRun(t, "-c", dir, "projects", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "demo ") {
		t.Errorf("projects list:\n%s", out)
	}
	if out := mustRun(t, "-c", dir, "projects", "list", "--tags", "team:x"); strings.Contains(out, "demo") {
		t.Errorf("tag filter kept demo:\n%s", out)
	}
	out = mustRun(t, "-c", dir, "projects", "describe", "demo")
	if !strings.Contains(out, "spec:\n  name: demo\n") || !strings.Contains(out, "createdTimestamp") {
		t.Errorf("projects describe:\n%s", out)
	}
	_, _, err := run(t, "-c", dir, "projects", "describe", "dem")
	if err == nil || !strings.Contains(err.Error(), `project "dem" not found in the registry (did you mean demo?)`) {
		t.Errorf("unknown project: %v", err)
	}
}

func TestDeleteCommand(t *testing.T) {
	dir := demoRepo(t)
	for _, tc := range []struct{ name, want string }{
		{"driver", `refusing to delete entity "driver" of project "demo": other objects use it (feature view "driver_hourly_stats" uses entity "driver")`},
		{"driver_hourly_stats", `feature service "driver_activity_v1" uses feature view "driver_hourly_stats"; feature service "driver_activity_v2" uses`},
	} {
		_, _, err := run(t, "-c", dir, "delete", tc.name)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("delete %s: %v\nwant %q", tc.name, err, tc.want)
		}
	}
	out, errOut, err := run(t, "-c", dir, "delete", "driver_activity_v")
	if err != nil || out != "Object not found. Deletion skipped.\n" || !strings.Contains(errOut, "did you mean driver_activity_v1") {
		t.Errorf("delete unknown: %v %q %q", err, out, errOut)
	}
	if out := mustRun(t, "-c", dir, "delete", "driver_activity_v2"); out != "Deleted feature service driver_activity_v2 from demo.\n" {
		t.Errorf("delete: %q", out)
	}
	if out := mustRun(t, "-c", dir, "feature-services", "list"); strings.Contains(out, "driver_activity_v2") {
		t.Errorf("still listed:\n%s", out)
	}
	// Delete a feature view with its dependents gone: its online table goes too.
	mustRun(t, "-c", dir, "delete", "driver_activity_v1")
	mustRun(t, "-c", dir, "delete", "transformed_conv_rate")
	if out := mustRun(t, "-c", dir, "delete", "driver_hourly_stats"); out != "Deleted feature view driver_hourly_stats from demo.\n" {
		t.Errorf("delete view: %q", out)
	}
	_, _, err = run(t, "-c", dir, "get-online-features", "-e", "driver_id=1001", "-f", "driver_hourly_stats:conv_rate")
	if err == nil {
		t.Error("the deleted view still answers")
	}
	// apply recreates what the repository defines.
	mustRun(t, "-c", dir, "apply")

	// Objects feast-go did not create need --allow-delete-unmanaged.
	small := smallRepo(t, map[string]string{"features.yaml": smallDefs})
	mustRun(t, "-c", small, "apply")
	writeForeignObjects(t, small)
	_, _, err = run(t, "-c", small, "delete", "py_stats")
	if err == nil || !strings.Contains(err.Error(), `refusing to delete feature view "py_stats" of project "demo": feast-go did not create it`) ||
		!strings.Contains(err.Error(), "--allow-delete-unmanaged") {
		t.Errorf("unmanaged: %v", err)
	}
	if out := mustRun(t, "-c", small, "delete", "--allow-delete-unmanaged", "py_stats"); !strings.Contains(out, "Deleted feature view py_stats") {
		t.Errorf("allowed: %q", out)
	}

	// Permissions are deleted by name like the other objects.
	perms := "permissions:\n  - name: readers\n    actions: [READ]\n    policy: {roles: [reader]}\n"
	if err := os.WriteFile(filepath.Join(small, "permissions.yaml"), []byte(perms), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "-c", small, "apply", "--allow-delete-unmanaged")
	if out := mustRun(t, "-c", small, "delete", "readers"); out != "Deleted permission readers from demo.\n" {
		t.Errorf("delete permission: %q", out)
	}
	if out := mustRun(t, "-c", small, "permissions", "list"); strings.Contains(out, "readers") {
		t.Errorf("still listed:\n%s", out)
	}
}

func TestValidateCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	mustRun(t, "init", dir)
	out := mustRun(t, "-c", dir, "validate")
	if !strings.HasPrefix(out, "Definitions are valid: 1 entities, ") {
		t.Errorf("validate: %q", out)
	}
	_, _, err := run(t, "-c", dir, "validate", "-f", "svc", "-r", "ref", "2024-01-01", "2024-01-02")
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Feast's logged-feature validation: %v", err)
	}
	// A source path that matches nothing is caught before plan.
	defs := filepath.Join(dir, "features.yaml")
	data, _ := os.ReadFile(defs)
	os.WriteFile(defs, []byte(strings.Replace(string(data), "data/driver_stats", "data/driver_statz", 1)), 0o644)
	_, _, err = run(t, "-c", dir, "validate")
	if err == nil || !strings.Contains(err.Error(), "1 problem(s):\n  data source driver_hourly_stats_source: path data/driver_statz/ matches no file") {
		t.Errorf("missing source: %v", err)
	}
	// Definition errors are reported as plan reports them.
	os.WriteFile(defs, []byte("entities:\n  - {name: driver, join_keys: [driver_id], value_type: NOPE}\n"), 0o644)
	if _, _, err := run(t, "-c", dir, "validate"); err == nil {
		t.Error("an invalid definition passed validate")
	}
}

func TestEndpointCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	mustRun(t, "init", dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	if out := mustRun(t, "-c", dir, "endpoint", "-p", strconv.Itoa(port)); out != "There is no active feature server.\n" {
		t.Errorf("no server: %q", out)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	host, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if out := mustRun(t, "-c", dir, "endpoint", "--host", host, "--port", p); out != "Feature server endpoint: "+srv.URL+"\n" {
		t.Errorf("server: %q", out)
	}
}

func TestInitTemplates(t *testing.T) {
	_, _, err := run(t, "init", "-t", "gcp", filepath.Join(t.TempDir(), "x"))
	if err == nil || err.Error() != `template "gcp" is not available (available: local, postgres, redis)` {
		t.Errorf("unknown template: %v", err)
	}
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		t.Setenv("FEAST_REGISTRY_URL", dsn)
		initPlanApply(t, "postgres", "Created postgres table")
	})
	t.Run("redis", func(t *testing.T) {
		t.Setenv("REDIS_CONNECTION_STRING", testenv.RedisAddr(t))
		initPlanApply(t, "redis", "")
	})
}

// initPlanApply writes a repository from the template and runs plan,
// apply, materialize and an online read against the local services.
func initPlanApply(t *testing.T, template, planWants string) {
	dir := filepath.Join(t.TempDir(), testenv.UniqueName("init_"+template))
	mustRun(t, "init", "-t", template, dir)
	data, err := os.ReadFile(filepath.Join(dir, "feature_store.yaml"))
	if err != nil || !strings.Contains(string(data), "type: "+template) || !strings.Contains(string(data), `:"127.0.0.1`) {
		t.Fatalf("feature_store.yaml of -t %s: %v\n%s", template, err, data)
	}
	t.Cleanup(func() { run(t, "-c", dir, "teardown") })
	plan := mustRun(t, "-c", dir, "plan")
	if !strings.Contains(plan, "Created feature view driver_hourly_stats") || !strings.Contains(plan, planWants) {
		t.Errorf("plan:\n%s", plan)
	}
	mustRun(t, "-c", dir, "apply")
	if again := mustRun(t, "-c", dir, "plan"); !strings.HasPrefix(again, "No changes to registry\n") {
		t.Errorf("plan after apply:\n%s", again)
	}
	project := filepath.Base(dir)
	if out := mustRun(t, "-c", dir, "projects", "list"); !strings.Contains(out, "\n"+project+" ") {
		t.Errorf("projects list lacks %s:\n%s", project, out)
	}
	if _, errOut, err := run(t, "-c", dir, "materialize-incremental", "now"); err != nil {
		t.Fatalf("materialize: %v\n%s", err, errOut)
	}
	out := mustRun(t, "-c", dir, "get-online-features", "-e", "driver_id=1001", "-f", "driver_hourly_stats:conv_rate")
	if strings.Contains(out, "null") || !strings.Contains(out, `"conv_rate": [`) {
		t.Errorf("online read:\n%s", out)
	}
}
