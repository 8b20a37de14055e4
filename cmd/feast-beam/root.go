package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/cli"
	"github.com/feastgo/feast/materialize"
	beamengine "github.com/feastgo/feast/materialize/beam"
)

// globals are the flags the subcommands share, as in feast.
type globals struct {
	chdir    string
	yamlPath string
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	// Progress lines and the log (which Beam's runner goroutines write to)
	// share stderr: serialize their writes.
	stderr = cli.NewLockedWriter(stderr)
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "feast-beam",
		Short: "Materialize features with Apache Beam (prism, Flink, Spark, Dataflow)",
		Long: `feast-beam runs feast's materialize and materialize-incremental commands with the
Beam engine configured in feature_store.yaml:

  batch_engine:
    type: beam
    runner: prism            # or universal (Flink/Spark job server), dataflow

With batch_engine type local it runs the in-process engine, like feast.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return g.setupLogging()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.chdir, "chdir", "c", os.Getenv("FEATURE_REPO_DIR"), "run as if started in this feature repository directory")
	pf.StringVarP(&g.yamlPath, "feature-store-yaml", "f", os.Getenv(config.EnvFilePath), "path to feature_store.yaml (env "+config.EnvFilePath+")")
	pf.StringVar(&g.logLevel, "log-level", "warning", "log level: debug, info, warning, error (info shows Beam's runner logs)")
	root.AddCommand(newMaterializeCmd(g), newMaterializeIncrementalCmd(g), &cobra.Command{
		Use:   "version",
		Short: "Print the feast version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(g.stdout, "Feast SDK Version: \"%s\" (beam engine)\n", feast.Version)
		},
	})
	return root
}

func (g *globals) setupLogging() error {
	level, err := cli.ParseLogLevel(g.logLevel)
	if err != nil {
		return err
	}
	// Beam's runners log through the default logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level})))
	return nil
}

// parseTime parses an ISO 8601 timestamp or "now", as feast does. Naive
// timestamps are UTC.
func parseTime(s string) (time.Time, error) { return cli.ParseTime(s, time.Now) }

func newMaterializeCmd(g *globals) *cobra.Command {
	var views []string
	cmd := &cobra.Command{
		Use:   "materialize START_TS END_TS",
		Short: "Load feature values with event timestamps in [START_TS, END_TS] into the online store",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, err := parseTime(args[0])
			if err != nil {
				return err
			}
			end, err := parseTime(args[1])
			if err != nil {
				return err
			}
			return g.run(cmd.Context(), views, func(fs *feast.FeatureStore, opts feast.MaterializeOptions) ([]feast.ViewResult, error) {
				return fs.Materialize(cmd.Context(), start, end, opts)
			})
		},
	}
	cmd.Flags().StringSliceVarP(&views, "views", "v", nil, "feature views to materialize (repeatable; default: all online views)")
	return cmd
}

func newMaterializeIncrementalCmd(g *globals) *cobra.Command {
	var views []string
	cmd := &cobra.Command{
		Use:   "materialize-incremental END_TS",
		Short: "Load feature values from where the last run ended up to END_TS",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			end, err := parseTime(args[0])
			if err != nil {
				return err
			}
			return g.run(cmd.Context(), views, func(fs *feast.FeatureStore, opts feast.MaterializeOptions) ([]feast.ViewResult, error) {
				return fs.MaterializeIncremental(cmd.Context(), end, opts)
			})
		},
	}
	cmd.Flags().StringSliceVarP(&views, "views", "v", nil, "feature views to materialize (repeatable; default: all online views)")
	return cmd
}

func (g *globals) run(ctx context.Context, views []string, run func(*feast.FeatureStore, feast.MaterializeOptions) ([]feast.ViewResult, error)) error {
	fs, err := feast.Open(ctx, feast.Options{RepoPath: g.chdir, ConfigPath: g.yamlPath, Logger: slog.Default()})
	if err != nil {
		return err
	}
	defer fs.Close()
	for _, w := range fs.Config().Warnings {
		fmt.Fprintln(g.stderr, "warning:", w)
	}
	opts := feast.MaterializeOptions{Views: views, Progress: &lineProgress{out: g.stderr}}
	if fs.Config().BatchEngine.Type == "beam" {
		e, err := beamengine.FromRepoConfig(fs.Config())
		if err != nil {
			return err
		}
		opts.Engine = e
		fmt.Fprintf(g.stderr, "batch engine: beam (%s runner)\n", e.Config().Runner)
	} else {
		fmt.Fprintf(g.stderr, "batch engine: %s (in-process)\n", fs.Config().BatchEngine.Type)
	}
	results, err := run(fs, opts)
	// A run that failed before any view (a store that cannot be opened, an
	// unknown view, end before start) has no table to print: the error
	// says what went wrong, not "No online feature views to materialize."
	if len(results) > 0 || err == nil {
		cli.PrintSummary(g.stdout, results)
	}
	return err
}

// lineProgress prints one line when a view starts and one when it ends:
// Beam runners report their counters when the pipeline ends.
type lineProgress struct {
	mu  sync.Mutex
	out io.Writer
}

func (p *lineProgress) Start(view string, _ int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "materializing %s\n", view)
}

func (p *lineProgress) Add(string, int64, int64, int64) {}

func (p *lineProgress) Done(view string, st materialize.Stats, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		fmt.Fprintf(p.out, "%s failed after %s\n", view, st.Duration.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(p.out, "%s done: read %d, written %d, skipped %d in %s\n", view, st.RowsRead, st.RowsWritten, st.RowsSkipped, st.Duration.Round(time.Millisecond))
}
