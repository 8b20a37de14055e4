package objstore

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Window bounds the event timestamps a read needs, both ends inclusive; a
// zero end is unbounded. Objects wholly outside it are not read.
type Window struct {
	From, To time.Time
}

// overlaps reports whether [from, to) (a partition or an object's
// timestamps) may hold rows inside the window.
func (w Window) overlaps(from, to time.Time, toInclusive bool) bool {
	if !w.To.IsZero() && from.After(w.To) {
		return false
	}
	if !w.From.IsZero() {
		if toInclusive {
			return !to.Before(w.From)
		}
		return to.After(w.From)
	}
	return true
}

// partitionScheme reads the time span of an object from its Hive-style
// partition folders, per a source's date_partition_column: one column
// whose value is a date or time (dt=2026-01-01, date=20260101,
// hour=2026-01-01-13), or year/month/day[/hour] columns written as
// "year/month/day" (year=2026/month=1/day=1). Values are UTC.
type partitionScheme struct {
	columns []string
}

func parsePartitionScheme(spec string) (partitionScheme, error) {
	var cols []string
	for _, c := range strings.FieldsFunc(spec, func(r rune) bool { return r == '/' || r == ',' }) {
		if c = strings.TrimSpace(c); c != "" {
			cols = append(cols, c)
		}
	}
	if len(cols) > 4 {
		return partitionScheme{}, fmt.Errorf("date_partition_column %q names %d columns; name one date column (dt) or year/month/day[/hour]", spec, len(cols))
	}
	return partitionScheme{columns: cols}, nil
}

// dateLayouts are the single-column partition value formats, with the span
// each value covers.
var dateLayouts = []struct {
	layout string
	span   func(time.Time) time.Time
}{
	{time.RFC3339Nano, func(t time.Time) time.Time { return t.Add(time.Nanosecond) }},
	{"2006-01-02 15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	{"2006-01-02-15", func(t time.Time) time.Time { return t.Add(time.Hour) }},
	{"2006-01-02T15", func(t time.Time) time.Time { return t.Add(time.Hour) }},
	{"2006-01-02 15", func(t time.Time) time.Time { return t.Add(time.Hour) }},
	{"2006010215", func(t time.Time) time.Time { return t.Add(time.Hour) }},
	{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	{"20060102", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
	{"200601", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
	{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
}

// span is the time range [from, to) an object's partition folders cover;
// ok is false when the key does not carry the partition columns (the
// object is then always read).
func (p partitionScheme) span(key string) (from, to time.Time, ok bool) {
	if len(p.columns) == 0 {
		return from, to, false
	}
	vals := map[string]string{}
	for _, seg := range strings.Split(key, "/") {
		name, val, found := strings.Cut(seg, "=")
		if !found {
			continue
		}
		if u, err := url.PathUnescape(val); err == nil {
			val = u
		}
		vals[name] = val
	}
	if len(p.columns) == 1 {
		v, found := vals[p.columns[0]]
		if !found {
			return from, to, false
		}
		for _, l := range dateLayouts {
			if t, err := time.Parse(l.layout, v); err == nil {
				t = t.UTC()
				return t, l.span(t), true
			}
		}
		return from, to, false
	}
	// year/month/day[/hour]: every named column must be present.
	parts := []int{0, 1, 1, 0}
	for i, c := range p.columns {
		n, err := strconv.Atoi(vals[c])
		if err != nil {
			return from, to, false
		}
		parts[i] = n
	}
	from = time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], 0, 0, 0, time.UTC)
	switch len(p.columns) {
	case 2:
		to = from.AddDate(0, 1, 0)
	case 3:
		to = from.AddDate(0, 0, 1)
	case 4:
		to = from.Add(time.Hour)
	}
	return from, to, true
}
