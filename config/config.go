// Package config loads feature_store.yaml: environment substitution
// (${VAR} and ${VAR:"default"}), defaults, and strict validation of the
// store sections.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/feastgo/feast/internal/redact"
	didyoumean "github.com/feastgo/feast/internal/suggest"
)

// FileName is the default configuration file name inside a repository.
const FileName = "feature_store.yaml"

// EnvFilePath overrides the configuration file location, as in Feast.
const EnvFilePath = "FEAST_FS_YAML_FILE_PATH"

// RepoConfig is a parsed feature_store.yaml.
type RepoConfig struct {
	// RepoPath is the directory holding the definitions; relative store
	// paths resolve against it.
	RepoPath string
	// ConfigPath is the file the configuration was read from.
	ConfigPath string

	Project            string
	ProjectDescription string
	Provider           string
	Registry           RegistryConfig
	OnlineStore        OnlineStoreConfig
	OfflineStore       OfflineStoreConfig
	BatchEngine        BatchEngineConfig
	Materialization    MaterializationConfig
	FeatureServer      FeatureServerConfig
	Auth               AuthConfig
	// EntityKeySerializationVersion is 3 (the default and the only version written).
	EntityKeySerializationVersion int
	CoerceTZAware                 bool

	// Warnings lists accepted-but-ignored settings, for the CLI to print.
	Warnings []string
}

// FeatureServerConfig is the feature_server section.
type FeatureServerConfig struct {
	Type    string `yaml:"type"`
	Enabled bool   `yaml:"enabled"`
	// ReadOnly rejects every write endpoint with 403.
	ReadOnly                      bool           `yaml:"read_only"`
	TransformationServiceEndpoint string         `yaml:"transformation_service_endpoint"`
	FeatureLogging                map[string]any `yaml:"feature_logging"`
	Metrics                       map[string]any `yaml:"metrics"`
	// MaxPushRows bounds the rows of one push or write-to-online-store
	// request (larger ones get 413); 0 means DefaultMaxPushRows, negative
	// means no limit. See PushRowLimit.
	MaxPushRows int `yaml:"max_push_rows"`
	// MaxConcurrentWrites bounds the pushes and online writes decoded and
	// written at once (more get 429 with Retry-After); 0 means
	// DefaultMaxConcurrentWrites, negative means no limit.
	MaxConcurrentWrites int `yaml:"max_concurrent_writes"`
	// MaxFutureEventTimeSeconds rejects online writes whose event
	// timestamp is more than this far ahead of the server's clock; 0 means
	// DefaultMaxFutureEventTime, negative means no check.
	MaxFutureEventTimeSeconds int64 `yaml:"max_future_event_time_seconds"`
	// AuditLog writes one structured log line (logger "feast.audit") per
	// write, materialization and denied request. Feast's
	// metrics.audit_logging turns it on too.
	AuditLog bool `yaml:"audit_log"`
}

// AuditLogging reports whether audit_log or Feast's metrics.audit_logging
// is on.
func (c FeatureServerConfig) AuditLogging() bool {
	if c.AuditLog {
		return true
	}
	b, _ := c.Metrics["audit_logging"].(bool)
	return b
}

// Defaults of the feature_server write limits. 100,000 rows is about 5 MB
// of JSON for a view of a few features (the 16 MiB body limit holds about
// 350,000) and decodes in about 150 MiB; four such writes at once keep a
// server under 1 GiB. A day of clock skew is more than any clock or time
// zone mistake should produce, and a row dated further ahead would hide
// every later row of its entity until that time.
const (
	DefaultMaxPushRows         = 100_000
	DefaultMaxConcurrentWrites = 4
	DefaultMaxFutureEventTime  = 24 * time.Hour
)

// PushRowLimit is MaxPushRows with its default; 0 means no limit.
func (c FeatureServerConfig) PushRowLimit() int {
	switch {
	case c.MaxPushRows == 0:
		return DefaultMaxPushRows
	case c.MaxPushRows < 0:
		return 0
	}
	return c.MaxPushRows
}

