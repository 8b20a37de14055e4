package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func TestGoodConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, "/repo", data, noEnv); err != nil {
			t.Errorf("%s: unexpected error: %v", f, err)
		}
	}
}

// TestBadConfigs checks every bad fixture fails with the message (one
// expected fragment per line of its .err file).
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, _ := os.ReadFile(f)
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			if err != nil {
				t.Fatalf("missing .err file: %v", err)
			}
			_, perr := Parse(f, "/repo", data, noEnv)
			if perr == nil {
				t.Fatalf("expected an error")
			}
			for _, frag := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(perr.Error(), frag) {
					t.Errorf("error %q does not contain %q", perr.Error(), frag)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("f", "/repo", []byte("project: p\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.RegistryType != "file" || cfg.Registry.Path != "data/registry.db" || cfg.Registry.CacheTTL() != 600*time.Second {
		t.Errorf("registry defaults: %+v", cfg.Registry)
	}
	if cfg.OnlineStore.Type != "sqlite" || cfg.OnlineStore.SQLite.Path != "data/online.db" {
		t.Errorf("online defaults: %+v", cfg.OnlineStore)
	}
	if cfg.OfflineStore.Type != "duckdb" || cfg.OfflineStore.MemoryLimit != "128MB" || cfg.EntityKeySerializationVersion != 3 || cfg.BatchEngine.Type != "local" {
		t.Errorf("defaults: %+v", cfg)
	}
	if got := cfg.ResolvePath("data/x"); got != "/repo/data/x" {
		t.Errorf("ResolvePath = %q", got)
	}
}

func TestSubstitute(t *testing.T) {
	env := map[string]string{"SET": "value", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct{ in, want, err string }{
		{"${SET}", "value", ""},
		{"a-${SET}-b", "a-value-b", ""},
		{`${UNSET:"def"}`, "def", ""},
		{`${EMPTY:"def"}`, "def", ""},
		{`${SET:"def"}`, "value", ""},
		{`${UNSET:'single'}`, "single", ""},
		{`${UNSET:""}`, "", ""},
		{"${EMPTY}", "", ""},
		{"${UNSET}", "", "UNSET is not set"},
		{"${A_UNSET} ${B_UNSET}", "", "A_UNSET, B_UNSET"},
		{"$SET plain", "$SET plain", ""},
	}
	for _, c := range cases {
		got, err := Substitute(c.in, lookup)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Substitute(%q) err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Substitute(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestEnvironmentSelectsStores(t *testing.T) {
	data, _ := os.ReadFile("testdata/good/full.yaml")
	staging := map[string]string{"REDIS_CONNECTION_STRING": "staging-redis:6379,db=1", "PGHOST": "staging-pg"}
	cfg, err := Parse("full.yaml", "/repo", data, func(k string) (string, bool) { v, ok := staging[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OnlineStore.Redis.ConnectionString != "staging-redis:6379,db=1" || cfg.OfflineStore.Postgres.Host != "staging-pg" {
		t.Errorf("staging values not substituted: %+v %+v", cfg.OnlineStore.Redis, cfg.OfflineStore.Postgres)
	}
	if cfg.Registry.Path != "postgresql://postgres@127.0.0.1:5432/test" || cfg.Registry.CacheTTL() != time.Minute {
		t.Errorf("default not applied: %+v", cfg.Registry)
	}
	if cfg.OnlineStore.Redis.KeyTTLSeconds != 86400 {
		t.Errorf("key_ttl_seconds = %d", cfg.OnlineStore.Redis.KeyTTLSeconds)
	}
}

func TestSubstitutedNumbersKeepTheirType(t *testing.T) {
	env := func(k string) (string, bool) { return "42", k == "TTL" }
	cfg, err := Parse("f", "/r", []byte("project: p\nregistry:\n  path: r.db\n  cache_ttl_seconds: ${TTL}\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.CacheTTL() != 42*time.Second {
		t.Errorf("ttl = %v", cfg.Registry.CacheTTL())
	}
}

// TestEnvironmentsExample keeps the documented staging/production layout valid.
func TestEnvironmentsExample(t *testing.T) {
	data, err := os.ReadFile("../examples/environments/feature_store.yaml")
	if err != nil {
		t.Fatal(err)
	}
	local, err := Parse("feature_store.yaml", "/repo", data, noEnv)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if local.Registry.Path != "sqlite:///data/registry.db" || local.OnlineStore.Redis.ConnectionString != "localhost:6379" || local.OfflineStore.Postgres.Port != 5432 {
		t.Errorf("local defaults: %+v %+v", local.Registry, local.OnlineStore.Redis)
	}
	prod := map[string]string{"REGISTRY_URL": "postgresql://feast@prod-db:5432/feast", "REDIS_CONNECTION_STRING": "prod-redis:6379,ssl=true", "PGPORT": "6432"}
	cfg, err := Parse("feature_store.yaml", "/repo", data, func(k string) (string, bool) { v, ok := prod[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registry.Path != prod["REGISTRY_URL"] || cfg.OnlineStore.Redis.ConnectionString != prod["REDIS_CONNECTION_STRING"] || cfg.OfflineStore.Postgres.Port != 6432 {
		t.Errorf("production values: %+v", cfg)
	}
}

// A database URL in a file registry's path says to add registry_type: sql,
// instead of failing later with the object-store driver's message.
func TestSQLURLInFileRegistry(t *testing.T) {
	for _, tc := range []struct{ yaml, scheme string }{
		{"registry: postgresql://feast:s3cret@db:5432/feast\n", "postgresql"},
		{"registry:\n  path: mysql+pymysql://u:s3cret@db/feast\n", "mysql+pymysql"},
		{"registry:\n  registry_type: file\n  path: sqlite:///data/registry.db\n", "sqlite"},
	} {
		_, err := Parse("feature_store.yaml", "/r", []byte("project: p\n"+tc.yaml), noEnv)
		if err == nil {
			t.Fatalf("%q: no error", tc.yaml)
		}
		msg := err.Error()
		for _, want := range []string{"is a " + tc.scheme + " database URL", "add registry_type: sql to the registry section", "registry: {registry_type: sql, path: "} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q: error %q lacks %q", tc.yaml, msg, want)
			}
		}
		if strings.Contains(msg, "s3cret") {
			t.Errorf("error shows the password: %s", msg)
		}
	}
	for _, ok := range []string{"registry: s3://bucket/registry.pb\n", "registry: data/registry.db\n", "registry:\n  registry_type: sql\n  path: postgresql://db/feast\n"} {
		if _, err := Parse("feature_store.yaml", "/r", []byte("project: p\n"+ok), noEnv); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

func TestSharedSQLiteFileRejected(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "feast.db")
	yaml := "project: p\nregistry: {registry_type: sql, path: 'sqlite:///" + db + "'}\nonline_store: {type: sqlite, path: " + db + "}\n"
	_, err := Parse("feature_store.yaml", dir, []byte(yaml), nil)
	if err == nil || !strings.Contains(err.Error(), "give them separate files") || !strings.Contains(err.Error(), db) {
		t.Errorf("registry and online store on one file: %v", err)
	}
	yaml = "project: p\nregistry: {registry_type: sql, path: 'sqlite:///" + filepath.Join(dir, "registry.db") + "'}\nonline_store: {type: sqlite, path: " + db + "}\n"
	if _, err := Parse("feature_store.yaml", dir, []byte(yaml), nil); err != nil {
		t.Errorf("separate files: %v", err)
	}
}
