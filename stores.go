package feast

import (
	"context"
	"fmt"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/postgres"
	"github.com/feastgo/feast/online/redis"
	"github.com/feastgo/feast/online/sqlite"
	"github.com/feastgo/feast/transform"
)

type offlineHandle interface{ Close() error }

// openOnline opens the online store the configuration names.
func openOnline(ctx context.Context, cfg *config.RepoConfig) (online.Store, error) {
	var (
		s   online.Store
		err error
	)
	switch cfg.OnlineStore.Type {
	case "sqlite":
		s, err = sqlite.Open(ctx, cfg.OnlineStore.SQLite, cfg.RepoPath)
	case "redis":
		s, err = redis.Open(ctx, cfg.OnlineStore.Redis)
	case "postgres":
		s, err = postgres.Open(ctx, cfg.OnlineStore.Postgres)
	case "none":
		return nil, ErrNoOnlineStore
	default:
		return nil, fmt.Errorf("online store type %q is not supported", cfg.OnlineStore.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s online store: %w", cfg.OnlineStore.Type, err)
	}
	return s, nil
}

// checkODFV compiles an on-demand view's expressions against its inputs.
func checkODFV(o *model.OnDemandFeatureView, inputs []model.Field) error {
	_, err := transform.Compile(o, inputs)
	return err
}