// WriteConcurrency is MaxConcurrentWrites with its default; 0 means no
// limit.
func (c FeatureServerConfig) WriteConcurrency() int {
	switch {
	case c.MaxConcurrentWrites == 0:
		return DefaultMaxConcurrentWrites
	case c.MaxConcurrentWrites < 0:
		return 0
	}
	return c.MaxConcurrentWrites
}

// MaxFutureEventTime is MaxFutureEventTimeSeconds with its default; 0
// means no check.
func (c FeatureServerConfig) MaxFutureEventTime() time.Duration {
	switch {
	case c.MaxFutureEventTimeSeconds == 0:
		return DefaultMaxFutureEventTime
	case c.MaxFutureEventTimeSeconds < 0:
		return 0
	}
	return time.Duration(c.MaxFutureEventTimeSeconds) * time.Second
}

// AuthConfig is the auth section, with Feast's keys
// (feast/permissions/auth_model.py) and a few of ours.
type AuthConfig struct {
	// Type is no_auth (default), token (ours: "Authorization: Bearer <one
	// of Tokens>"), oidc or kubernetes.
	Type   string   `yaml:"type"`
	Tokens []string `yaml:"tokens"`

	// oidc: tokens are JWTs verified with the provider's keys, found
	// through AuthDiscoveryURL (an OpenID discovery document).
	AuthDiscoveryURL string `yaml:"auth_discovery_url"`
	// ClientID names the client whose roles are read from Keycloak's
	// resource_access.<client_id>.roles claim.
	ClientID   string `yaml:"client_id"`
	UIClientID string `yaml:"ui_client_id"`
	// VerifySSL (default true) and CACertPath configure TLS to the provider.
	VerifySSL  *bool  `yaml:"verify_ssl"`
	CACertPath string `yaml:"ca_cert_path"`
	// Audience and Issuer, when set, must equal the token's aud / iss.
	Audience string `yaml:"audience"`
	Issuer   string `yaml:"issuer"`
	// JWKSCacheLifespanSeconds is how often the key set is refreshed in the
	// background (default 300); JWKSRequestTimeoutSeconds bounds one fetch
	// (default 10).
	JWKSCacheLifespanSeconds  int     `yaml:"jwks_cache_lifespan_seconds"`
	JWKSRequestTimeoutSeconds float64 `yaml:"jwks_request_timeout_seconds"`
	// Client-side OIDC settings of Python Feast's clients: accepted, unused
	// by the server.
	Username                  string `yaml:"username"`
	Password                  string `yaml:"password"`
	ClientSecret              string `yaml:"client_secret"`
	Token                     string `yaml:"token"`
	TokenEnvVar               string `yaml:"token_env_var"`
	TokenRefreshMarginSeconds int    `yaml:"token_refresh_margin_seconds"`

	// kubernetes: service-account tokens checked with a TokenReview, roles
	// from the RoleBindings in Namespace (default: the pod's namespace).
	// UserToken is the Python client's setting, unused by the server.
	UserToken string `yaml:"user_token"`
	Namespace string `yaml:"namespace"`
	// Kubeconfig is a kubeconfig file to reach the API server with; empty
	// means the in-cluster configuration, then $KUBECONFIG.
	Kubeconfig string `yaml:"kubeconfig"`
	// CacheTTLSeconds is how long a token's identity is reused before the
	// API server is asked again (default 30; 0 disables the cache).
	CacheTTLSeconds *int `yaml:"cache_ttl_seconds"`
}

// Default OIDC and Kubernetes cache settings.
const (
	DefaultJWKSCacheLifespan  = 300 * time.Second
	DefaultJWKSRequestTimeout = 10 * time.Second
	DefaultKubernetesCacheTTL = 30 * time.Second
)

// JWKSCacheLifespan is jwks_cache_lifespan_seconds or its default.
func (c AuthConfig) JWKSCacheLifespan() time.Duration {
	if c.JWKSCacheLifespanSeconds > 0 {
		return time.Duration(c.JWKSCacheLifespanSeconds) * time.Second
	}
	return DefaultJWKSCacheLifespan
}

