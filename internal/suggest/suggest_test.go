package suggest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	views := []string{"driver_hourly_stats", "customer_profile", "driver_daily_stats", "orders"}
	for _, c := range []struct {
		s    string
		n    int
		want []string
	}{
		{"driver_hourly_stat", 3, []string{"driver_hourly_stats", "driver_daily_stats"}},
		{"driver_hourly_stat", 1, []string{"driver_hourly_stats"}},
		{"DRIVER_HOURLY_STATS", 1, []string{"driver_hourly_stats"}},
		// Substring matches, the shorter (nearer) one first.
		{"driver", 3, []string{"driver_daily_stats", "driver_hourly_stats"}},
		{"driver_stats", 1, nil},
		{"ordrs", 3, []string{"orders"}},
		{"xyz", 3, nil},
		{"driver_dayly_stats", 3, []string{"driver_daily_stats", "driver_hourly_stats"}},
	} {
		if got := Closest(c.s, views, c.n); !slices.Equal(got, c.want) {
			t.Errorf("Closest(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

// The storage packages get "did you mean" suggestions from this package and
// do not depend on the configuration package. (offline/duckdb and
// offline/postgres import config for their own configuration types.)
func TestStoragePackagesDoNotImportConfig(t *testing.T) {
	const mod = "github.com/feastgo/feast/"
	out, err := exec.Command("go", "list", "-tags", "duckdb_arrow", "-deps", "-test",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`,
		mod+"registry/...", mod+"offline", mod+"offline/sqlgen").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if slices.Contains(strings.Fields(imports), mod+"config") {
			t.Errorf("%s imports %sconfig", pkg, mod)
		}
	}
}
