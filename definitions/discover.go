package definitions

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/feastgo/feast/config"
)

// findFiles lists the YAML definition files under repoPath (relative,
// slash-separated, sorted), without feature_store.yaml.
func findFiles(repoPath string) ([]string, error) {
	return walkRepo(repoPath, nil, func(p string, d fs.DirEntry) (bool, error) {
		ext := strings.ToLower(filepath.Ext(p))
		return (ext == ".yaml" || ext == ".yml") && d.Name() != config.FileName, nil
	})
}

// feastImport matches a line that imports Python Feast.
var feastImport = regexp.MustCompile(`(?m)^[ \t]*(import[ \t]+feast\b|from[ \t]+feast[ \t.])`)

// PythonFiles returns the *.py files under repoPath that import feast (a
// line "import feast..." or "from feast..."), relative and sorted: Python
// Feast definitions, which this implementation does not read. It skips
// hidden directories, data/, node_modules, __pycache__, virtual
// environments (venv, site-packages, any directory holding
// pyvenv.cfg) and paths matched by .feastignore.
func PythonFiles(repoPath string) ([]string, error) {
	skipDir := func(p, name string) bool {
		if name == "__pycache__" || name == "venv" || name == "site-packages" {
			return true
		}
		_, err := os.Stat(filepath.Join(p, "pyvenv.cfg"))
		return err == nil
	}
	return walkRepo(repoPath, skipDir, func(p string, d fs.DirEntry) (bool, error) {
		if strings.ToLower(filepath.Ext(p)) != ".py" || !d.Type().IsRegular() {
			return false, nil
		}
		f, err := os.Open(p)
		if err != nil {
			return false, fmt.Errorf("read definitions: %w", err)
		}
		defer f.Close()
		head, err := io.ReadAll(io.LimitReader(f, 1<<20))
		if err != nil {
			return false, fmt.Errorf("read definitions: %w", err)
		}
		return feastImport.Match(head), nil
	})
}

// walkRepo lists the files under repoPath (relative, slash-separated,
// sorted) that keep accepts. It skips hidden directories, a top-level
// data/, node_modules, the directories skipDir (if not nil) names, and the
// paths .feastignore matches.
func walkRepo(repoPath string, skipDir func(p, name string) bool, keep func(p string, d fs.DirEntry) (bool, error)) ([]string, error) {
	ignores := readFeastIgnore(repoPath)
	var files []string
	err := filepath.WalkDir(repoPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoPath, p)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") || name == "data" && filepath.Dir(rel) == "." || name == "node_modules" ||
				ignored(rel, ignores) || skipDir != nil && skipDir(p, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if ignored(rel, ignores) {
			return nil
		}
		ok, err := keep(p, d)
		if ok {
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	sort.Strings(files)
	return files, err
}

func readFeastIgnore(repoPath string) []string {
	f, err := os.Open(filepath.Join(repoPath, ".feastignore"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var pats []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			pats = append(pats, strings.TrimSuffix(strings.TrimPrefix(line, "/"), "/"))
		}
	}
	return pats
}

func ignored(rel string, pats []string) bool {
	rel = filepath.ToSlash(rel)
	for _, p := range pats {
		if ok, _ := filepath.Match(p, rel); ok {
			return true
		}
		if ok, _ := filepath.Match(p, filepath.Base(rel)); ok {
			return true
		}
		if strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// DefinitionFiles lists the definition files Load would read in dir
// (relative, slash-separated): what an import next to them would collide
// with.
func DefinitionFiles(dir string) ([]string, error) {
	return findFiles(dir)
}
