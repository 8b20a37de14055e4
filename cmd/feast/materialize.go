package main

import (
	"time"

	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/internal/cli"
)

// parseTime parses an ISO 8601 timestamp or "now", as feast does. Naive
// timestamps are UTC.
func parseTime(s string) (time.Time, error) { return cli.ParseTime(s, time.Now) }

func newMaterializeCmd(g *globals) *cobra.Command {
	var (
		views []string
		wait  bool
	)
	cmd := &cobra.Command{
		Use:   "materialize START_TS END_TS",
		Short: "Load feature values with event timestamps in [START_TS, END_TS] into the online store",
		Long: `Reads, for each online feature view (or each -v view), the latest row per entity with
an event timestamp in [START_TS, END_TS] from the offline store and writes it to the
online store, keeping newer values already there. The interval is recorded in the
registry only after a view's data was written, so an interrupted run can simply be
repeated. Timestamps are ISO 8601 (naive = UTC) or "now".

  feast materialize -v driver_hourly_stats 2024-01-01T00:00:00 2024-01-02T00:00:00`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, err := parseTime(args[0])
			if err != nil {
				return err
			}
			end, err := parseTime(args[1])
			if err != nil {
				return err
			}
			return g.runMaterialize(cmd, func(fs *feast.FeatureStore, opts feast.MaterializeOptions) ([]feast.ViewResult, error) {
				return fs.Materialize(cmd.Context(), start, end, opts)
			}, views, wait)
		},
	}
	cmd.Flags().StringSliceVarP(&views, "views", "v", nil, "feature views to materialize (repeatable; default: all online views)")
	cmd.Flags().BoolVar(&wait, "wait", false, "queue behind a run of the same view already in progress instead of failing")
	return cmd
}

func newMaterializeIncrementalCmd(g *globals) *cobra.Command {
	var (
		views []string
		wait  bool
	)
	cmd := &cobra.Command{
		Use:   "materialize-incremental END_TS",
		Short: "Load feature values from where the last run ended up to END_TS",
		Long: `For each online feature view (or each -v view), materializes from the end of the
last recorded interval (or END_TS minus the view's ttl when there is none) up to
END_TS. Safe to run on any schedule: each run continues where the last one ended.

  feast materialize-incremental now
  feast materialize-incremental 2024-01-02T00:00:00`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			end, err := parseTime(args[0])
			if err != nil {
				return err
			}
			return g.runMaterialize(cmd, func(fs *feast.FeatureStore, opts feast.MaterializeOptions) ([]feast.ViewResult, error) {
				return fs.MaterializeIncremental(cmd.Context(), end, opts)
			}, views, wait)
		},
	}
	cmd.Flags().StringSliceVarP(&views, "views", "v", nil, "feature views to materialize (repeatable; default: all online views)")
	cmd.Flags().BoolVar(&wait, "wait", false, "queue behind a run of the same view already in progress instead of failing")
	return cmd
}

func (g *globals) runMaterialize(cmd *cobra.Command, run func(*feast.FeatureStore, feast.MaterializeOptions) ([]feast.ViewResult, error), views []string, wait bool) error {
	fs, err := g.open(cmd.Context())
	if err != nil {
		return err
	}
	defer fs.Close()
	progress := newProgressReporter(g.stderr)
	results, err := run(fs, feast.MaterializeOptions{Views: views, Progress: progress, Wait: wait})
	progress.Close()
	// A run that failed before any view (a store that cannot be opened, an
	// unknown view, end before start) has no table to print: the error
	// says what went wrong, not "No online feature views to materialize."
	if len(results) > 0 || err == nil {
		cli.PrintSummary(g.stdout, results)
	}
	return err
}
