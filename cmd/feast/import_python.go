package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/definitions"
)

// runPythonImport converts Feast Python definition files (read
// statically, never run) to YAML definitions.
func runPythonImport(g *globals, o importOptions, args []string) error {
	layout := definitions.Layout(o.layout)
	if layout != definitions.LayoutKind && layout != definitions.LayoutObject {
		return fmt.Errorf("--layout %q: use kind or object", o.layout)
	}
	if o.registry != "" || o.registryType != "" {
		return fmt.Errorf("--registry and --registry-type select a registry to import; they do not go with Python files (%s)", strings.Join(args, ", "))
	}
	srcs, err := readPythonArgs(args)
	if err != nil {
		return err
	}
	project, out := o.project, o.out
	if cfg, err := config.Load(config.Options{RepoPath: g.chdir, ConfigPath: g.yamlPath}); err == nil {
		if project == "" {
			project = cfg.Project
		}
		if out == "" {
			out = cfg.RepoPath
		}
		for _, w := range cfg.Warnings {
			fmt.Fprintln(g.stderr, "warning:", w)
		}
	}
	if out == "" {
		out = g.chdir
	}
	if out == "" {
		out = "."
	}
	imp := definitions.FromPython(srcs, project)
	if imp.Written() == 0 {
		printGaps(g.stderr, imp.Gaps())
		return fmt.Errorf("no Feast definitions could be read from %s", strings.Join(imp.Sources, ", "))
	}
	names, err := writeImported(g, out, imp.Files(layout), o.force)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Imported %d object(s) from %d Python file(s) into %s:\n", imp.Written(), len(srcs), out)
	for _, n := range names {
		fmt.Fprintf(g.stdout, "  %s\n", n)
	}
	printGaps(g.stderr, imp.Gaps())
	return nil
}

// readPythonArgs reads the named files, and for a directory the *.py files
// under it that import feast (as `feast plan` finds them).
func readPythonArgs(args []string) ([]definitions.PythonSource, error) {
	var srcs []definitions.PythonSource
	seen := map[string]bool{}
	add := func(p string) error {
		if seen[p] {
			return nil
		}
		seen[p] = true
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read Python definitions: %w", err)
		}
		srcs = append(srcs, definitions.PythonSource{Path: filepath.ToSlash(p), Data: data})
		return nil
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("read Python definitions: %w", err)
		}
		if !st.IsDir() {
			if err := add(filepath.Clean(a)); err != nil {
				return nil, err
			}
			continue
		}
		files, err := definitions.PythonFiles(a)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s holds no Python files that import feast", a)
		}
		for _, f := range files {
			if err := add(filepath.Join(a, filepath.FromSlash(f))); err != nil {
				return nil, err
			}
		}
	}
	return srcs, nil
}