// JWKSRequestTimeout is jwks_request_timeout_seconds or its default.
func (c AuthConfig) JWKSRequestTimeout() time.Duration {
	if c.JWKSRequestTimeoutSeconds > 0 {
		return time.Duration(c.JWKSRequestTimeoutSeconds * float64(time.Second))
	}
	return DefaultJWKSRequestTimeout
}

// VerifyTLS is verify_ssl (default true).
func (c AuthConfig) VerifyTLS() bool { return c.VerifySSL == nil || *c.VerifySSL }

// KubernetesCacheTTL is cache_ttl_seconds or its default.
func (c AuthConfig) KubernetesCacheTTL() time.Duration {
	if c.CacheTTLSeconds == nil {
		return DefaultKubernetesCacheTTL
	}
	return time.Duration(max(*c.CacheTTLSeconds, 0)) * time.Second
}

// Error is a configuration problem, located in the file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one load.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Options tells Load where to look.
type Options struct {
	// RepoPath is the repository directory (default ".").
	RepoPath string
	// ConfigPath overrides <RepoPath>/feature_store.yaml (the -f flag).
	ConfigPath string
	// LookupEnv resolves variables; default os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load reads and validates the configuration. The repository path is the
// directory given, or the config file's directory when only -f is given.
func Load(opts Options) (*RepoConfig, error) {
	repo := opts.RepoPath
	if repo == "" {
		repo = "."
	}
	path := opts.ConfigPath
	if path == "" {
		path = os.Getenv(EnvFilePath)
	}
	if path == "" {
		path = filepath.Join(repo, FileName)
	} else if opts.RepoPath == "" {
		repo = filepath.Dir(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no %s found at %s: run `feast init` to create a repository, or pass -c REPO / -f FILE", FileName, path)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	absRepo, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return Parse(path, absRepo, data, lookup)
}

// Parse parses configuration bytes; file is used in messages.
func Parse(file, repoPath string, data []byte, lookup func(string) (string, bool)) (*RepoConfig, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &Error{File: file, Msg: "invalid YAML: " + err.Error()}
	}
	p := &parser{file: file, lookup: lookup}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: file, Msg: "expected a mapping with at least `project:`"}
	}
	root := doc.Content[0]
	p.substitute(root)
	cfg := &RepoConfig{RepoPath: repoPath, ConfigPath: file, EntityKeySerializationVersion: 3, CoerceTZAware: true, Provider: "local"}
	p.parseRoot(root, cfg)
	if f := sharedSQLiteFile(cfg); f != "" {
		p.errorf(root, "the SQL registry and the sqlite online store are both the file %s: give them separate files "+
			"(they use different SQLite libraries, whose locks do not see each other within one process)", f)
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return cfg, nil
}

// sharedSQLiteFile returns the file a sqlite:/// SQL registry and the
// sqlite online store would share, or "". The registry's relative path is
// the working directory's (SQLAlchemy's rule), the online store's the
// repository's.
func sharedSQLiteFile(cfg *RepoConfig) string {
	if cfg.Registry.RegistryType != "sql" || cfg.OnlineStore.Type != "sqlite" {
		return ""
	}
	scheme, rest, ok := strings.Cut(cfg.Registry.Path, "://")
	if base, _, _ := strings.Cut(strings.ToLower(scheme), "+"); !ok || base != "sqlite" {
		return ""
	}
	reg, _, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "?")
	onl := cfg.OnlineStore.SQLite.Path // parseOnline fills in the default
	if !filepath.IsAbs(onl) {
		onl = filepath.Join(cfg.RepoPath, onl)
	}
	a, err1 := filepath.Abs(reg)
	b, err2 := filepath.Abs(onl)
	if err1 != nil || err2 != nil || a != b {
		return ""
	}
	return a
}

type parser struct {
	file   string
	lookup func(string) (string, bool)
	errs   Errors
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// envPattern matches ${NAME} and ${NAME:"default"} / ${NAME:'default'}.
var envPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::(?:"([^"]*)"|'([^']*)'))?\}`)

