// Package offlinestore turns an offline_store configuration into an
// offline.Store. Open is the only place the offline backends are
// constructed: the feature store and the Beam workers (for PostgreSQL
// sources) both call it.
//
// It lives under internal/ for the same reason as internal/onlinestore:
// both the root package and materialize/beam import it without a cycle, and
// the offline package stays free of its backends.
package offlinestore

import (
	"context"
	"fmt"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/duckdb"
	"github.com/feastgo/feast/offline/postgres"
)

// Open opens the offline store cfg names. repoPath resolves the DuckDB
// store's relative paths. cfg.Type must be set: config.Load fills in the
// default (duckdb).
func Open(ctx context.Context, cfg config.OfflineStoreConfig, repoPath string) (offline.Store, error) {
	switch cfg.Type {
	case "duckdb":
		s, err := duckdb.Open(ctx, cfg, repoPath)
		if err != nil {
			return nil, fmt.Errorf("open duckdb offline store: %w", err)
		}
		return s, nil
	case "postgres":
		s, err := postgres.Open(ctx, cfg.Postgres)
		if err != nil {
			return nil, err // it says "open postgres offline store: ..."
		}
		return s, nil
	}
	return nil, fmt.Errorf("offline store type %q is not supported", cfg.Type)
}
