package config

import (
	"bytes"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse parses arbitrary feature_store.yaml bytes under a fake
// environment: env holds NAME=value lines, and only the names it lists are
// set (an empty value counts as set, so ${NAME:"default"} falls back to the
// default). Any input is refused with an error or parsed, never a panic.
// The seeds are every feature_store.yaml of the repository (examples,
// config/testdata, the feast init templates), each with no environment,
// with every variable it names set, and with every other one set empty.
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 20s ./config/
func FuzzParse(f *testing.F) {
	for _, c := range configCorpus(f) {
		names := envNames(c.data)
		f.Add(c.data, "")
		f.Add(c.data, fakeEnv(names, 1))
		f.Add(c.data, fakeEnv(names, 2))
	}
	f.Add([]byte("project: ${X:\"d\"}\n"), "X=")
	f.Add([]byte("project: ${X}${Y:'y'}\nregistry: {path: ${R}, cache_ttl_seconds: ${T}}\n"), "X=p\nR=r.db\nT=1e3")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		vars := map[string]string{}
		for _, line := range strings.Split(env, "\n") {
			if name, value, ok := strings.Cut(line, "="); ok {
				vars[name] = value
			}
		}
		lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
		_, _ = Parse("fuzz.yaml", "/r", data, lookup)
	})
}

type configFile struct {
	name string
	data []byte
}

// configCorpus returns every feature_store.yaml of the repository: the
// examples' files, config/testdata, and the templates feast init writes
// (read from cmd/feast/init.go, which this package cannot import), with
// {{PROJECT}} filled in as feast init does.
func configCorpus(tb testing.TB) []configFile {
	var files []configFile
	add := func(path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, configFile{path, bytes.ReplaceAll(data, []byte("{{PROJECT}}"), []byte("demo"))})
	}
	err := filepath.WalkDir(filepath.Join("..", "examples"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "feature_store.yaml" {
			add(path)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	testdata, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, path := range testdata {
		add(path)
	}
	files = append(files, initTemplates(tb)...)
	if len(files) < 5 {
		tb.Fatalf("found only %d feature_store.yaml files: were examples/, config/testdata or cmd/feast/init.go moved?", len(files))
	}
	return files
}

// initTemplates reads the feature_store.yaml templates of feast init -t
// from the initTemplates map literal in cmd/feast/init.go.
func initTemplates(tb testing.TB) []configFile {
	path := filepath.Join("..", "cmd", "feast", "init.go")
	file, err := goparser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	var out []configFile
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "initTemplates" || len(spec.Values) != 1 {
			return true
		}
		lit, ok := spec.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			name, _ := kv.Key.(*ast.BasicLit)
			value, _ := kv.Value.(*ast.BasicLit)
			if name == nil || value == nil {
				continue
			}
			text, err := strconv.Unquote(value.Value)
			if err != nil {
				tb.Fatalf("%s: template %s: %v", path, name.Value, err)
			}
			if text != "" {
				out = append(out, configFile{path + " " + name.Value, []byte(strings.ReplaceAll(text, "{{PROJECT}}", "demo"))})
			}
		}
		return false
	})
	if len(out) == 0 {
		tb.Fatalf("%s: no initTemplates map literal with templates found; update initTemplates in config/fuzz_test.go", path)
	}
	return out
}

// envNames lists the variables data names as ${NAME} or ${NAME:...}.
func envNames(data []byte) []string {
	var names []string
	for _, m := range envPattern.FindAllSubmatch(data, -1) {
		names = append(names, string(m[1]))
	}
	return names
}

// fakeEnv writes an environment for names: with every 1, each name set to
// a value of its own; with every 2, every other name set, to the empty
// string.
func fakeEnv(names []string, every int) string {
	var b strings.Builder
	for i, name := range names {
		switch {
		case every == 1:
			b.WriteString(name + "=" + strings.ToLower(name) + "_value\n")
		case i%every == 0:
			b.WriteString(name + "=\n")
		}
	}
	return b.String()
}

// TestConfigCorpusParses checks the fuzz seeds are what they claim: every
// good file and template parses with its defaults, and with every
// variable set only values (not the defaults) reach the configuration.
func TestConfigCorpusParses(t *testing.T) {
	for _, c := range configCorpus(t) {
		if strings.Contains(c.name, string(filepath.Separator)+"bad"+string(filepath.Separator)) {
			continue
		}
		if _, err := Parse(c.name, "/r", c.data, noEnv); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		set, err := Substitute(string(c.data), func(name string) (string, bool) { return strings.ToLower(name) + "_value", true })
		if err != nil || envPattern.MatchString(set) {
			t.Errorf("%s: substituted with every variable set: %q, %v", c.name, set, err)
		}
	}
}
