package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	feast "github.com/feastgo/feast"
)

// PrintSummary writes the table a materialization prints when it ends: one
// row per view with its interval, row counts, duration and status ("ok",
// "FAILED", or "up to date" for an empty interval).
func PrintSummary(out io.Writer, results []feast.ViewResult) {
	if len(results) == 0 {
		fmt.Fprintln(out, "No online feature views to materialize.")
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VIEW\tINTERVAL\tREAD\tWRITTEN\tSKIPPED (NOT NEWER)\tDURATION\tSTATUS")
	for _, r := range results {
		status := "ok"
		if r.Err != nil {
			status = "FAILED"
		} else if !r.Start.Before(r.End) {
			status = "up to date"
		}
		fmt.Fprintf(w, "%s\t%s .. %s\t%s\t%s\t%s\t%s\t%s\n", r.View, r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339),
			Count(r.Stats.RowsRead), Count(r.Stats.RowsWritten), Count(r.Stats.RowsSkipped), r.Stats.Duration.Round(time.Millisecond), status)
	}
	w.Flush()
}

// Count formats a row count with thousands separators: 1234567 is
// "1,234,567". Negative counts are printed as they are.
func Count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
