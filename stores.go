package feast

import (
	"context"
	"fmt"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/offline/duckdb"
	offlinepg "github.com/feastgo/feast/offline/postgres"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/postgres"
	"github.com/feastgo/feast/online/redis"
	"github.com/feastgo/feast/online/sqlite"
	"github.com/feastgo/feast/transform"
)

type offlineHandle = offline.Store

// openOffline opens the offline store the configuration names.
func openOffline(ctx context.Context, cfg *config.RepoConfig) (offline.Store, error) {
	switch cfg.OfflineStore.Type {
	case "duckdb":
		s, err := duckdb.Open(ctx, cfg.OfflineStore, cfg.RepoPath)
		if err != nil {
			return nil, fmt.Errorf("open duckdb offline store: %w", err)
		}
		return s, nil
	case "postgres":
		s, err := offlinepg.Open(ctx, cfg.OfflineStore.Postgres)
		if err != nil {
			return nil, fmt.Errorf("open postgres offline store: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("offline store type %q is not supported", cfg.OfflineStore.Type)
}

// engine returns the materialization engine the configuration names.
func (fs *FeatureStore) engine(ctx context.Context) (materialize.Engine, error) {
	src, err := fs.OfflineStore(ctx)
	if err != nil {
		return nil, err
	}
	dst, err := fs.OnlineStore(ctx)
	if err != nil {
		return nil, err
	}
	switch fs.cfg.BatchEngine.Type {
	case "local", "":
		return materialize.NewLocal(src, dst, materialize.LocalOptions{BatchSize: fs.cfg.Materialization.OnlineWriteBatchSize}), nil
	}
	if f, ok := fs.engines[fs.cfg.BatchEngine.Type]; ok {
		return f(ctx, fs.cfg)
	}
	hint := ""
	if fs.cfg.BatchEngine.Type == "beam" {
		hint = "; run the feast-beam binary, which includes the Beam engine (see docs/materialization.md)"
	}
	return nil, fmt.Errorf("batch_engine %q is not available in this binary%s", fs.cfg.BatchEngine.Type, hint)
}

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
