package main

import (
	"fmt"
	"path/filepath"
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
data/driver_stats/part-00000.parquet and sample entity rows in data/driver_entities.csv. The
repository uses embedded stores only, so it works with no servers:

  feast init my_project
  cd my_project
  feast apply
  feast materialize-incremental now
  feast serve`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if template != "local" {
				return fmt.Errorf("template %q is not available (available: local)", template)
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
			fmt.Fprintf(g.stdout, "Created a new feature repository %q in %s.\n\nNext:\n  cd %s\n  feast apply\n  feast materialize-incremental now\n  feast serve\n", project, dir, dir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&template, "template", "t", "local", "repository template (local)")
	cmd.Flags().BoolP("minimal", "m", false, "accepted for Feast compatibility")
	return cmd
}

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
