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
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/definitions"
	"github.com/feastgo/feast/internal/onlinestore"
	"github.com/feastgo/feast/internal/redact"
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
	// RegistryTimeout bounds opening the registry (connecting to a SQL
	// registry's database and checking its schema) and recording each
	// materialized interval. 0 means the FEAST_REGISTRY_TIMEOUT
	// environment variable (a Go duration such as 2m) or, without it,
	// DefaultRegistryTimeout; negative means no limit.
	RegistryTimeout time.Duration
}

// DefaultRegistryTimeout is the default Options.RegistryTimeout.
const DefaultRegistryTimeout = 30 * time.Second

// EnvRegistryTimeout names the environment variable that sets the registry
// timeout of the feast commands (Options.RegistryTimeout): a Go duration
// such as 2m; 0 or a negative one means no limit.
const EnvRegistryTimeout = "FEAST_REGISTRY_TIMEOUT"

// RegistryTimeoutError is a registry operation that did not end within the
// registry timeout (Options.RegistryTimeout).
type RegistryTimeoutError struct {
	// Op says what was being done, naming the registry or the object.
	Op      string
	Timeout time.Duration
	// Err is the operation's own error, when it returned one.
	Err error
}

func (e *RegistryTimeoutError) Error() string {
	msg := fmt.Sprintf("%s: the registry did not answer within the registry timeout of %s", e.Op, e.Timeout)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg + fmt.Sprintf("; check that the registry can be reached from here (host, port, firewall, credentials), "+
		"or raise the timeout with %s=2m (feast.Options.RegistryTimeout)", EnvRegistryTimeout)
}

// Unwrap returns the operation's error, and context.DeadlineExceeded.
func (e *RegistryTimeoutError) Unwrap() []error {
	if e.Err == nil {
		return []error{context.DeadlineExceeded}
	}
	return []error{e.Err, context.DeadlineExceeded}
}

// registryTimeout resolves Options.RegistryTimeout.
func registryTimeout(opts Options) (time.Duration, error) {
	if opts.RegistryTimeout != 0 {
		return opts.RegistryTimeout, nil
	}
	v, ok := os.LookupEnv(EnvRegistryTimeout)
	if !ok || v == "" {
		return DefaultRegistryTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a duration: use for example %s=2m (0 for no limit)", EnvRegistryTimeout, v, EnvRegistryTimeout)
	}
	return d, nil
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
	// registryTimeout is Options.RegistryTimeout, resolved.
	registryTimeout time.Duration

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
	timeout, err := registryTimeout(opts)
	if err != nil {
		return nil, err
	}
	store, err := openRegistryStore(ctx, cfg, timeout)
	if err != nil {
		return nil, err
	}
	return &FeatureStore{
		cfg: cfg, logger: logger, now: now, engines: opts.Engines, registryTimeout: timeout,
		registry: registry.New(store, cfg.Project, registry.Options{CacheTTL: cfg.Registry.CacheTTL(), Now: now, LoadTimeout: max(timeout, 0)}),
	}, nil
}

// openRegistryStore is OpenRegistryStore within timeout (none when it is
// not positive): a SQL registry whose host drops packets would otherwise
// hang the command (the database driver's own connect timeout is not set
// by default). It waits on its own goroutine, since opening need not
// honor the context, and closes a store that opens after all.
func openRegistryStore(ctx context.Context, cfg *config.RepoConfig, timeout time.Duration) (registry.Store, error) {
	if timeout <= 0 {
		return OpenRegistryStore(ctx, cfg)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type opened struct {
		s   registry.Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := OpenRegistryStore(tctx, cfg)
		done <- opened{s, err}
	}()
	var err error
	select {
	case o := <-done:
		if o.err == nil || ctx.Err() != nil || tctx.Err() == nil {
			return o.s, o.err
		}
		err = o.err
	case <-tctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		go func() {
			if o := <-done; o.s != nil {
				o.s.Close()
			}
		}()
	}
	return nil, &RegistryTimeoutError{Op: fmt.Sprintf("open the %s registry %s", registryKind(cfg), redact.String(cfg.Registry.Path)), Timeout: timeout, Err: err}
}

// registryKind is "sql" or "file", as registry_type says.
func registryKind(cfg *config.RepoConfig) string {
	if cfg.Registry.RegistryType == "sql" {
		return "sql"
	}
	return "file"
}

// OpenRegistryStore opens the registry backend named by the configuration.
func OpenRegistryStore(ctx context.Context, cfg *config.RepoConfig) (registry.Store, error) {
	return registrystore.Open(ctx, cfg.Registry, cfg.RepoPath)
}

// Config returns the parsed configuration.
func (fs *FeatureStore) Config() *config.RepoConfig { return fs.cfg }

// Project returns the configured project name.
func (fs *FeatureStore) Project() string { return fs.cfg.Project }

// RegistryTimeout returns the registry timeout (Options.RegistryTimeout,
// resolved); 0 or negative means none.
func (fs *FeatureStore) RegistryTimeout() time.Duration { return fs.registryTimeout }

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
