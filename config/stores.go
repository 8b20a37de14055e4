package config

import "time"

// SQLiteOnlineConfig configures the embedded SQLite online store (type: sqlite).
type SQLiteOnlineConfig struct {
	// Path of the database file; relative paths resolve against the repo.
	// Default data/online.db.
	Path string `yaml:"path"`
	// ReadTimeout bounds each online read and readiness check, in seconds
	// (a database locked by another process fails the read, as unavailable,
	// instead of holding it); 0 means 1 second.
	ReadTimeout float64 `yaml:"read_timeout"`
}

// RedisOnlineConfig configures the Redis online store (type: redis), in
// Feast's format.
type RedisOnlineConfig struct {
	// RedisType is "redis" (default), "redis_cluster" or "redis_sentinel".
	RedisType string `yaml:"redis_type"`
	// ConnectionString is "host:port[,host:port...][,password=...][,db=N][,ssl=true]".
	// Default localhost:6379.
	ConnectionString string `yaml:"connection_string"`
	// KeyTTLSeconds, when > 0, expires each entity hash after that many
	// seconds from its last write (Feast's key_ttl_seconds). 0 = never.
	KeyTTLSeconds int `yaml:"key_ttl_seconds"`
	// SentinelMaster is the master set name for redis_type
	// redis_sentinel; connection_string then lists the sentinels.
	SentinelMaster string `yaml:"sentinel_master"`
	// FullScanForDeletion and SkipDedup are accepted for compatibility.
	FullScanForDeletion *bool `yaml:"full_scan_for_deletion"`
	SkipDedup           bool  `yaml:"skip_dedup"`
}

// PostgresConfig holds connection settings shared by the PostgreSQL online
// and offline stores (Feast's PostgreSQLConfig).
type PostgresConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"` // default 5432
	Database string `yaml:"database"`
	DBSchema string `yaml:"db_schema"` // default public
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// SSLMode defaults to "disable" when Host is a loopback address, else "require".
	SSLMode         string `yaml:"sslmode"`
	SSLKeyPath      string `yaml:"sslkey_path"`
	SSLCertPath     string `yaml:"sslcert_path"`
	SSLRootCertPath string `yaml:"sslrootcert_path"`
	KeepalivesIdle  int    `yaml:"keepalives_idle"`
	MinConn         int    `yaml:"min_conn"`
	MaxConn         int    `yaml:"max_conn"` // default 10
	ConnType        string `yaml:"conn_type"`
	// DSN, when set, is a libpq URL or key=value string used instead of the
	// fields above (an extension of Feast's config).
	DSN string `yaml:"dsn"`
	// ConnectTimeout bounds connecting, in seconds (libpq's
	// connect_timeout; one in the DSN wins); 0 means 1 second for the
	// online store and 10 seconds for the offline store.
	ConnectTimeout float64 `yaml:"connect_timeout"`
	// ReadTimeout bounds each online read and readiness check, in seconds;
	// 0 means 1 second.
	ReadTimeout float64 `yaml:"read_timeout"`
	// EntitySelectMode is accepted for compatibility (offline store).
	EntitySelectMode string `yaml:"entity_select_mode"`
}

// OnlineStoreConfig is the online_store section. Type selects which of the
// embedded configs is used.
type OnlineStoreConfig struct {
	// Type is sqlite (default), redis, postgres or none.
	Type     string
	SQLite   SQLiteOnlineConfig
	Redis    RedisOnlineConfig
	Postgres PostgresConfig
}

// DefaultDuckDBMemoryLimit is the DuckDB offline store's memory_limit when
// feature_store.yaml sets none. Historical retrieval of 1M entity rows
// against 10M feature rows runs within 1.4x of DuckDB with all the memory
// it wants, at about a third of its peak (a seventeenth at 100M feature
// rows; BENCHMARKS.md); the process
// peaks near this limit plus ~150 MiB of engine overhead, whatever the
// data size.
const DefaultDuckDBMemoryLimit = "128MB"

