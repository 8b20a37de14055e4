package feast_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/diff"
)

// fixtureRepos are the feature repositories the project's tests and
// examples use, plus every repository under testdata/repos.
func fixtureRepos(t *testing.T) []string {
	t.Helper()
	repos := []string{
		filepath.Join("examples", "driver_ranking"), // what `feast init` writes
		filepath.Join("definitions", "testdata", "good"),
	}
	more, err := filepath.Glob(filepath.Join("testdata", "repos", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return append(repos, more...)
}

// registryConfigs are the registry kinds a repository is applied to.
var registryConfigs = []struct{ kind, yaml string }{
	{"file", "registry: data/registry.db\n"},
	{"sql", "registry:\n  registry_type: sql\n  path: sqlite:///data/registry.db\n"},
}

// TestFixtureReposReplanWithoutChanges applies every fixture repository to
// a fresh registry with the library's apply path and plans it again: the
// second plan must have no changes (and must not panic on any field kind,
// such as a PostgreSQL source's bytes options).
func TestFixtureReposReplanWithoutChanges(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, src := range fixtureRepos(t) {
		for _, reg := range registryConfigs {
			t.Run(filepath.Base(src)+"/"+reg.kind, func(t *testing.T) {
				dir := copyDefinitions(t, src)
				cfg := "project: fixture\nprovider: local\n" + reg.yaml +
					"online_store:\n  type: sqlite\n  path: data/online.db\noffline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
				if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(cfg), 0o644); err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				store, err := feast.Open(ctx, feast.Options{RepoPath: dir, Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				first, err := store.Plan(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !first.HasChanges() {
					t.Fatal("first plan of a fresh registry has no changes")
				}
				if err := store.Apply(ctx, first); err != nil {
					t.Fatal(err)
				}
				// Plan through a newly opened store too, so the objects
				// compared have been through the registry's encoding.
				for _, s := range []*feast.FeatureStore{store, reopen(t, dir, now)} {
					again, err := s.Plan(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if again.HasChanges() {
						t.Errorf("second plan has changes:\n%s", describe(again))
					}
				}
			})
		}
	}
}

// reopen opens the repository in dir again.
func reopen(t *testing.T, dir string, now time.Time) *feast.FeatureStore {
	t.Helper()
	s, err := feast.Open(context.Background(), feast.Options{RepoPath: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// copyDefinitions copies src's definition files (everything but
// feature_store.yaml and data/) into a fresh directory and fills the
// {{PROJECT}} placeholder of templates.
func copyDefinitions(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == "data" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if rel == "feature_store.yaml" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data = []byte(strings.ReplaceAll(string(data), "{{PROJECT}}", "fixture"))
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// describe renders a plan's changes for a failure message.
func describe(p *feast.Plan) string {
	var b strings.Builder
	for _, o := range p.Objects {
		if o.Action == diff.Unchanged {
			continue
		}
		b.WriteString(string(o.Action) + " " + string(o.Kind) + " " + o.Name + "\n")
		for _, prop := range o.Properties {
			b.WriteString("\t" + prop.Path + ": " + prop.Old + " -> " + prop.New + "\n")
		}
	}
	for _, d := range p.Infra {
		b.WriteString(string(d.Action) + " " + d.Name + "\n")
	}
	return b.String()
}
