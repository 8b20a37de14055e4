package objstore

import (
	"testing"
	"time"
)

func TestPartitionSpan(t *testing.T) {
	d := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	for _, c := range []struct {
		spec, key string
		from, to  string // empty: no span
	}{
		{"dt", "f/dt=2026-01-15/part-0.parquet", "2026-01-15T00:00:00Z", "2026-01-16T00:00:00Z"},
		{"date", "f/date=20260115/x.parquet", "2026-01-15T00:00:00Z", "2026-01-16T00:00:00Z"},
		{"hour", "f/hour=2026-01-15-13/x.parquet", "2026-01-15T13:00:00Z", "2026-01-15T14:00:00Z"},
		{"dt", "f/dt=2026-01-15T13%3A00%3A00/x.parquet", "2026-01-15T13:00:00Z", "2026-01-15T13:00:01Z"},
		{"month", "f/month=2026-02/x.parquet", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		{"year/month/day", "f/year=2026/month=2/day=28/x.parquet", "2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z"},
		{"year,month", "f/year=2026/month=12/x.parquet", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"year/month/day/hour", "f/year=2026/month=1/day=1/hour=23/x", "2026-01-01T23:00:00Z", "2026-01-02T00:00:00Z"},
		{"dt", "f/other=2026-01-15/x.parquet", "", ""},
		{"dt", "f/dt=yesterday/x.parquet", "", ""},
		{"year/month/day", "f/year=2026/month=2/x.parquet", "", ""},
		{"", "f/dt=2026-01-15/x.parquet", "", ""},
	} {
		p, err := parsePartitionScheme(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		from, to, ok := p.span(c.key)
		if c.from == "" {
			if ok {
				t.Errorf("%s %s: span %s..%s, want none", c.spec, c.key, from, to)
			}
			continue
		}
		if !ok || !from.Equal(d(c.from)) || !to.Equal(d(c.to)) {
			t.Errorf("%s %s: span %s..%s (%v), want %s..%s", c.spec, c.key, from, to, ok, c.from, c.to)
		}
	}
	if _, err := parsePartitionScheme("a/b/c/d/e"); err == nil {
		t.Error("five columns accepted")
	}
}

func TestWindowOverlaps(t *testing.T) {
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	next := day.AddDate(0, 0, 1)
	for _, c := range []struct {
		w    Window
		want bool
	}{
		{Window{}, true},
		{Window{From: day, To: day}, true},
		{Window{From: next, To: next.Add(time.Hour)}, false}, // [day, next) ends before next
		{Window{From: day.Add(-time.Hour), To: day.Add(-time.Nanosecond)}, false},
		{Window{To: day}, true},
		{Window{From: day.Add(23 * time.Hour)}, true},
	} {
		if got := c.w.overlaps(day, next, false); got != c.want {
			t.Errorf("%v overlaps [%s, %s) = %v, want %v", c.w, day, next, got, c.want)
		}
	}
	// Footer ranges are inclusive: max == From overlaps.
	if !(Window{From: next}).overlaps(day, next, true) {
		t.Error("inclusive max at From does not overlap")
	}
}
