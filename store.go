// Package feast is the library entry point of the feature store: open a
// feature repository (feature_store.yaml plus definitions) and plan, apply,
// materialize, retrieve training data and serve online features.
//
// A FeatureStore is safe for concurrent use. Stores are opened lazily on
// first use and closed by Close.
package feast

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/internal/onlinestore"
	"github.com/feastgo/feast/internal/registrystore"
	"github.com/feastgo/feast/materialize"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/registry"
)

// Version is the feature store version reported by `feast version` and the
// serving info endpoint. It is overridden at build time with -ldflags.
var Version = "0.1.0-dev"

// Options configures Open.
type Options struct {
	// RepoPath is the feature repository directory (default ".").
	RepoPath string
	// ConfigPath overrides <RepoPath>/feature_store.yaml.
	ConfigPath string
	// Config, when set, is used instead of reading a file.
	Config *config.RepoConfig
	// Logger receives structured logs; default slog.Default().
	Logger *slog.Logger
	// Now returns the current time; default time.Now. Tests inject a clock.
	Now func() time.Time
	// LookupEnv resolves ${VAR} in the config; default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Engines adds materialization engines by batch_engine type (for
	// example "beam", registered by the feast-beam binary). The in-process
	// "local" engine is always available.
	Engines map[string]EngineFactory
}

// EngineFactory builds a materialization engine from the configuration.
type EngineFactory func(ctx context.Context, cfg *config.RepoConfig) (materialize.Engine, error)

// FeatureStore is an opened feature repository.
type FeatureStore struct {
	cfg      *config.RepoConfig
	engines  map[string]EngineFactory
	logger   *slog.Logger
	now      func() time.Time
	registry *registry.Registry

	// The online and offline stores are opened on first use, each under
	// its own lock: an offline database that hangs while connecting must
	// not hold up online reads and writes.
	onlineMu  sync.Mutex
	online    online.Store
	offlineMu sync.Mutex
	offline   offlineHandle

	// onlinePlans caches resolved online requests for the current snapshot.
	onlinePlans planCache
}

// Open loads the configuration and opens the registry. The online and
// offline stores are opened on first use.
func Open(ctx context.Context, opts Options) (*FeatureStore, error) {
	cfg := opts.Config
	if cfg == nil {
		var err error
		cfg, err = config.Load(config.Options{RepoPath: opts.RepoPath, ConfigPath: opts.ConfigPath, LookupEnv: opts.LookupEnv})
		if err != nil {
			return nil, err
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	store, err := OpenRegistryStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &FeatureStore{
		cfg: cfg, logger: logger, now: now, engines: opts.Engines,
		registry: registry.New(store, cfg.Project, registry.Options{CacheTTL: cfg.Registry.CacheTTL(), Now: now}),
	}, nil
}

// OpenRegistryStore opens the registry backend named by the configuration.
func OpenRegistryStore(ctx context.Context, cfg *config.RepoConfig) (registry.Store, error) {
	return registrystore.Open(ctx, cfg.Registry, cfg.RepoPath)
}

// Config returns the parsed configuration.
func (fs *FeatureStore) Config() *config.RepoConfig { return fs.cfg }

// Project returns the configured project name.
func (fs *FeatureStore) Project() string { return fs.cfg.Project }

// Registry returns the cached registry.
func (fs *FeatureStore) Registry() *registry.Registry { return fs.registry }

// Logger returns the store's logger.
func (fs *FeatureStore) Logger() *slog.Logger { return fs.logger }

// Now returns the store's clock reading.
func (fs *FeatureStore) Now() time.Time { return fs.now() }

// Snapshot returns the current registry snapshot of the project.
func (fs *FeatureStore) Snapshot(ctx context.Context) (*registry.Snapshot, error) {
	return fs.registry.Snapshot(ctx)
}

// LoadDefinitions reads and validates the repository's definitions,
// including type-checking on-demand expressions.
func (fs *FeatureStore) LoadDefinitions() (*definitions.Repo, error) {
	return definitions.Load(fs.cfg.RepoPath, definitions.Options{CheckODFV: checkODFV})
}

// OnlineStore returns the online store, opening it on first use.
func (fs *FeatureStore) OnlineStore(ctx context.Context) (online.Store, error) {
	fs.onlineMu.Lock()
	defer fs.onlineMu.Unlock()
	if fs.online != nil {
		return fs.online, nil
	}
	s, err := OpenOnlineStore(ctx, fs.cfg)
	if err != nil {
		return nil, err
	}
	fs.online = s
	return s, nil
}

// ErrNoOnlineStore is returned when online_store is none.
var ErrNoOnlineStore = onlinestore.ErrNone

// Close closes every store that was opened.
func (fs *FeatureStore) Close() error {
	var errs []error
	fs.onlineMu.Lock()
	if fs.online != nil {
		errs = append(errs, fs.online.Close())
		fs.online = nil
	}
	fs.onlineMu.Unlock()
	fs.offlineMu.Lock()
	if fs.offline != nil {
		errs = append(errs, fs.offline.Close())
		fs.offline = nil
	}
	fs.offlineMu.Unlock()
	fs.registry.Close()
	errs = append(errs, fs.registry.Store().Close())
	return errors.Join(errs...)
}

// FeatureView returns the named feature view from the current snapshot.
func (fs *FeatureStore) FeatureView(ctx context.Context, name string) (*model.FeatureView, error) {
	snap, err := fs.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	fv, ok := snap.FeatureViews[name]
	if !ok {
		return nil, &registry.NotFoundError{Kind: "feature view", Name: name, Project: fs.cfg.Project, Suggestions: config.Closest(name, snap.FeatureViewNames(), 3)}
	}
	return fv, nil
}
