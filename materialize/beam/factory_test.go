package beam

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
)

// openBoth opens the online store of cfg the way the feast binary does
// (FeatureStore.OnlineStore) and the way a Beam worker does (the worker
// store cache), and returns each store's Go type or error text.
func openBoth(t *testing.T, cfg *config.RepoConfig) (cli, worker string) {
	t.Helper()
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	if s, err := fs.OnlineStore(ctx); err != nil {
		cli = "error: " + err.Error()
	} else {
		cli = fmt.Sprintf("%T", s)
	}
	// Workers run on the serialized online_store section and the repo path.
	if w, release, err := workerStores.acquire(ctx, cfg.OnlineStore, cfg.RepoPath); err != nil {
		worker = "error: " + err.Error()
	} else {
		worker = fmt.Sprintf("%T", w)
		release()
	}
	return cli, worker
}

func repoConfig(t *testing.T, online config.OnlineStoreConfig, offline config.OfflineStoreConfig) *config.RepoConfig {
	dir := t.TempDir()
	return &config.RepoConfig{
		Project: "factory", RepoPath: dir,
		Registry:     config.RegistryConfig{RegistryType: "file", Path: filepath.Join(dir, "registry.db")},
		OnlineStore:  online,
		OfflineStore: offline,
	}
}

// The Beam workers and the feast binary open online stores through one
// factory: for every online_store type, including the empty one and none,
// both build the same store or fail with the same error.
func TestWorkerAndCLIOpenTheSameOnlineStore(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(t *testing.T) config.OnlineStoreConfig
		want string
	}{
		{"sqlite", func(t *testing.T) config.OnlineStoreConfig {
			return config.OnlineStoreConfig{Type: "sqlite", SQLite: config.SQLiteOnlineConfig{Path: "online.db"}}
		}, "*sqlite.Store"},
		{"redis", func(t *testing.T) config.OnlineStoreConfig {
			return config.OnlineStoreConfig{Type: "redis", Redis: config.RedisOnlineConfig{ConnectionString: testenv.RedisAddr(t)}}
		}, "*redis.Store"},
		{"postgres", func(t *testing.T) config.OnlineStoreConfig {
			return config.OnlineStoreConfig{Type: "postgres", Postgres: pgConfig(t)}
		}, "*postgres.Store"},
		// config.Load always sets a type (sqlite when online_store is
		// absent); an unset type is not silently a SQLite store.
		{"empty", func(t *testing.T) config.OnlineStoreConfig {
			return config.OnlineStoreConfig{SQLite: config.SQLiteOnlineConfig{Path: "online.db"}}
		}, `error: online store type "" is not supported`},
		{"none", func(t *testing.T) config.OnlineStoreConfig {
			return config.OnlineStoreConfig{Type: "none"}
		}, "error: " + feast.ErrNoOnlineStore.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cli, worker := openBoth(t, repoConfig(t, c.cfg(t), config.OfflineStoreConfig{Type: "duckdb"}))
			if cli != c.want || worker != c.want {
				t.Fatalf("feast binary opened %s, beam worker opened %s; want %s for both", cli, worker, c.want)
			}
		})
	}
}

// pgConfig is the test PostgreSQL database as a postgres online/offline
// store configuration.
func pgConfig(t *testing.T) config.PostgresConfig {
	t.Helper()
	return config.PostgresConfig{DSN: testenv.PostgresDSN(t)}
}

// An unknown store type fails with the same error wherever a store is
// opened: the online store from the binary and from a worker, the offline
// store from the binary and from a worker's PostgreSQL read, and the
// registry.
func TestUnknownStoreTypeFailsTheSameEverywhere(t *testing.T) {
	ctx := context.Background()
	cfg := repoConfig(t, config.OnlineStoreConfig{Type: "dynamodb"}, config.OfflineStoreConfig{Type: "snowflake"})

	cli, worker := openBoth(t, cfg)
	const wantOnline = `error: online store type "dynamodb" is not supported`
	if cli != wantOnline || worker != wantOnline {
		t.Errorf("online: feast binary %s, beam worker %s; want %s", cli, worker, wantOnline)
	}

	const wantOffline = `offline store type "snowflake" is not supported`
	fs, err := feast.Open(ctx, feast.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if _, err := fs.OfflineStore(ctx); err == nil || err.Error() != wantOffline {
		t.Errorf("offline, feast binary: %v; want %s", err, wantOffline)
	}
	if _, err := openPostgres(ctx, cfg.OfflineStore, cfg.RepoPath); err == nil || err.Error() != wantOffline {
		t.Errorf("offline, beam worker: %v; want %s", err, wantOffline)
	}

	cfg.Registry.RegistryType = "dynamodb"
	const wantRegistry = `registry type "dynamodb" is not supported (supported: file, sql)`
	if _, err := feast.Open(ctx, feast.Options{Config: cfg}); err == nil || err.Error() != wantRegistry {
		t.Errorf("registry: %v; want %s", err, wantRegistry)
	}
}

// A worker reading a PostgreSQL split opens the offline store through the
// factory and gets the PostgreSQL store.
func TestWorkerOpensPostgresOfflineStoreThroughTheFactory(t *testing.T) {
	ctx := context.Background()
	pg, err := openPostgres(ctx, config.OfflineStoreConfig{Type: "postgres", Postgres: pgConfig(t)}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pg.Close()
	const want = "postgres split: offline_store is duckdb, not postgres"
	if _, err = openPostgres(ctx, config.OfflineStoreConfig{Type: "duckdb"}, t.TempDir()); err == nil || err.Error() != want {
		t.Fatalf("duckdb offline store for a postgres split: %v; want %s", err, want)
	}
}
