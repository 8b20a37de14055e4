package registrystore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feastgo/feast/config"
)

// A file registry given a database URL says to use the sql registry type
// instead of failing with the object-store driver's "no driver registered".
func TestFileRegistryWithSQLURL(t *testing.T) {
	_, err := Open(context.Background(), config.RegistryConfig{RegistryType: "file", Path: "postgresql://feast:s3cret@db/feast"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "set registry_type: sql") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error = %v", err)
	}
}

// A relative SQLite registry URL resolves against the repository and its
// folder is created.
func TestSQLiteRegistryFolder(t *testing.T) {
	repo := t.TempDir()
	s, err := Open(context.Background(), config.RegistryConfig{RegistryType: "sql", Path: "sqlite:///data/registry.db"}, repo)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := s.(interface{ Close() error }); ok {
		c.Close()
	}
	if _, err := os.Stat(filepath.Join(repo, "data", "registry.db")); err != nil {
		t.Fatal(err)
	}
}