// Substitute expands ${VAR} and ${VAR:"default"} in s. The default applies
// when VAR is unset or empty; an unset variable without a default is an error.
func Substitute(s string, lookup func(string) (string, bool)) (string, error) {
	var missing []string
	out := envPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := envPattern.FindStringSubmatch(m)
		name := sub[1]
		hasDefault := strings.Contains(m, ":")
		def := sub[2] + sub[3]
		if v, ok := lookup(name); ok && (v != "" || !hasDefault) {
			return v
		}
		if hasDefault {
			return def
		}
		missing = append(missing, name)
		return m
	})
	if len(missing) > 0 {
		return s, fmt.Errorf("environment variable %s is not set and has no default (write ${%s:\"default\"} to give one)", strings.Join(missing, ", "), missing[0])
	}
	return out, nil
}

func (p *parser) substitute(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		v, err := Substitute(n.Value, p.lookup)
		if err != nil {
			p.errorf(n, "%v", err)
			return
		}
		n.Value = v
		// A substituted value is re-typed as YAML would type it (numbers, booleans).
		n.Tag = ""
		n.Style = 0
		var probe any
		if yaml.Unmarshal([]byte(v), &probe) != nil {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	for _, c := range n.Content {
		p.substitute(c)
	}
}

// ignoredTopLevel are Feast settings accepted without effect here.
var ignoredTopLevel = map[string]bool{
	"flags": true, "openlineage": true, "mlflow": true, "data_quality_monitoring": true,
	"embedding_model": true, "repo_path": true, "go_feature_serving": true, "go_feature_retrieval": true,
}

func (p *parser) parseRoot(root *yaml.Node, cfg *RepoConfig) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			p.errorf(k, "duplicate key %q", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "project":
			cfg.Project = v.Value
		case "project_description":
			cfg.ProjectDescription = v.Value
		case "provider":
			cfg.Provider = v.Value
			if v.Value != "local" && v.Value != "gcp" && v.Value != "aws" && v.Value != "azure" {
				p.errorf(v, "provider %q is not supported (use local; gcp, aws and azure are accepted as aliases)", v.Value)
			}
		case "registry":
			p.parseRegistry(v, &cfg.Registry)
		case "online_store":
			p.parseOnline(v, &cfg.OnlineStore)
		case "offline_store":
			p.parseOffline(v, &cfg.OfflineStore)
		case "batch_engine", "batch_engine_config":
			p.parseBatchEngine(v, &cfg.BatchEngine)
		case "materialization":
			p.decodeStrict(v, &cfg.Materialization, "materialization")
			if cfg.Materialization.OnlineWriteBatchSize < 0 {
				p.errorf(v, "materialization.online_write_batch_size must be > 0")
			}
		case "feature_server":
			p.decodeStrict(v, &cfg.FeatureServer, "feature_server")
		case "auth":
			p.decodeStrict(v, &cfg.Auth, "auth")
			switch cfg.Auth.Type {
			case "", "no_auth":
			case "token":
				if len(cfg.Auth.Tokens) == 0 {
					p.errorf(v, "auth.type token needs at least one entry in auth.tokens")
				}
			case "oidc":
				if cfg.Auth.AuthDiscoveryURL == "" {
					p.errorf(v, "auth.type oidc needs auth.auth_discovery_url (the provider's /.well-known/openid-configuration URL)")
				}
				if cfg.Auth.JWKSCacheLifespanSeconds < 0 || cfg.Auth.JWKSRequestTimeoutSeconds < 0 {
					p.errorf(v, "auth.jwks_cache_lifespan_seconds and auth.jwks_request_timeout_seconds must be > 0")
				}
			case "kubernetes":
			default:
				p.errorf(v, "auth.type %q is not supported (supported: no_auth, token, oidc, kubernetes)", cfg.Auth.Type)
			}
		case "entity_key_serialization_version":
			if err := v.Decode(&cfg.EntityKeySerializationVersion); err != nil || cfg.EntityKeySerializationVersion != 3 {
				p.errorf(v, "entity_key_serialization_version must be 3 (the only version this implementation writes)")
			}
		case "coerce_tz_aware":
			if err := v.Decode(&cfg.CoerceTZAware); err != nil {
				p.errorf(v, "coerce_tz_aware must be a boolean")
			}
		default:
			if ignoredTopLevel[k.Value] {
				cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s:%d: %q is accepted for Feast compatibility and ignored", p.file, k.Line, k.Value))
				continue
			}
			p.errorf(k, "unknown key %q%s", k.Value, suggest(k.Value, topLevelKeys))
		}
	}
	if !seen["registry"] {
		cfg.Registry.Path = "data/registry.db"
	}
	if !seen["online_store"] {
		p.parseOnline(&yaml.Node{Kind: yaml.ScalarNode, Value: "sqlite"}, &cfg.OnlineStore)
	}
	if !seen["offline_store"] {
		p.parseOffline(&yaml.Node{Kind: yaml.ScalarNode, Value: "duckdb"}, &cfg.OfflineStore)
	}
	if cfg.BatchEngine.Type == "" {
		cfg.BatchEngine.Type = "local"
	}
	if cfg.Registry.RegistryType == "" {
		cfg.Registry.RegistryType = "file"
	}
	if cfg.Project == "" {
		p.errorf(root, "project is required")
	} else if !validProject.MatchString(cfg.Project) {
		p.errorf(root, "project %q: use letters, digits and underscores (it may not start with _ or -)", cfg.Project)
	} else if strings.Contains(cfg.Project, "-") && cfg.OnlineStore.Type == "sqlite" {
		p.errorf(root, "project %q: hyphens are not allowed with the sqlite online store", cfg.Project)
	}
}

