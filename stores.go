package feast

import (
	"context"
	"fmt"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/offlinestore"
	"github.com/feastgo/feast/internal/onlinestore"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/transform"
)

type offlineHandle = offline.Store

// openOffline opens the offline store the configuration names.
func openOffline(ctx context.Context, cfg *config.RepoConfig) (offline.Store, error) {
	return offlinestore.Open(ctx, cfg.OfflineStore, cfg.RepoPath)
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

// OpenOnlineStore opens the online store the configuration names, through
// the same factory as FeatureStore.OnlineStore and the Beam workers. It
// returns ErrNoOnlineStore for online_store: none. A materialization engine
// registered with Options.Engines uses it to open the store it writes to.
func OpenOnlineStore(ctx context.Context, cfg *config.RepoConfig) (online.Store, error) {
	return onlinestore.Open(ctx, cfg.OnlineStore, cfg.RepoPath)
}

// checkODFV compiles an on-demand view's expressions against its inputs.
func checkODFV(o *model.OnDemandFeatureView, inputs []model.Field) error {
	_, err := transform.Compile(o, inputs)
	return err
}
