package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
)

func newStatusCmd(g *globals) *cobra.Command {
	var (
		views    []string
		output   string
		exitCode bool
		noOnline bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show per feature view the last materialization, the newest online event and staleness",
		Long: `Prints, for each feature view, the last materialized interval recorded in the
registry, the newest event timestamp in the online store (where the store can tell;
"-" otherwise) and whether the view is STALE: now minus the end of the last interval
is greater than the view's ttl. Views with ttl 0 are never stale.

  feast status
  feast status -v driver_hourly_stats --exit-code   # exit 2 when a view is stale
  feast status -o json                              # for scripts and monitoring

Exits with status 1 when the online store cannot be reached or read (after printing
the report), and with --exit-code 2 when a view is stale.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output %q: use table or json", output)
			}
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			sts, err := fs.Status(cmd.Context(), feast.StatusOptions{Views: views, SkipOnlineStore: noOnline})
			if err != nil {
				return err
			}
			now := fs.Now()
			if output == "json" {
				err = printStatusJSON(g.stdout, sts)
			} else {
				printStatus(g.stdout, sts, now)
			}
			if err != nil {
				return err
			}
			if !noOnline {
				if err := checkOnlineStore(cmd.Context(), fs, sts); err != nil {
					return err
				}
			}
			if exitCode {
				for _, st := range sts {
					if st.Freshness == feast.Stale || st.Freshness == feast.NeverMaterialized {
						return &exitCodeError{code: 2}
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&views, "views", "v", nil, "feature views to report (repeatable; default: all)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.BoolVar(&exitCode, "exit-code", false, "exit with status 2 when an online view is stale or was never materialized")
	f.BoolVar(&noOnline, "skip-online-store", false, "do not connect to the online store (newest event time unknown)")
	return cmd
}

// checkOnlineStore returns an error when the online store could not be
// read for some view or does not answer a ping (the report may hold no
// online view, or come from a store that cannot tell the newest event).
func checkOnlineStore(ctx context.Context, fs *feast.FeatureStore, sts []feast.ViewStatus) error {
	for _, st := range sts {
		if st.NewestEventErr != nil {
			return fmt.Errorf("online store: %w", st.NewestEventErr)
		}
	}
	store, err := fs.OnlineStore(ctx)
	if errors.Is(err, feast.ErrNoOnlineStore) {
		return nil
	}
	if err == nil {
		err = store.Ping(ctx)
	}
	if err != nil {
		return fmt.Errorf("online store: %w", err)
	}
	return nil
}

func printStatus(out io.Writer, sts []feast.ViewStatus, now time.Time) {
	if len(sts) == 0 {
		fmt.Fprintln(out, "No feature views in the registry. Run feast apply first.")
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VIEW\tTTL\tLAST MATERIALIZED INTERVAL\tAGE\tNEWEST ONLINE EVENT\tSTATUS")
	for _, st := range sts {
		interval, age := "-", "-"
		if !st.LastEnd.IsZero() {
			interval = st.LastStart.UTC().Format(time.RFC3339) + " .. " + st.LastEnd.UTC().Format(time.RFC3339)
			age = humanDuration(st.Age)
		}
		newest := "-"
		switch {
		case st.NewestEventErr != nil:
			newest = "error: " + st.NewestEventErr.Error()
		case st.NewestEventKnown:
			newest = st.NewestEvent.UTC().Format(time.RFC3339) + " (" + humanDuration(now.Sub(st.NewestEvent)) + " ago)"
		}
		ttl := "0 (no limit)"
		if st.TTL > 0 {
			ttl = humanDuration(st.TTL)
		}
		status := string(st.Freshness)
		switch st.Freshness {
		case feast.Stale, feast.NeverMaterialized:
			status = color(out, "31", status)
		case feast.Fresh:
			status = color(out, "32", status)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", st.View, ttl, interval, age, newest, status)
	}
	w.Flush()
}

// statusJSON is the stable JSON shape of one view's status.
type statusJSON struct {
	View               string  `json:"feature_view"`
	TTLSeconds         float64 `json:"ttl_seconds"`
	LastStart          *string `json:"last_interval_start"`
	LastEnd            *string `json:"last_interval_end"`
	AgeSeconds         float64 `json:"age_seconds"`
	NewestEvent        *string `json:"newest_online_event"`
	NewestEventError   string  `json:"newest_online_event_error,omitempty"`
	Status             string  `json:"status"`
	RecordedIntervals  int     `json:"recorded_intervals"`
	Stale              bool    `json:"stale"`
	NeverMaterialized  bool    `json:"never_materialized"`
	MaterializedOnline bool    `json:"online"`
}

func printStatusJSON(out io.Writer, sts []feast.ViewStatus) error {
	ts := func(t time.Time, ok bool) *string {
		if !ok || t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339Nano)
		return &s
	}
	rows := make([]statusJSON, len(sts))
	for i, st := range sts {
		r := statusJSON{
			View: st.View, TTLSeconds: st.TTL.Seconds(), AgeSeconds: st.Age.Seconds(),
			LastStart: ts(st.LastStart, true), LastEnd: ts(st.LastEnd, true),
			NewestEvent: ts(st.NewestEvent, st.NewestEventKnown), Status: string(st.Freshness),
			RecordedIntervals: st.Intervals, Stale: st.Freshness == feast.Stale,
			NeverMaterialized: st.Freshness == feast.NeverMaterialized, MaterializedOnline: st.Freshness != feast.NotOnline,
		}
		if st.NewestEventErr != nil {
			r.NewestEventError = st.NewestEventErr.Error()
		}
		rows[i] = r
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// humanDuration prints d compactly with days: 1d2h3m, 45s, 0s.
func humanDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	d = d.Round(time.Second)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if s := d / time.Second; s > 0 || b.Len() == 0 || (neg && b.Len() == 1) {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}
