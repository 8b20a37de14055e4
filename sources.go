package feast

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/model"
)

// CheckSourcePaths checks that every file source with a local path (a file,
// a glob or a folder; remote URLs such as s3:// are not checked) exists,
// relative paths resolving against the repository as the offline store
// resolves them. Without it a wrong path passes plan and apply and fails
// only at materialize. Problems name the definitions file, line, source and
// field (data_sources[i].path) with a hint.
func (fs *FeatureStore) CheckSourcePaths(repo *definitions.Repo) error {
	return CheckSourcePaths(fs.cfg.RepoPath, repo)
}

// CheckSourcePaths is FeatureStore.CheckSourcePaths for a repository path.
func CheckSourcePaths(repoPath string, repo *definitions.Repo) error {
	var pos map[string]sourcePos
	var problems definitions.Problems
	for _, src := range repo.DataSources {
		if src.Kind != model.SourceFile || src.Path == "" || strings.Contains(src.Path, "://") {
			continue
		}
		msg := missingSourcePath(repoPath, src.Path)
		if msg == "" {
			continue
		}
		if pos == nil {
			pos = sourcePositions(repoPath, repo.Files)
		}
		p, ok := pos[src.Name]
		if !ok {
			p = sourcePos{file: "(definitions)", field: "path"}
		}
		problems = append(problems, definitions.Problem{
			File: p.file, Line: p.line, Object: fmt.Sprintf("data source %q", src.Name), Field: p.field,
			Msg: msg + "; fix the path (a relative path is relative to the repository), or create the data before applying " +
				"(feast plan/apply --skip-source-validation skips this check)",
		})
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// missingSourcePath says what is missing for a local source path, or "".
func missingSourcePath(repoPath, path string) string {
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(repoPath, path)
	}
	i := strings.IndexAny(abs, "*?[")
	if i < 0 {
		if _, err := os.Stat(abs); err != nil {
			return fmt.Sprintf("%s does not exist (looked for %s)", path, abs)
		}
		return ""
	}
	// A glob: its folder (up to the first wildcard) must exist, and a
	// pattern without ** must match a file.
	dir := filepath.Dir(abs[:i])
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Sprintf("the folder %s of the glob %s does not exist", dir, path)
	}
	if !strings.Contains(abs, "**") {
		if m, err := filepath.Glob(abs); err == nil && len(m) == 0 {
			return fmt.Sprintf("the glob %s matches no file (looked in %s)", path, dir)
		}
	}
	return ""
}

type sourcePos struct {
	file, field string
	line        int
}

// sourcePositions finds each data source's path in the definitions files:
// file, line and field (data_sources[i].path).
func sourcePositions(repoPath string, files []string) map[string]sourcePos {
	out := map[string]sourcePos{}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(repoPath, rel))
		if err != nil {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		for {
			var doc yaml.Node
			if dec.Decode(&doc) != nil {
				break
			}
			if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
				continue
			}
			root := doc.Content[0]
			for k := 0; k+1 < len(root.Content); k += 2 {
				if root.Content[k].Value != "data_sources" || root.Content[k+1].Kind != yaml.SequenceNode {
					continue
				}
				for i, item := range root.Content[k+1].Content {
					if item.Kind != yaml.MappingNode {
						continue
					}
					var name string
					line := item.Line
					for j := 0; j+1 < len(item.Content); j += 2 {
						switch item.Content[j].Value {
						case "name":
							name = item.Content[j+1].Value
						case "path":
							line = item.Content[j+1].Line
						}
					}
					if _, dup := out[name]; name != "" && !dup {
						out[name] = sourcePos{file: rel, line: line, field: fmt.Sprintf("data_sources[%d].path", i)}
					}
				}
			}
		}
	}
	return out
}
