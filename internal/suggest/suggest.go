// Package suggest finds "did you mean" candidates for a misspelled name.
// It has no dependencies within the module, so configuration, storage and
// serving packages can all use it without depending on one another.
package suggest

import (
	"sort"
	"strings"
)

// Closest returns up to n candidates within a small edit distance of s
// (ignoring case), nearest first, ties in the candidates' order. A
// candidate also matches when s has at least 4 characters and one contains
// the other.
func Closest(s string, candidates []string, n int) []string {
	type scored struct {
		c string
		d int
	}
	var out []scored
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if d <= max(2, len(s)/3) || len(s) >= 4 && (strings.Contains(c, s) || strings.Contains(s, c)) {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].d < out[j].d })
	var names []string
	for i := 0; i < len(out) && i < n; i++ {
		names = append(names, out[i].c)
	}
	return names
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