var validProject = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

var topLevelKeys = []string{"project", "project_description", "provider", "registry", "online_store", "offline_store",
	"batch_engine", "materialization", "feature_server", "auth", "entity_key_serialization_version", "coerce_tz_aware"}

// decodeStrict decodes a mapping into out, reporting each unknown key by
// name and line.
func (p *parser) decodeStrict(n *yaml.Node, out any, section string) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", section)
		return
	}
	allowed := yamlKeys(reflect.TypeOf(out).Elem())
	if allowed != nil {
		bad := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !slices.Contains(allowed, k.Value) {
				p.errorf(k, "%s: key %s is not a valid key of %s%s (allowed: %s)", section, k.Value, section, suggest(k.Value, allowed), strings.Join(allowed, ", "))
				bad = true
			}
		}
		if bad {
			return
		}
	}
	if err := n.Decode(out); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
		msg = lineRE.ReplaceAllString(msg, "")
		msg = typeNameRE.ReplaceAllString(msg, section)
		p.errorf(n, "%s: %s", section, strings.TrimSpace(msg))
	}
}

// yamlKeys lists the yaml keys of a struct type; nil when it has an inline map.
func yamlKeys(t reflect.Type) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			return nil
		}
		if name == "" || name == "-" {
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

var (
	lineRE     = regexp.MustCompile(`line (\d+): `)
	typeNameRE = regexp.MustCompile(`config\.[A-Za-z]+`)
)

func mappingWithoutType(n *yaml.Node) (string, *yaml.Node, *yaml.Node) {
	out := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	var typ string
	var typNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			typ, typNode = n.Content[i+1].Value, n.Content[i+1]
			continue
		}
		out.Content = append(out.Content, n.Content[i], n.Content[i+1])
	}
	return typ, typNode, out
}

// OnlineStoreTypes lists the supported online store types.
var OnlineStoreTypes = []string{"sqlite", "redis", "postgres", "none"}

// OfflineStoreTypes lists the supported offline store types.
var OfflineStoreTypes = []string{"duckdb", "file", "dask", "postgres"}

