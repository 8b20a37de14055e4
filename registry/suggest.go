package registry

import "github.com/feastgo/feast/config"

func closest(s string, candidates []string) []string { return config.Closest(s, candidates, 3) }
