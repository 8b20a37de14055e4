package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/internal/registrystore"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/core"
	"github.com/feastgo/feast/registry"
)

type importOptions struct {
	registry     string
	registryType string
	project      string
	out          string
	layout       string
	force        bool
}

func newImportCmd(g *globals) *cobra.Command {
	var o importOptions
	cmd := &cobra.Command{
		Use:   "import [flags] [FILE.py | DIR ...]",
		Short: "Write YAML definitions from the objects a registry holds (e.g. one Python Feast applied) or from Feast Python files",
		Long: `Reads a project's objects from a registry and writes them as YAML definitions, so
that "feast plan" right after, against the same registry, shows no changes.

By default the registry and project are those feature_store.yaml names and the
files are written into the repository; --registry and --project select another
registry (a file path, s3:// or gs:// URI, or a SQL URL: postgresql://, mysql://,
sqlite:///) and --out another directory.

--layout kind (default) writes one file per kind: entities.yaml, data_sources.yaml,
feature_views.yaml, on_demand_feature_views.yaml, feature_services.yaml,
permissions.yaml (Feast permissions: types, name patterns, required tags,
actions and policy, so that a registry shared with Python Feast keeps them).
--layout object writes one file per object: <kind>/<name>.yaml.

What cannot be carried over (on-demand views with Python UDFs, source types this
implementation does not read, fields YAML definitions cannot express) is listed on
stderr and in a comment at the top of the file that holds, or would hold, the
object, with a hint; for Python UDFs the hint shows the UDF source and a skeleton
to complete with CEL expressions.

With FILE.py arguments, or a DIR holding *.py files that import feast, the
Python definitions are read instead of a registry: statically, without running
them, so neither Python nor Feast needs to be installed. The files of one
command share their names (a view may use an entity another file defines). The
declarative style is read: module-level assignments of Entity, FileSource,
PostgreSQLSource, PushSource, KafkaSource, RequestSource, FeatureView (schema of
Field(name=..., dtype=...)), FeatureService (views, view[["feature"]],
.with_name(), .with_join_key_map()), timedelta(...), ValueType.X, Array(X), and
@on_demand_feature_view functions, which are listed with a CEL skeleton because
Python UDFs do not run here. Anything computed (calls to other functions,
comprehensions, f-strings, loops, names that are not defined in the files read)
is listed with its file and line. The project is the one feature_store.yaml
names (or --project).

Existing files are never overwritten unless --force is given.`,
		Example: `  feast import
  feast import --layout object --out imported/
  feast import --registry postgresql://feast@db/feast --project demo --out repo/
  feast import example_repo.py
  feast import --out yaml_repo/ feature_repo/`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return runPythonImport(g, o, args)
			}
			return runImport(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry to read (path or URL; default: the registry feature_store.yaml names)")
	f.StringVar(&o.registryType, "registry-type", "", "file or sql (default: sql for postgresql://, mysql:// and sqlite:// URLs, else file)")
	f.StringVar(&o.project, "project", "", "project to import (default: the project in feature_store.yaml)")
	f.StringVar(&o.out, "out", "", "directory to write the definitions into (default: the repository)")
	f.StringVar(&o.layout, "layout", string(definitions.LayoutKind), "kind (one file per kind) or object (one file per object)")
	f.BoolVar(&o.force, "force", false, "overwrite existing files")
	return cmd
}

func runImport(ctx context.Context, g *globals, o importOptions) error {
	layout := definitions.Layout(o.layout)
	if layout != definitions.LayoutKind && layout != definitions.LayoutObject {
		return fmt.Errorf("--layout %q: use kind or object", o.layout)
	}
	regCfg, repoPath, project, err := importSource(g, o)
	if err != nil {
		return err
	}
	store, err := registrystore.Open(ctx, regCfg, repoPath)
	if err != nil {
		return err
	}
	defer store.Close()
	reg, err := store.Load(ctx, project)
	if err != nil {
		return fmt.Errorf("load registry: %w", err)
	}
	if len(registry.Objects(reg, project)) == 0 {
		return fmt.Errorf("the registry holds no objects of project %q%s", project, otherProjects(reg, project))
	}
	exp, files, err := exportRegistry(reg, project, layout)
	if err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = repoPath
	}
	names, err := writeImported(g, out, files, o.force)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Imported %d object(s) of project %s into %s:\n", exp.Written(), project, out)
	for _, n := range names {
		fmt.Fprintf(g.stdout, "  %s\n", n)
	}
	printGaps(g.stderr, exp.Gaps())
	return nil
}

