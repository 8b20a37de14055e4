package registry

import "github.com/feastgo/feast/internal/suggest"

func closest(s string, candidates []string) []string { return suggest.Closest(s, candidates, 3) }
