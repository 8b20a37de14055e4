package definitions

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var dayWeek = regexp.MustCompile(`(\d+(?:\.\d+)?)([dw])`)

// ParseDuration parses Go durations extended with d (24h) and w (7d) units,
// e.g. "36h", "2d", "1w", "1d12h", "0s". A bare integer is seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	var extra time.Duration
	rest := dayWeek.ReplaceAllStringFunc(s, func(m string) string {
		sub := dayWeek.FindStringSubmatch(m)
		v, _ := strconv.ParseFloat(sub[1], 64)
		unit := 24 * time.Hour
		if sub[2] == "w" {
			unit = 7 * 24 * time.Hour
		}
		extra += time.Duration(v * float64(unit))
		return ""
	})
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 36h, 2d, 1w, 0s)", s)
		}
	}
	d += extra
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// FormatDuration renders a duration with d and w units where exact
// ("1d", "2w", "36h", "0s"), the inverse of ParseDuration for display.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	const day = 24 * time.Hour
	switch {
	case d%(7*day) == 0:
		return fmt.Sprintf("%dw", d/(7*day))
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