// writeImported writes the imported definition files into out, refusing
// to overwrite existing files unless force, and returns their names,
// sorted.
func writeImported(g *globals, out string, files map[string][]byte, force bool) ([]string, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if !force {
		var existing []string
		for _, n := range names {
			if _, err := os.Lstat(filepath.Join(out, filepath.FromSlash(n))); err == nil {
				existing = append(existing, n)
			}
		}
		if len(existing) > 0 {
			return nil, fmt.Errorf("refusing to overwrite %d existing file(s) in %s: %s (move them away, pick another --out, or pass --force)",
				len(existing), out, strings.Join(existing, ", "))
		}
	}
	if others, err := definitions.DefinitionFiles(out); err == nil {
		var clash []string
		for _, f := range others {
			if _, ours := files[f]; !ours {
				clash = append(clash, f)
			}
		}
		if len(clash) > 0 {
			fmt.Fprintf(g.stderr, "warning: %s already holds definition files (%s); objects defined twice will fail `feast plan`\n", out, strings.Join(clash, ", "))
		}
	}
	for _, n := range names {
		p := filepath.Join(out, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// importSource resolves the registry, the directory relative registry paths
// resolve against, and the project.
func importSource(g *globals, o importOptions) (config.RegistryConfig, string, string, error) {
	cfg, cfgErr := config.Load(config.Options{RepoPath: g.chdir, ConfigPath: g.yamlPath})
	repoPath, project := g.chdir, o.project
	var reg config.RegistryConfig
	if cfgErr == nil {
		repoPath, reg = cfg.RepoPath, cfg.Registry
		if project == "" {
			project = cfg.Project
		}
		for _, w := range cfg.Warnings {
			fmt.Fprintln(g.stderr, "warning:", w)
		}
	} else if o.registry == "" || o.project == "" {
		return reg, "", "", fmt.Errorf("%w (or give both --registry and --project)", cfgErr)
	}
	if repoPath == "" {
		repoPath = "."
	}
	if o.registry != "" {
		reg = config.RegistryConfig{Path: o.registry, RegistryType: o.registryType}
		if reg.RegistryType == "" {
			reg.RegistryType = "file"
			if scheme, _, ok := strings.Cut(o.registry, "://"); ok && (strings.HasPrefix(scheme, "postgres") || strings.HasPrefix(scheme, "mysql") ||
				strings.HasPrefix(scheme, "mariadb") || strings.HasPrefix(scheme, "sqlite")) {
				reg.RegistryType = "sql"
			}
		}
		// A relative path given on the command line is relative to the
		// working directory, not to the repository.
		if !strings.Contains(reg.Path, "://") {
			abs, err := filepath.Abs(reg.Path)
			if err != nil {
				return reg, "", "", err
			}
			reg.Path = abs
		} else if rest, ok := strings.CutPrefix(reg.Path, "sqlite:///"); ok && !filepath.IsAbs(rest) {
			abs, err := filepath.Abs(rest)
			if err != nil {
				return reg, "", "", err
			}
			reg.Path = "sqlite:///" + abs
		}
	}
	return reg, repoPath, project, nil
}

// otherProjects names the projects a registry does hold, for an error.
func otherProjects(reg *core.Registry, project string) string {
	seen := map[string]bool{}
	for _, p := range reg.GetProjects() {
		seen[p.GetSpec().GetName()] = true
	}
	for _, s := range reg.GetDataSources() {
		seen[s.GetProject()] = true
	}
	for _, e := range reg.GetEntities() {
		seen[e.GetSpec().GetProject()] = true
	}
	for _, fv := range reg.GetFeatureViews() {
		seen[fv.GetSpec().GetProject()] = true
	}
	for _, p := range reg.GetPermissions() {
		seen[p.GetSpec().GetProject()] = true
	}
	delete(seen, project)
	delete(seen, "")
	if len(seen) == 0 {
		return " (is the registry path right?)"
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return " (it holds: " + strings.Join(names, ", ") + "; pick one with --project)"
}

// exportRegistry converts project's objects to definition files and checks
// them the way `feast plan` will: the written files are loaded, converted
// back to registry objects and compared with the registry; every
// difference is recorded as a gap, as are fields of the registry objects
// this version does not know and objects the definitions do not manage.
func exportRegistry(reg *core.Registry, project string, layout definitions.Layout) (*definitions.Export, map[string][]byte, error) {
	exp := definitions.FromRegistry(reg, project)
	files := exp.Files(layout)
	in := make(map[string]string, len(files))
	for n, data := range files {
		in[n] = string(data)
	}
	repo, err := definitions.ParseFiles(in, definitions.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("the written definitions do not load (a bug in feast import; please report it): %w", err)
	}
	plan := diff.Compute(reg, project, diff.Desired(repo, project))
	listed := map[string]bool{}
	for _, g := range exp.Gaps() {
		if g.Dropped {
			listed[g.Kind+"/"+g.Name] = true
		}
	}
	created, deleted := map[string]registry.Kind{}, map[string]registry.Kind{}
	for _, od := range plan.Objects {
		switch od.Action {
		case diff.Create:
			created[definitionKind(od.Kind)+"/"+od.Name] = od.Kind
		case diff.Delete:
			deleted[definitionKind(od.Kind)+"/"+od.Name] = od.Kind
		}
	}
	for _, od := range plan.Objects {
		kind := definitionKind(od.Kind)
		if od.Action == diff.Create {
			if was, ok := deleted[kind+"/"+od.Name]; ok {
				exp.AddGap(definitions.Gap{Kind: kind, Name: od.Name,
					Reason: fmt.Sprintf("is a %s in the registry but its definition makes a %s", was, od.Kind),
					Hint:   "apply would replace it (kafka sources make stream feature views, every other source a feature view)"})
				continue
			}
		}
		if _, ok := created[kind+"/"+od.Name]; ok && od.Action == diff.Delete {
			continue
		}
		if od.Kind == registry.KindEntity && od.Name == model.DummyEntityName {
			continue
		}
		switch od.Action {
		case diff.Create:
			if od.Kind != registry.KindDataSource { // embedded sources are listed already
				exp.AddGap(definitions.Gap{Kind: kind, Name: od.Name, Reason: "is not in the registry as such", Hint: "apply will create it"})
			}
		case diff.Delete:
			if !listed[kind+"/"+od.Name] {
				exp.AddGap(definitions.Gap{Kind: kind, Name: od.Name, Dropped: true, Reason: "is not written", Hint: "apply would delete it; define it by hand"})
			}
		case diff.Update:
			var props []string
			for _, p := range od.Properties {
				if strings.Contains(p.Path, "tags["+definitions.ToolTagPrefix) {
					continue
				}
				props = append(props, fmt.Sprintf("%s: %s -> %s", p.Path, p.Old, p.New))
			}
			if len(props) > 0 {
				exp.AddGap(definitions.Gap{Kind: kind, Name: od.Name,
					Reason: "YAML definitions cannot express all of it; apply would change " + strings.Join(props, "; "),
					Hint:   updateHint(od.Properties)})
			}
		}
	}
	for _, o := range registry.Objects(reg, project) {
		if fields := unknownFields(o.Msg.ProtoReflect(), ""); len(fields) > 0 {
			exp.AddGap(definitions.Gap{Kind: definitionKind(o.Kind), Name: o.Name,
				Reason: "holds fields this version does not know (" + strings.Join(fields, ", ") + ")",
				Hint:   "they come from a newer Feast; apply keeps them while the object is unchanged, but an apply that changes the object rewrites it without them"})
		}
	}
	for _, g := range unmanaged(reg, project) {
		exp.AddGap(g)
	}
	return exp, exp.Files(layout), nil
}

// definitionKind is the kind as definitions name it (stream feature views
// are feature views fed by a kafka source).
func definitionKind(k registry.Kind) string {
	if k == registry.KindStreamView {
		return string(registry.KindFeatureView)
	}
	return string(k)
}

func updateHint(props []diff.Property) string {
	for _, p := range props {
		for _, f := range []string{"aggregations", "user_defined_function", "feature_transformation", "mode"} {
			if strings.HasPrefix(p.Path, f) {
				return "stream transformations (Python UDFs, aggregations) do not run here: compute the features upstream or in an on demand feature view"
			}
		}
	}
	return "check the written definition; apply would store it as written"
}

// unknownFields lists the unknown field numbers set anywhere in m.
func unknownFields(m protoreflect.Message, prefix string) []string {
	var out []string
	if raw := m.GetUnknown(); len(raw) > 0 {
		name := prefix
		if name == "" {
			name = "top level"
		}
		out = append(out, fmt.Sprintf("%d byte(s) at %s", len(raw), name))
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := string(fd.Name())
		if prefix != "" {
			path = prefix + "." + path
		}
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					out = append(out, unknownFields(mv.Message(), fmt.Sprintf("%s[%v]", path, k.Interface()))...)
					return true
				})
			}
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len(); i++ {
				out = append(out, unknownFields(v.List().Get(i).Message(), fmt.Sprintf("%s[%d]", path, i))...)
			}
		case !fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			out = append(out, unknownFields(v.Message(), path)...)
		}
		return true
	})
	return out
}

