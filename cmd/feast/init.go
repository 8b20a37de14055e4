package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/feastgo/feast/examples"
)

func newInitCmd(g *globals) *cobra.Command {
	var template string
	cmd := &cobra.Command{
		Use:   "init [PROJECT_DIRECTORY]",
		Short: "Create a demo feature repository with generated data",
		Long: `Creates PROJECT_DIRECTORY (default my_project) with feature_store.yaml, feature
definitions (features.yaml), a week of generated hourly driver statistics in
data/driver_stats/part-00000.parquet and sample entity rows in data/driver_entities.csv.

Templates (-t) choose the stores feature_store.yaml names:
  local     embedded only, no servers: a file registry, DuckDB over the Parquet
            files and a SQLite online store (the default)
  postgres  a SQL registry and the online store in PostgreSQL; training data from
            the Parquet files through DuckDB
  redis     a file registry, a Redis online store; training data from the Parquet
            files through DuckDB
Connection settings are ${VAR:"default"} values pointing at 127.0.0.1 (PostgreSQL:
PGHOST, PGPORT, PGDATABASE=test, PGUSER=postgres, PGPASSWORD, FEAST_REGISTRY_URL;
Redis: REDIS_CONNECTION_STRING), so the same file works against other servers by
exporting variables.

  feast init my_project
  cd my_project
  feast apply
  feast materialize-incremental now
  feast serve

  feast init -t redis my_redis_project`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			storeYAML, ok := initTemplates[strings.ToLower(template)]
			if !ok {
				return fmt.Errorf("template %q is not available (available: %s)", template, strings.Join(initTemplateNames(), ", "))
			}
			dir := "my_project"
			if len(args) == 1 {
				dir = args[0]
			}
			if g.chdir != "" && !filepath.IsAbs(dir) {
				dir = filepath.Join(g.chdir, dir)
			}
			project := sanitizeProject(filepath.Base(filepath.Clean(dir)))
			if err := examples.WriteRepo(dir, project, time.Now().UTC()); err != nil {
				return err
			}
			if storeYAML != "" {
				data := strings.ReplaceAll(storeYAML, "{{PROJECT}}", project)
				if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(data), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(g.stdout, "Created a new feature repository %q in %s.\n\nNext:\n  cd %s\n  feast apply\n  feast materialize-incremental now\n  feast serve\n", project, dir, dir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&template, "template", "t", "local", "repository template: "+strings.Join(initTemplateNames(), ", "))
	cmd.Flags().BoolP("minimal", "m", false, "accepted for Feast compatibility")
	return cmd
}

// initTemplates maps a template name to the feature_store.yaml it writes
// over the demo repository's ("" keeps the embedded local one).
var initTemplates = map[string]string{
	"local": "",
	"postgres": `# Written by feast init -t postgres. The registry (a SQL registry) and the online
# store live in PostgreSQL; training data is read from the generated Parquet files
# with DuckDB. Every connection setting can be overridden by an environment
# variable; the defaults point at a local server with trust authentication.
project: {{PROJECT}}
provider: local
registry:
  registry_type: sql
  path: ${FEAST_REGISTRY_URL:"postgresql://postgres@127.0.0.1:5432/test?sslmode=disable"}
  cache_ttl_seconds: 60
online_store:
  type: postgres
  host: ${PGHOST:"127.0.0.1"}
  port: ${PGPORT:"5432"}
  database: ${PGDATABASE:"test"}
  db_schema: ${PGSCHEMA:"public"}
  user: ${PGUSER:"postgres"}
  password: ${PGPASSWORD:""}
offline_store:
  type: duckdb
entity_key_serialization_version: 3
`,
	"redis": `# Written by feast init -t redis. The online store is Redis; the registry is a
# file in data/ and training data is read from the generated Parquet files with
# DuckDB. REDIS_CONNECTION_STRING overrides the default local server
# (host:port[,password=...][,ssl=true]).
project: {{PROJECT}}
provider: local
registry: data/registry.db
online_store:
  type: redis
  connection_string: ${REDIS_CONNECTION_STRING:"127.0.0.1:6379"}
offline_store:
  type: duckdb
entity_key_serialization_version: 3
`,
}

func initTemplateNames() []string { return slices.Sorted(maps.Keys(initTemplates)) }

// sanitizeProject turns a directory name into a valid project name.
func sanitizeProject(s string) string {
	out := []rune{}
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			out = append(out, r)
		} else {
			out = append(out, '_')
		}
	}
	for len(out) > 0 && out[0] == '_' {
		out = out[1:]
	}
	if len(out) == 0 {
		return "my_project"
	}
	return string(out)
}