func (p *parser) parseOnline(n *yaml.Node, out *OnlineStoreConfig) {
	var typ string
	var typNode, rest *yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "" || n.Value == "null" || n.Value == "none"):
		out.Type = "none"
		return
	case n.Kind == yaml.ScalarNode:
		typ, typNode, rest = n.Value, n, &yaml.Node{Kind: yaml.MappingNode}
	case n.Kind == yaml.MappingNode:
		typ, typNode, rest = mappingWithoutType(n)
	default:
		p.errorf(n, "online_store must be a type name or a mapping")
		return
	}
	if typ == "" {
		typ = "sqlite"
	}
	out.Type = typ
	switch typ {
	case "sqlite":
		p.decodeStrict(rest, &out.SQLite, "online_store")
		if out.SQLite.Path == "" {
			out.SQLite.Path = "data/online.db"
		}
	case "redis":
		p.decodeStrict(rest, &out.Redis, "online_store")
		if out.Redis.ConnectionString == "" {
			out.Redis.ConnectionString = "localhost:6379"
		}
		if out.Redis.RedisType == "" {
			out.Redis.RedisType = "redis"
		}
		if out.Redis.RedisType != "redis" && out.Redis.RedisType != "redis_cluster" {
			p.errorf(rest, "online_store: redis_type %q is not supported (supported: redis, redis_cluster)", out.Redis.RedisType)
		}
	case "postgres":
		p.decodeStrict(rest, &out.Postgres, "online_store")
		p.checkPostgres(rest, &out.Postgres, "online_store")
	case "none":
	default:
		if typNode == nil {
			typNode = n
		}
		p.errorf(typNode, "online_store: unknown type %q (supported: %s)", typ, strings.Join(OnlineStoreTypes, ", "))
	}
}

func (p *parser) checkPostgres(n *yaml.Node, c *PostgresConfig, section string) {
	if c.Port == 0 {
		c.Port = 5432
	}
	if c.DBSchema == "" {
		c.DBSchema = "public"
	}
	if c.MaxConn == 0 {
		c.MaxConn = 10
	}
	if c.DSN != "" {
		return
	}
	var missing []string
	for _, kv := range [][2]string{{"host", c.Host}, {"database", c.Database}, {"user", c.User}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		p.errorf(n, "%s: postgres needs %s (or a dsn)", section, strings.Join(missing, ", "))
	}
}

func (p *parser) parseOffline(n *yaml.Node, out *OfflineStoreConfig) {
	var typ string
	var typNode, rest *yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		typ, typNode, rest = n.Value, n, &yaml.Node{Kind: yaml.MappingNode}
	case yaml.MappingNode:
		typ, typNode, rest = mappingWithoutType(n)
	default:
		p.errorf(n, "offline_store must be a type name or a mapping")
		return
	}
	switch typ {
	case "", "duckdb", "file", "dask":
		out.Type = "duckdb"
		var d struct {
			StagingLocation                 string                       `yaml:"staging_location"`
			StagingLocationEndpointOverride string                       `yaml:"staging_location_endpoint_override"`
			MemoryLimit                     string                       `yaml:"memory_limit"`
			Threads                         int                          `yaml:"threads"`
			S3EndpointOverride              string                       `yaml:"s3_endpoint_override"`
			ObjectCacheDir                  string                       `yaml:"object_cache_dir"`
			ObjectCacheMaxBytes             int64                        `yaml:"object_cache_max_bytes"`
			IcebergCatalogs                 map[string]map[string]string `yaml:"iceberg_catalogs"`
		}
		p.decodeStrict(rest, &d, "offline_store")
		out.StagingLocation, out.MemoryLimit, out.Threads = d.StagingLocation, d.MemoryLimit, d.Threads
		out.S3EndpointOverride, out.ObjectCacheDir, out.ObjectCacheBytes = d.S3EndpointOverride, d.ObjectCacheDir, d.ObjectCacheMaxBytes
		out.IcebergCatalogs = d.IcebergCatalogs
		for _, name := range slices.Sorted(maps.Keys(d.IcebergCatalogs)) {
			if props := d.IcebergCatalogs[name]; props["type"] == "" && !strings.Contains(props["uri"], "://") {
				p.errorf(rest, "offline_store: iceberg_catalogs.%s has no type; set type to rest, sql or glue", name)
			}
		}
		if out.ObjectCacheBytes < 0 {
			p.errorf(rest, "offline_store: object_cache_max_bytes is %d; give a positive size in bytes, or 0 for the default (10 GiB)", out.ObjectCacheBytes)
		}
		if out.MemoryLimit == "" {
			out.MemoryLimit = DefaultDuckDBMemoryLimit
		}
	case "postgres":
		out.Type = "postgres"
		p.decodeStrict(rest, &out.Postgres, "offline_store")
		p.checkPostgres(rest, &out.Postgres, "offline_store")
	default:
		if typNode == nil {
			typNode = n
		}
		p.errorf(typNode, "offline_store: unknown type %q (supported: %s)", typ, strings.Join(OfflineStoreTypes, ", "))
	}
}

