package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/cli"
	"github.com/feastgo/feast/offline"
)

func newGetHistoricalFeaturesCmd(g *globals) *cobra.Command {
	var (
		entities, dataframe, query, service, output, start, end string
		features                                                []string
		fullNames, filterCreated                                bool
	)
	cmd := &cobra.Command{
		Use:   "get-historical-features",
		Short: "Build point-in-time correct training data (JSON on stdout, or a .parquet, .csv or .json file)",
		Long: `Joins feature values onto entity rows as of each row's timestamp: for a row at time T,
each feature takes the value with the latest event timestamp <= T (and >= T - ttl when
the view has a ttl), ties broken by the latest created timestamp, so no value from
the future leaks into training data.

The entity rows come from a JSON array given inline (-d/--dataframe, as in Feast:
'[{"driver_id": 1001, "event_timestamp": "2025-03-29T12:00:00"}]'), from a Parquet
or CSV file (--entities, or -d naming an existing file) holding the join keys and an
event_timestamp column (or a single timestamp column), or from a SQL query run by a
SQL offline store (--entity-query). Without any of them, retrieval is entity-less
over [-s/--start-date, -e/--end-date].

Without -o/--output the rows are printed to stdout as a JSON array of objects (one
per row, timestamps in RFC 3339). With -o the format follows the extension: .parquet,
.csv or .json; any other extension is refused.

Flags follow Feast's CLI: -f is --features, -d --dataframe, -s --start-date and
-e --end-date. (Before this release -e was --entities; the entity file is now given
with the long flag --entities only.)

  feast get-historical-features -d '[{"driver_id": 1001, "event_timestamp": "2025-03-29T12:00:00"}]' \
      -f driver_hourly_stats:conv_rate
  feast get-historical-features --entities data/driver_entities.csv \
      --features driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate \
      --output training.parquet
  feast get-historical-features --entities entities.parquet --feature-service driver_activity_v1 \
      --output training.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(output)
			if err != nil {
				return err
			}
			if (len(features) == 0) == (service == "") {
				return fmt.Errorf("give --features view:feature,... or --feature-service NAME")
			}
			n := 0
			for _, set := range []bool{entities != "", dataframe != "", query != ""} {
				if set {
					n++
				}
			}
			if n > 1 {
				return fmt.Errorf("give only one of -d/--dataframe, --entities and --entity-query")
			}
			if n == 1 && (start != "" || end != "") {
				return fmt.Errorf("-s/--start-date and -e/--end-date are for entity-less retrieval: they cannot be combined with entity rows")
			}
			var rows array.RecordReader
			if dataframe != "" {
				if looksLikeJSON(dataframe) {
					if rows, err = entityRowsFromJSON(dataframe); err != nil {
						return err
					}
					defer rows.Release()
				} else if _, statErr := os.Stat(g.repoRelative(dataframe)); statErr == nil {
					entities = dataframe
				} else {
					return fmt.Errorf("-d/--dataframe %q: give a JSON array of entity rows such as '[{\"driver_id\": 1001, \"event_timestamp\": \"2025-03-29T12:00:00\"}]', or an existing .parquet or .csv file", dataframe)
				}
			}
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			src := offline.EntitySource{Path: entities, Query: query, Records: rows}
			if entities != "" {
				src.Path = g.repoRelative(entities)
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
			switch format {
			case "stdout":
				err = writeJSONRows(cmd.Context(), g.stdout, job)
				stop()
				return err
			case "csv":
				sum, err = job.WriteCSV(cmd.Context(), output)
			case "json":
				sum, err = writeJSONFile(cmd.Context(), output, job)
			default:
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
	// Shadow the global --feature-store-yaml/-f: here -f is --features, as
	// in Feast. The global flag still works before the command name.
	f.StringVar(&g.yamlPath, "feature-store-yaml", os.Getenv(config.EnvFilePath), "path to feature_store.yaml (env "+config.EnvFilePath+"; -f before the command name)")
	f.StringVarP(&dataframe, "dataframe", "d", "", "entity rows as a JSON array of objects (as in Feast), or a .parquet/.csv file")
	f.StringVar(&entities, "entities", "", "entity rows: a Parquet or CSV file (no short flag: -e is --end-date, as in Feast)")
	f.StringVar(&query, "entity-query", "", "entity rows: a SQL query (postgres offline store)")
	f.StringSliceVarP(&features, "features", "f", nil, "feature references view:feature (comma-separated or repeated)")
	f.StringVar(&service, "feature-service", "", "a feature service instead of --features")
	f.StringVarP(&output, "output", "o", "", "output file: .parquet, .csv or .json (default: JSON on stdout)")
	f.BoolVar(&fullNames, "full-feature-names", false, "name columns view__feature")
	f.BoolVar(&filterCreated, "filter-by-created-timestamp", false, "also require created timestamp <= the entity row's time")
	f.StringVarP(&start, "start-date", "s", "", "entity-less retrieval: start (ISO 8601 or YYYY-MM-DD HH:MM:SS)")
	f.StringVarP(&end, "end-date", "e", "", "entity-less retrieval: end (ISO 8601, YYYY-MM-DD HH:MM:SS or now; default now)")
	return cmd
}

// repoRelative resolves a relative path given with -c: as given when it
// exists from the working directory, otherwise inside the repository.
func (g *globals) repoRelative(p string) string {
	if g.chdir == "" || filepath.IsAbs(p) {
		return p
	}
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join(g.chdir, p)
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
