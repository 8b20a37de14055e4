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
// do not depend on the configuration package, neither through what they
// import nor in their own tests. (offline/duckdb and offline/postgres import
// config for their own configuration types. A test may import a package
// that uses config, such as registry's golden test importing definitions:
// that links config into the test binary, not into the storage package.)
func TestStoragePackagesDoNotImportConfig(t *testing.T) {
	const mod = "github.com/feastgo/feast/"
	pkgs := []string{mod + "registry/...", mod + "offline", mod + "offline/sqlgen"}
	check := func(format string, deps bool) {
		args := []string{"list", "-tags", "duckdb_arrow", "-f", format}
		if deps {
			args = append(args, "-deps")
		}
		out, err := exec.Command("go", append(args, pkgs...)...).CombinedOutput()
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
	// Everything the storage packages link, and their own tests' imports.
	check(`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, true)
	check(`{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`, false)
}
