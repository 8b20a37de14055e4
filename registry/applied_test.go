package registry_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

var update = flag.Bool("update", false, "rewrite registry/testdata/applied/*.db from the fixture repositories")

// appliedFixtures maps each golden registry in testdata/applied to the
// repository applied to make it: the example repositories and every
// fixture repository the replan and diff tests use.
func appliedFixtures(tb testing.TB) map[string]string {
	repos := map[string]string{
		"driver_ranking":   filepath.Join("..", "examples", "driver_ranking"),
		"environments":     filepath.Join("..", "examples", "environments"),
		"definitions_good": filepath.Join("..", "definitions", "testdata", "good"),
	}
	more, err := filepath.Glob(filepath.Join("..", "testdata", "repos", "*"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, dir := range more {
		repos[filepath.Base(dir)] = dir
	}
	return repos
}

// TestAppliedRegistryGoldens keeps testdata/applied/*.db (the seeds of
// FuzzRegistryToModel) what the file store writes when each fixture
// repository is applied to an empty registry under project "p": each
// golden loads, passes CheckIntegrity and plans with no changes against
// its repository. Rewrite them with
//
//	go test -tags duckdb_arrow ./registry/ -run TestAppliedRegistryGoldens -update
func TestAppliedRegistryGoldens(t *testing.T) {
	ctx := context.Background()
	fixtures := appliedFixtures(t)
	for name, dir := range fixtures {
		t.Run(name, func(t *testing.T) {
			repo, err := definitions.Load(dir, definitions.Options{})
			if err != nil {
				t.Fatalf("load %s: %v", dir, err)
			}
			golden := filepath.Join("testdata", "applied", name+".db")
			if *update {
				writeApplied(t, golden, repo)
			}
			if _, err := os.Stat(golden); err != nil {
				t.Fatalf("%v: run the command in TestAppliedRegistryGoldens's comment to write it", err)
			}
			store, err := registry.OpenFile(ctx, golden)
			if err != nil {
				t.Fatal(err)
			}
			r, err := store.Load(ctx, "p")
			if err != nil {
				t.Fatal(err)
			}
			if err := registry.CheckIntegrity(r, "p"); err != nil {
				t.Fatalf("%s: %v", golden, err)
			}
			if p := diff.Compute(r, "p", diff.Desired(repo, "p")); p.HasChanges() {
				t.Fatalf("%s is stale against %s (%d objects differ): rewrite it with the command in TestAppliedRegistryGoldens's comment", golden, dir, len(p.Objects))
			}
		})
	}
	files, err := filepath.Glob(filepath.Join("testdata", "applied", "*.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := fixtures[strings.TrimSuffix(filepath.Base(f), ".db")]; !ok {
			t.Errorf("%s has no fixture repository: delete it or add its repository to appliedFixtures", f)
		}
	}
}

// writeApplied applies repo to an empty file registry, as feast apply's
// first run does (objects, then the project), and copies the file to path.
func writeApplied(t *testing.T, path string, repo *definitions.Repo) {
	ctx := context.Background()
	tmp := filepath.Join(t.TempDir(), "registry.db")
	store, err := registry.OpenFile(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	err = store.Update(ctx, "p", func(r *core.Registry) error {
		for _, o := range diff.Desired(repo, "p") {
			registry.Put(r, o)
		}
		registry.EnsureProject(r, "p", "", "00000000-0000-4000-8000-000000000000", time.Unix(1700000000, 0))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
