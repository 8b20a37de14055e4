package feast

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline/objstore"
)

// CheckSourcePaths checks that every file source with a local path (a file,
// a glob or a folder) exists, relative paths resolving against the
// repository as the offline store resolves them, and that every file source
// in object storage (s3://, gs://, azblob://) lists at least one object of
// its format, with the offline store's endpoint settings and the cloud's
// credentials (it reads no object). Without it a wrong path passes plan and
// apply and fails only at materialize. Problems name the definitions file,
// line, source and field (data_sources[i].path) with a hint.
func (fs *FeatureStore) CheckSourcePaths(ctx context.Context, repo *definitions.Repo) error {
	err := CheckSourcePaths(fs.cfg.RepoPath, repo)
	var problems definitions.Problems
	if err != nil && !errors.As(err, &problems) {
		return err
	}
	problems = append(problems, fs.checkRemoteSources(ctx, repo)...)
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// remoteCheckTimeout bounds the object-store listing of feast plan.
const remoteCheckTimeout = 30 * time.Second

// checkRemoteSources lists each object-store file source (objstore.Check).
func (fs *FeatureStore) checkRemoteSources(ctx context.Context, repo *definitions.Repo) definitions.Problems {
	var remote []*model.DataSource
	for _, src := range repo.DataSources {
		if src.Kind == model.SourceFile && objstore.IsRemote(src.Path) {
			remote = append(remote, src)
		}
	}
	if len(remote) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "feast-plan-objects")
	if err != nil {
		return definitions.Problems{{File: "(definitions)", Msg: err.Error()}}
	}
	defer os.RemoveAll(dir)
	store, err := objstore.New(objstore.Options{Dir: dir, S3Endpoint: fs.cfg.OfflineStore.S3EndpointOverride})
	if err != nil {
		return definitions.Problems{{File: "(definitions)", Msg: err.Error()}}
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(ctx, remoteCheckTimeout)
	defer cancel()
	pos := sourcePositions(fs.cfg.RepoPath, repo.Files)
	var problems definitions.Problems
	for _, src := range remote {
		err := store.Check(ctx, objstore.Request{Source: src.Name, Path: src.Path, Format: strings.ToLower(src.FileFormat), S3Endpoint: src.S3EndpointOverride})
		if err == nil {
			continue
		}
		p, ok := pos[src.Name]
		if !ok {
			p = sourcePos{file: "(definitions)", field: "path"}
		}
		problems = append(problems, definitions.Problem{
			File: p.file, Line: p.line, Object: fmt.Sprintf("data source %q", src.Name), Field: p.field,
			Msg: err.Error() + "; fix the path or the credentials, or create the data before applying " +
				"(feast plan/apply --skip-source-validation skips this check, for example where CI has no access to the bucket)",
		})
	}
	return problems
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
