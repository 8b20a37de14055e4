package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/cli"
)

// globals are the flags every subcommand shares, as in Feast's CLI.
type globals struct {
	chdir    string
	yamlPath string
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	// Progress lines (written by a ticker goroutine) and the log share
	// stderr: serialize their writes.
	stderr = cli.NewLockedWriter(stderr)
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "feast",
		Short: "A Go-native, Feast-compatible feature store",
		Long: `feast manages a feature repository: a directory with feature_store.yaml and YAML
definitions of entities, data sources, feature views, on-demand feature views and
feature services. It applies them to a registry compatible with Feast's, materializes
features into an online store, builds point-in-time correct training data and serves
features over HTTP and gRPC.

Start with:
  feast init my_repo && cd my_repo && feast apply`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Flags before the subcommand name belong to feast itself, as in
		// Feast's CLI: in "feast -f repo/feature_store.yaml
		// get-online-features -f view:feat" the first -f is the global
		// --feature-store-yaml and the second the command's --features.
		TraverseChildren: true,
		// With TraverseChildren cobra no longer rejects an unknown command
		// itself: the root does, as cobra would, and otherwise shows help.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
			}
			return errors.New(msg)
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setupLogging()
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.chdir, "chdir", "c", os.Getenv("FEATURE_REPO_DIR"), "run as if started in this feature repository directory")
	pf.StringVarP(&g.yamlPath, "feature-store-yaml", "f", os.Getenv(config.EnvFilePath), "path to feature_store.yaml (env "+config.EnvFilePath+"); before the command name, -f is always this flag even for commands where -f means --features")
	pf.StringVar(&g.logLevel, "log-level", "warning", "log level: debug, info, warning, error")
	root.AddCommand(
		newVersionCmd(g), newInitCmd(g), newPlanCmd(g), newApplyCmd(g), newTeardownCmd(g),
		newRegistryDumpCmd(g), newConfigurationCmd(g),
	)
	for _, c := range objectCommands(g) {
		root.AddCommand(c)
	}
	addLaterCommands(root, g)
	root.AddCommand(newImportCmd(g))
	root.AddCommand(newProjectsCmd(g), newDeleteCmd(g), newValidateCmd(g), newEndpointCmd(g))
	root.AddCommand(newPermissionsCmd(g))
	return root
}

func (g *globals) setupLogging() error {
	level, err := cli.ParseLogLevel(g.logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level})))
	return nil
}

// open opens the feature store of the selected repository.
func (g *globals) open(ctx context.Context) (*feast.FeatureStore, error) {
	fs, err := feast.Open(ctx, feast.Options{RepoPath: g.chdir, ConfigPath: g.yamlPath, Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	for _, w := range fs.Config().Warnings {
		fmt.Fprintln(g.stderr, "warning:", w)
	}
	return fs, nil
}

// color wraps s in an ANSI color when out is a terminal.
func color(out io.Writer, code, s string) string {
	if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("NO_COLOR") == "" {
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	return s
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the feast version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.stdout, "Feast SDK Version: \"%s\"\n", feast.Version)
			return nil
		},
	}
}
