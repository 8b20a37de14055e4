package cli

import (
	"bytes"
	"errors"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/materialize"
)

func TestPrintSummary(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(24 * time.Hour)
	var out bytes.Buffer
	PrintSummary(&out, []feast.ViewResult{
		{View: "driver_hourly_stats", Start: start, End: end, Stats: materialize.Stats{RowsRead: 1234567, RowsWritten: 1000, RowsSkipped: 999, Duration: 1500 * time.Microsecond}},
		{View: "customer", Start: end, End: end},
		{View: "orders", Start: start, End: end, Err: errors.New("boom")},
	})
	want := "" +
		"VIEW                 INTERVAL                                      READ       WRITTEN  SKIPPED (NOT NEWER)  DURATION  STATUS\n" +
		"driver_hourly_stats  2024-01-01T00:00:00Z .. 2024-01-02T00:00:00Z  1,234,567  1,000    999                  2ms       ok\n" +
		"customer             2024-01-02T00:00:00Z .. 2024-01-02T00:00:00Z  0          0        0                    0s        up to date\n" +
		"orders               2024-01-01T00:00:00Z .. 2024-01-02T00:00:00Z  0          0        0                    0s        FAILED\n"
	if out.String() != want {
		t.Errorf("PrintSummary:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	PrintSummary(&out, nil)
	if got := out.String(); got != "No online feature views to materialize.\n" {
		t.Errorf("PrintSummary(nil) = %q", got)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1234: "-1234"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
