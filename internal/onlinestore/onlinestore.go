// Package onlinestore turns an online_store configuration into an
// online.Store. Open is the only place the online backends are constructed:
// the feature store, the server and the Beam workers all call it, so every
// component accepts the same types and fails the same way.
//
// It lives under internal/ so that both the root package and
// materialize/beam can import it (the root package does not import
// materialize/beam, and neither imports this package's callers), and so that
// the online package itself stays free of the backends it abstracts.
package onlinestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/postgres"
	"github.com/feastgo/feast/online/redis"
	"github.com/feastgo/feast/online/sqlite"
)

// ErrNone is returned by Open for online_store: none. The root package
// exports it as feast.ErrNoOnlineStore.
var ErrNone = errors.New("no online store configured (online_store: none)")

// Open opens the online store cfg names. repoPath resolves a relative
// SQLite path. cfg.Type must be set: config.Load fills in the default
// (sqlite) when online_store is absent, and Open treats an empty type like
// any other unknown one.
func Open(ctx context.Context, cfg config.OnlineStoreConfig, repoPath string) (online.Store, error) {
	var (
		s   online.Store
		err error
	)
	switch cfg.Type {
	case "sqlite":
		s, err = sqlite.Open(ctx, cfg.SQLite, repoPath)
	case "redis":
		s, err = redis.Open(ctx, cfg.Redis)
	case "postgres":
		s, err = postgres.Open(ctx, cfg.Postgres)
	case "none":
		return nil, ErrNone
	default:
		return nil, fmt.Errorf("online store type %q is not supported", cfg.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s online store: %w", cfg.Type, err)
	}
	return s, nil
}
