package examples

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsInitTemplate keeps the README's "complete example" the
// features.yaml that feast init writes.
func TestReadmeShowsInitTemplate(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := DriverRanking.ReadFile("driver_ranking/features.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "A complete example: this is the `features.yaml` that `feast init` writes")
	if !ok {
		t.Fatal("README: the complete example's introduction is gone")
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	if !ok {
		t.Fatal("README: no yaml block after the complete example's introduction")
	}
	block, _, _ = strings.Cut(block, "```\n")
	if block != string(tmpl) {
		t.Errorf("README's complete example differs from examples/driver_ranking/features.yaml (what feast init writes); copy the file into the README")
	}
}
