package definitions

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/model"
)

func TestGoodDefinitions(t *testing.T) {
	repo, err := Load("testdata/good", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Entities) != 2 || len(repo.DataSources) != 4 || len(repo.FeatureViews) != 3 || len(repo.OnDemandViews) != 1 || len(repo.FeatureServices) != 1 {
		t.Fatalf("unexpected counts: %d %d %d %d %d", len(repo.Entities), len(repo.DataSources), len(repo.FeatureViews), len(repo.OnDemandViews), len(repo.FeatureServices))
	}
	fv := repo.FeatureViews[0]
	if fv.Name != "driver_hourly_stats" || fv.TTL != 24*time.Hour || !fv.Online {
		t.Errorf("fv = %+v", fv)
	}
	if len(fv.EntityColumns) != 1 || fv.EntityColumns[0].Name != "driver_id" || fv.EntityColumns[0].Type != model.Int64 {
		t.Errorf("entity columns = %+v", fv.EntityColumns)
	}
	if len(fv.Features) != 3 || fv.Features[0].Name != "conv_rate" || fv.Features[0].Type != model.Float {
		t.Errorf("features (join key must be excluded) = %+v", fv.Features)
	}
	if fv.StreamSource == nil || fv.StreamSource.Kind != model.SourcePush || fv.Source == nil || fv.Source.Name != "driver_stats_source" {
		t.Errorf("push-fed view must read history from the batch source: %+v / %+v", fv.Source, fv.StreamSource)
	}
	cp := repo.FeatureViews[1]
	if cp.Online || cp.TTL != 14*24*time.Hour || cp.Features[1].Type != model.StringList {
		t.Errorf("customer_profile = %+v", cp)
	}
	g := repo.FeatureViews[2]
	if len(g.Entities) != 1 || g.Entities[0] != model.DummyEntityName {
		t.Errorf("entity-less view entities = %v", g.Entities)
	}
	svc := repo.FeatureServices[0]
	if len(svc.Projections) != 3 || len(svc.Projections[0].Features) != 3 || svc.Projections[2].Alias != "cp" || svc.Projections[2].JoinKeyMap["customer_id"] != "rider_id" {
		t.Errorf("service = %+v", svc)
	}
	o := repo.OnDemandViews[0]
	if len(o.Sources) != 2 || o.Sources[1].Request == nil || o.Features[0].Expression == "" {
		t.Errorf("odfv = %+v", o)
	}
}

func TestBadDefinitions(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) < 5 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, _ := os.ReadFile(f)
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			_, lerr := ParseFiles(map[string]string{"bad/" + filepath.Base(f): string(data)}, Options{})
			var ps Problems
			if !errors.As(lerr, &ps) {
				t.Fatalf("expected Problems, got %v", lerr)
			}
			for _, frag := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(lerr.Error(), frag) {
					t.Errorf("error\n%s\ndoes not contain\n%s", lerr, frag)
				}
			}
		})
	}
}

func TestEveryProblemReportedAtOnce(t *testing.T) {
	_, err := ParseFiles(map[string]string{
		"a.yaml": "entities:\n  - {name: e, value_type: FLOAT}\n",
		"b.yaml": "feature_views:\n  - {name: fv, ttl: bad, source: nope, schema: [{name: x, dtype: Nope}]}\n",
	}, Options{})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) < 4 {
		t.Fatalf("want >=4 problems, got %v", err)
	}
}

func TestODFVChecker(t *testing.T) {
	data, _ := os.ReadFile("testdata/good/features.yaml")
	var gotInputs []model.Field
	_, err := ParseFiles(map[string]string{"f.yaml": string(data)}, Options{CheckODFV: func(o *model.OnDemandFeatureView, in []model.Field) error {
		gotInputs = in
		return errors.New("expression does not type-check")
	}})
	if err == nil || !strings.Contains(err.Error(), `on demand feature view "transformed_conv_rate": schema: expression does not type-check`) {
		t.Fatalf("err = %v", err)
	}
	names := []string{}
	for _, f := range gotInputs {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate,driver_hourly_stats:avg_daily_trips,val_to_add" {
		t.Errorf("inputs = %v", names)
	}
}

func TestNonDefinitionYAMLIsSkipped(t *testing.T) {
	repo, err := ParseFiles(map[string]string{".github.yaml": "on: [push]\njobs: {}\n"}, Options{})
	if err != nil || len(repo.Files) != 0 {
		t.Fatalf("repo=%v err=%v", repo, err)
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]time.Duration{"0s": 0, "0": 0, "36h": 36 * time.Hour, "2d": 48 * time.Hour, "1w": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90": 90 * time.Second, "1.5d": 36 * time.Hour}
	for in, want := range cases {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1x", "-1d", "d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) should fail", bad)
		}
	}
	for d, want := range map[time.Duration]string{0: "0s", 24 * time.Hour: "1d", 14 * 24 * time.Hour: "2w", 36 * time.Hour: "36h", 90 * time.Minute: "1h30m"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestPythonFiles finds the .py files importing feast, skipping virtual
// environments, caches, hidden directories, data/ and .feastignore, and
// Load reports them without reading them.
func TestPythonFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"example_repo.py":         "# Feast definitions\nfrom feast import Entity\n",
		"pkg/views.py":            "import os\nimport feast.types\n",
		"pkg/indented.py":         "try:\n    from feast.types import Int64\nexcept ImportError:\n    pass\n",
		"plain.py":                "import os\n# from feast import Entity is only a comment here\nx = 'import feast'\n",
		"feastish.py":             "import feastish\nfrom feast_utils import x\n",
		"venv/lib/site.py":        "import feast\n",
		"env2/pyvenv.cfg":         "home = /usr/bin\n",
		"env2/lib/a.py":           "import feast\n",
		"__pycache__/x.py":        "import feast\n",
		".hidden/x.py":            "import feast\n",
		"data/x.py":               "import feast\n",
		"ignored/x.py":            "import feast\n",
		".feastignore":            "ignored/\n",
		"features.yaml":           "entities:\n  - {name: driver, join_keys: [driver_id], value_type: INT64}\n",
		"example_repo.pyc":        "import feast\n",
		"lib/site-packages/f.py":  "import feast\n",
		"notebooks/explore.ipynb": "import feast\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"example_repo.py", "pkg/indented.py", "pkg/views.py"}
	if !slices.Equal(repo.PythonFiles, want) {
		t.Errorf("PythonFiles = %q, want %q", repo.PythonFiles, want)
	}
	if repo.Empty() || len(repo.Entities) != 1 {
		t.Errorf("the YAML definitions were not read: %+v", repo)
	}
	if empty, err := Load(t.TempDir(), Options{}); err != nil || !empty.Empty() || empty.PythonFiles != nil {
		t.Errorf("empty repository: %+v, %v", empty, err)
	}
}
