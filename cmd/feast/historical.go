package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/internal/cli"
	"github.com/feastgo/feast/offline"
)

func newGetHistoricalFeaturesCmd(g *globals) *cobra.Command {
	var (
		entities, query, service, output, start, end string
		features                                     []string
		fullNames, filterCreated                     bool
	)
	cmd := &cobra.Command{
		Use:   "get-historical-features",
		Short: "Build point-in-time correct training data into a Parquet or CSV file",
		Long: `Joins feature values onto entity rows as of each row's timestamp: for a row at time T,
each feature takes the value with the latest event timestamp <= T (and >= T - ttl when
the view has a ttl), ties broken by the latest created timestamp, so no value from
the future leaks into training data.

The entity rows come from a Parquet or CSV file (--entities) holding the join keys and
an event_timestamp column (or a single timestamp column), or from a SQL query run by a
SQL offline store (--entity-query). Without either, retrieval is entity-less over
[--start, --end].

  feast get-historical-features --entities data/driver_entities.csv \
      --features driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate \
      --output training.parquet
  feast get-historical-features --entities entities.parquet --feature-service driver_activity_v1 \
      --output training.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return fmt.Errorf("--output is required (a .parquet or .csv file)")
			}
			if (len(features) == 0) == (service == "") {
				return fmt.Errorf("give --features view:feature,... or --feature-service NAME")
			}
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			src := offline.EntitySource{Path: entities, Query: query}
			if entities != "" && g.chdir != "" && !filepath.IsAbs(entities) {
				if _, err := os.Stat(entities); err != nil {
					src.Path = filepath.Join(g.chdir, entities)
				}
			}
			opts := feast.HistoricalOptions{FullFeatureNames: fullNames, FilterByCreatedTimestamp: filterCreated}
			if start != "" {
				if opts.Start, err = parseTime(start); err != nil {
					return err
				}
			}
			if end != "" {
				if opts.End, err = parseTime(end); err != nil {
					return err
				}
			}
			began := time.Now()
			stop := spinner(g.stderr, "joining features")
			job, err := fs.GetHistoricalFeatures(cmd.Context(), src, feast.Features{Refs: features, Service: service}, opts)
			if err != nil {
				stop()
				return err
			}
			defer job.Close()
			var sum feast.Summary
			if strings.HasSuffix(strings.ToLower(output), ".csv") {
				sum, err = job.WriteCSV(cmd.Context(), output)
			} else {
				sum, err = job.WriteParquet(cmd.Context(), output)
			}
			stop()
			if err != nil {
				return err
			}
			printHistoricalSummary(g.stdout, output, sum, time.Since(began))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&entities, "entities", "e", "", "entity rows: a Parquet or CSV file")
	f.StringVar(&query, "entity-query", "", "entity rows: a SQL query (postgres offline store)")
	f.StringSliceVar(&features, "features", nil, "feature references view:feature (comma-separated or repeated)")
	f.StringVar(&service, "feature-service", "", "a feature service instead of --features")
	f.StringVarP(&output, "output", "o", "", "output file (.parquet or .csv)")
	f.BoolVar(&fullNames, "full-feature-names", false, "name columns view__feature")
	f.BoolVar(&filterCreated, "filter-by-created-timestamp", false, "also require created timestamp <= the entity row's time")
	f.StringVarP(&start, "start-date", "s", "", "entity-less retrieval: start (ISO 8601)")
	f.StringVar(&end, "end-date", "", "entity-less retrieval: end (ISO 8601 or now; default now)")
	return cmd
}

func printHistoricalSummary(out io.Writer, path string, sum feast.Summary, took time.Duration) {
	fmt.Fprintf(out, "Wrote %s rows x %d columns to %s in %s\n", cli.Count(sum.Rows), len(sum.Columns), path, took.Round(time.Millisecond))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "COLUMN\tNULLS\tNULL RATE")
	for _, c := range sum.Columns {
		switch {
		case c.Nulls < 0:
			fmt.Fprintf(w, "%s\t?\t?\n", c.Name)
		case sum.Rows == 0:
			fmt.Fprintf(w, "%s\t0\t-\n", c.Name)
		default:
			fmt.Fprintf(w, "%s\t%s\t%.1f%%\n", c.Name, cli.Count(c.Nulls), 100*float64(c.Nulls)/float64(sum.Rows))
		}
	}
	w.Flush()
}

// spinner shows an elapsed-time indicator on a terminal until stop is called.
func spinner(out io.Writer, what string) (stop func()) {
	f, ok := out.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		frames := `|/-\`
		began := time.Now()
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				fmt.Fprint(out, "\r\x1b[2K")
				return
			case <-t.C:
				fmt.Fprintf(out, "\r%c %s... %s", frames[i%4], what, time.Since(began).Round(time.Second))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