func (p *parser) parseRegistry(n *yaml.Node, out *RegistryConfig) {
	switch n.Kind {
	case yaml.ScalarNode:
		out.Path = n.Value
	case yaml.MappingNode:
		p.decodeStrict(n, out, "registry")
	default:
		p.errorf(n, "registry must be a path or a mapping")
		return
	}
	switch out.RegistryType {
	case "", "file":
		if scheme, ok := SQLRegistryScheme(out.Path); ok {
			p.errorf(n, "registry: path %q is a %s database URL but registry_type is file (the default); "+
				"add registry_type: sql to the registry section, e.g. registry: {registry_type: sql, path: %q}",
				redact.String(out.Path), scheme, redact.String(out.Path))
		}
		out.RegistryType = "file"
		if out.Path == "" {
			out.Path = "data/registry.db"
		}
	case "sql":
		if out.Path == "" {
			p.errorf(n, "registry: registry_type sql needs path: a database URL (postgresql://..., mysql://..., sqlite:///...)")
		}
	default:
		p.errorf(n, "registry: unknown registry_type %q (supported: file, sql)", out.RegistryType)
	}
	if out.CacheTTLSeconds != nil && *out.CacheTTLSeconds < 0 {
		p.errorf(n, "registry: cache_ttl_seconds must be >= 0 (0 = never expire)")
	}
}

func (p *parser) parseBatchEngine(n *yaml.Node, out *BatchEngineConfig) {
	switch n.Kind {
	case yaml.ScalarNode:
		out.Type = n.Value
	case yaml.MappingNode:
		if err := n.Decode(out); err != nil {
			p.errorf(n, "batch_engine: %v", err)
		}
		delete(out.Options, "type")
	}
	switch out.Type {
	case "", "local":
		out.Type = "local"
	case "beam":
	default:
		p.errorf(n, "batch_engine: unknown type %q (supported: local, beam)", out.Type)
	}
}

// SQLRegistryScheme reports whether path is a database URL a SQL registry
// opens (postgresql://, mysql://, sqlite:///, with SQLAlchemy driver
// suffixes such as postgresql+psycopg://), and its scheme. A file registry
// given such a path would otherwise fail with the object-store driver's
// "no driver registered".
func SQLRegistryScheme(path string) (string, bool) {
	scheme, _, ok := strings.Cut(path, "://")
	if !ok {
		return "", false
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "postgresql", "postgres", "mysql", "mariadb", "sqlite":
		return scheme, true
	}
	return "", false
}

// ResolvePath resolves a repository-relative path.
func (c *RepoConfig) ResolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) || strings.Contains(p, "://") {
		return p
	}
	return filepath.Join(c.RepoPath, p)
}

// suggest returns ` (did you mean "x"?)` for the closest candidate, or "".
func suggest(s string, candidates []string) string {
	best := Closest(s, candidates, 1)
	if len(best) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best[0])
}

// Closest returns up to n candidates within a small edit distance of s,
// nearest first. It is used for "did you mean" suggestions; see
// internal/suggest, which storage packages use without depending on config.
func Closest(s string, candidates []string, n int) []string {
	return didyoumean.Closest(s, candidates, n)
}
