package definitions

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/transform"
)

// FuzzParseFiles feeds arbitrary YAML to the definitions loader: it must
// return a repository or problems, never panic, and every problem must name
// its file.
func FuzzParseFiles(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(string(data))
			}
		}
	}
	f.Add("entities:\n  - name: e\n    join_keys: [k]\nfeature_views:\n  - {name: v, entities: [e], ttl: 1d}\n")
	check := func(o *model.OnDemandFeatureView, in []model.Field) error {
		_, err := transform.Compile(o, in)
		return err
	}
	f.Fuzz(func(t *testing.T, yaml string) {
		_, err := ParseFiles(map[string]string{"features.yaml": yaml}, Options{CheckODFV: check})
		if ps, ok := err.(Problems); ok {
			for _, p := range ps {
				if p.File != "features.yaml" {
					t.Fatalf("problem without its file: %+v", p)
				}
			}
		}
	})
}
