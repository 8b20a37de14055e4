package scripts_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// make test races every package except the few that start no goroutines,
// and the heavy DuckDB tests are among those.
func TestTestSplit(t *testing.T) {
	cmd := exec.Command("bash", "test.sh")
	cmd.Env = append(cmd.Environ(), "SPLIT_ONLY=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("test.sh: %v\n%s", err, out)
	}
	lists := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, pkgs, _ := strings.Cut(line, ": ")
		lists[name] = strings.Fields(pkgs)
	}
	const mod = "github.com/feastgo/feast"
	race, plain := lists["race"], lists["plain"]
	for _, p := range []string{"", "/server", "/materialize", "/registry", "/stream", "/online/redis"} {
		if !slices.Contains(race, mod+p) {
			t.Errorf("%s is not raced", mod+p)
		}
	}
	if !slices.Contains(plain, mod+"/offline/duckdb") {
		t.Errorf("offline/duckdb is raced")
	}
	all, err := exec.Command("go", "list", "-tags", makeTags(t), "../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(all))
	got := slices.Concat(race, plain)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("race + plain = %d packages, go list = %d: every package is tested once", len(got), len(want))
	}
}
