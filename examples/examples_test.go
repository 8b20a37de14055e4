package examples_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/examples"
	"github.com/feastgo/feast/internal/testenv"
)

// runners run each example directory as its documentation says. A new
// example directory needs a runner here, so documented examples cannot
// drift from what works.
var runners = map[string]func(t *testing.T, dir string){
	"driver_ranking": runDriverRanking,
	"environments":   runEnvironments,
	"push":           buildMain,
	"train_serve":    buildMain,
}

func TestEveryExampleRuns(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		run, ok := runners[e.Name()]
		if !ok {
			t.Errorf("examples/%s has no runner in examples_test.go: add one that runs it as its documentation says", e.Name())
			continue
		}
		t.Run(e.Name(), func(t *testing.T) { run(t, e.Name()) })
	}
}

// planApply plans (with the source path check plan and apply run) and
// applies the repository, then plans again: no changes.
func planApply(t *testing.T, opts feast.Options) {
	t.Helper()
	ctx := context.Background()
	fs, err := feast.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if err := fs.CheckSourcePaths(context.Background(), p.Repo); err != nil {
		t.Fatalf("plan: %v", err)
	}
	if p.Repo.Empty() {
		t.Fatal("the example defines nothing")
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatalf("apply: %v", err)
	}
	again, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() {
		t.Error("plan after apply still has changes")
	}
}

// driver_ranking is what `feast init` writes (README quickstart).
func runDriverRanking(t *testing.T, _ string) {
	dir := filepath.Join(t.TempDir(), "demo")
	if err := examples.WriteRepo(dir, "demo", time.Now()); err != nil {
		t.Fatal(err)
	}
	planApply(t, feast.Options{RepoPath: dir})
}

// environments: a copy loads and applies with its local defaults, and its
// configuration loads with each .env file's variables.
func runEnvironments(t *testing.T, name string) {
	dir := filepath.Join(t.TempDir(), name)
	copyDir(t, name, dir)
	envFiles, _ := filepath.Glob(filepath.Join(name, "*.env"))
	if len(envFiles) == 0 {
		t.Fatal("no .env files")
	}
	for _, f := range envFiles {
		vars := readEnvFile(t, f)
		cfg, err := config.Load(config.Options{RepoPath: dir, LookupEnv: lookup(vars)})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if cfg.Registry.RegistryType != "sql" || cfg.Registry.Path != vars["REGISTRY_URL"] || cfg.OfflineStore.Postgres.Host != vars["PGHOST"] {
			t.Errorf("%s: the variables do not select the environment: registry %+v, offline host %q", f, cfg.Registry, cfg.OfflineStore.Postgres.Host)
		}
	}
	local := map[string]string{"REDIS_CONNECTION_STRING": testenv.RedisAddr(t), "FEAST_PROJECT": testenv.UniqueName("env_example")}
	planApply(t, feast.Options{RepoPath: dir, LookupEnv: lookup(local)})
	if _, err := os.Stat(filepath.Join(dir, "data", "registry.db")); err != nil {
		t.Errorf("the local SQLite registry: %v", err)
	}
}

// buildMain builds an example program as its doc comment runs it (go run
// -tags duckdb_arrow ./examples/NAME from a clone); its own tests run it.
func buildMain(t *testing.T, name string) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	out, err := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", filepath.Join(t.TempDir(), name), "./"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	src, err := os.ReadFile(filepath.Join(name, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "go run -tags duckdb_arrow ./examples/"+name) {
		t.Errorf("examples/%s/main.go does not document how to run it from a clone", name)
	}
}

func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// readEnvFile reads the `export NAME=value` lines of an .env file.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		vars[k] = os.Expand(v, func(n string) string { return vars[n] })
	}
	return vars
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