// unmanaged lists registry content of the project that definitions do not
// describe and apply leaves alone.
func unmanaged(reg *core.Registry, project string) []definitions.Gap {
	var out []definitions.Gap
	n := 0
	for _, s := range reg.GetSavedDatasets() {
		if s.GetSpec().GetProject() == project {
			n++
		}
	}
	if n > 0 {
		out = append(out, definitions.Gap{Name: fmt.Sprintf("%d saved dataset(s)", n), Reason: "are not definitions", Hint: "apply leaves them in the registry"})
	}
	n = 0
	for _, v := range reg.GetValidationReferences() {
		if v.GetProject() == project {
			n++
		}
	}
	if n > 0 {
		out = append(out, definitions.Gap{Name: fmt.Sprintf("%d validation reference(s)", n), Reason: "are not definitions", Hint: "apply leaves them in the registry"})
	}
	return out
}

// printGaps lists what was not carried over.
func printGaps(w io.Writer, gaps []definitions.Gap) {
	if len(gaps) == 0 {
		return
	}
	fmt.Fprintf(w, "Not carried over exactly (%d; also listed at the top of the written files):\n", len(gaps))
	for _, g := range gaps {
		state := "written with differences"
		if g.Dropped {
			state = "NOT WRITTEN"
		}
		fmt.Fprintf(w, "  - %s [%s]: %s\n", g.Label(), state, g.Reason)
		if g.Hint != "" {
			fmt.Fprintf(w, "      hint: %s\n", g.Hint)
		}
		if g.Detail != "" {
			for _, l := range strings.Split(strings.TrimRight(g.Detail, "\n"), "\n") {
				fmt.Fprintf(w, "        %s\n", l)
			}
		}
	}
}
