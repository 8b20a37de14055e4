// Package registrystore turns a registry configuration into a
// registry.Store. Open is the only place the registry backends are
// constructed.
//
// It lives under internal/ so that the registry package and its backends do
// not depend on the config package.
package registrystore

import (
	"context"
	"fmt"
	"strings"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/redact"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/registry/sqlstore"
)

// Open opens the registry cfg names. repoPath resolves a relative file path
// and a relative sqlite:/// URL. An empty registry_type is the file
// registry, as in config.Load.
func Open(ctx context.Context, cfg config.RegistryConfig, repoPath string) (registry.Store, error) {
	paths := config.RepoConfig{RepoPath: repoPath}
	switch cfg.RegistryType {
	case "sql":
		u := cfg.Path
		if rest, ok := strings.CutPrefix(u, "sqlite:///"); ok && !strings.HasPrefix(rest, "/") {
			u = "sqlite:///" + paths.ResolvePath(rest)
		}
		s, err := sqlstore.OpenWithOptions(ctx, u, sqlstore.Options{SchemaMode: cfg.SchemaMode})
		if err != nil {
			return nil, fmt.Errorf("open sql registry: %w", err)
		}
		return s, nil
	case "file", "":
		if scheme, ok := config.SQLRegistryScheme(cfg.Path); ok {
			return nil, fmt.Errorf("registry path %q is a %s database URL, which only a SQL registry opens: set registry_type: sql (RegistryType \"sql\")",
				redact.String(cfg.Path), scheme)
		}
		s, err := registry.OpenFile(ctx, paths.ResolvePath(cfg.Path))
		if err != nil {
			return nil, fmt.Errorf("open file registry: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("registry type %q is not supported (supported: file, sql)", cfg.RegistryType)
}