// OfflineStoreConfig is the offline_store section.
type OfflineStoreConfig struct {
	// Type is duckdb (default; "file" and "dask" are accepted aliases) or postgres.
	Type     string
	Postgres PostgresConfig
	// StagingLocation is accepted for Feast duckdb configs.
	StagingLocation string
	// MemoryLimit caps DuckDB's memory (duckdb memory_limit, e.g. "1GB");
	// beyond it DuckDB spills to a temporary directory. Default
	// DefaultDuckDBMemoryLimit, so materializing or joining sources far
	// larger than memory stays bounded; raise it for somewhat faster large
	// joins on big machines (BENCHMARKS.md has the trade).
	MemoryLimit string
	// Threads is DuckDB's worker thread count; 0 means one per core.
	Threads int
	// S3EndpointOverride (s3_endpoint_override) is the endpoint of s3://
	// file sources whose path names none, for S3-compatible stores (MinIO,
	// Ceph, R2); they are then addressed path-style. Empty means AWS (or
	// AWS_ENDPOINT_URL).
	S3EndpointOverride string
	// ObjectCacheDir (object_cache_dir) keeps the staged objects of
	// object-store sources across runs; empty means a temporary directory
	// per process.
	ObjectCacheDir string
	// ObjectCacheBytes (object_cache_max_bytes) bounds ObjectCacheDir
	// between reads; 0 means 10 GiB.
	ObjectCacheBytes int64
	// IcebergCatalogs (iceberg_catalogs) are the catalogs of iceberg
	// sources by name, each an iceberg-go property map (type: rest, sql or
	// glue; uri, warehouse, ...); a source names one in its catalog field
	// (default: "default").
	IcebergCatalogs map[string]map[string]string
}

// RegistryConfig is the registry section.
type RegistryConfig struct {
	// RegistryType is file (default) or sql.
	RegistryType string `yaml:"registry_type"`
	// Path is a file path (relative to the repo), an s3:// or gs:// URI, or
	// for sql a database URL (postgresql://, mysql://, sqlite:///path).
	Path string `yaml:"path"`
	// CacheTTLSeconds is how long a cached registry snapshot is served before
	// it is refreshed; 0 means never expire. Default 600.
	CacheTTLSeconds *int `yaml:"cache_ttl_seconds"`
	// CacheMode (sync|thread), RegistryStoreType, and the SQL-only keys are
	// accepted for compatibility with Feast configs.
	CacheMode                         string         `yaml:"cache_mode"`
	RegistryStoreType                 string         `yaml:"registry_store_type"`
	ReadPath                          string         `yaml:"read_path"`
	SchemaMode                        string         `yaml:"schema_mode"`
	PurgeFeastMetadata                bool           `yaml:"purge_feast_metadata"`
	SQLAlchemyConfigKwargs            map[string]any `yaml:"sqlalchemy_config_kwargs"`
	ThreadPoolExecutorWorkerCount     int            `yaml:"thread_pool_executor_worker_count"`
	S3AdditionalKwargs                map[string]any `yaml:"s3_additional_kwargs"`
	EnableOnlineFeatureViewVersioning bool           `yaml:"enable_online_feature_view_versioning"`
}

// CacheTTL returns the cache TTL; 0 means never expire.
func (r RegistryConfig) CacheTTL() time.Duration {
	if r.CacheTTLSeconds == nil {
		return 600 * time.Second
	}
	return time.Duration(*r.CacheTTLSeconds) * time.Second
}

// BatchEngineConfig is the batch_engine section.
type BatchEngineConfig struct {
	// Type is local (default) or beam.
	Type string `yaml:"type"`
	// Options holds engine-specific keys.
	Options map[string]any `yaml:",inline"`
}

// MaterializationConfig is the materialization section.
type MaterializationConfig struct {
	PullLatestFeatures   bool `yaml:"pull_latest_features"`
	OnlineWriteBatchSize int  `yaml:"online_write_batch_size"`
}
