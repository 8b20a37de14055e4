package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// plantedPassword is a password planted in connection strings; no command
// may print it, whether it succeeds or fails.
const plantedPassword = "S3cretPlanted"

// TestNoPasswordInOutput points a repository at stores whose connection
// strings hold a planted password in every form the configuration accepts,
// with unreachable or malformed hosts, runs the commands that open them and
// scans stdout, stderr and the returned error for the password.
func TestNoPasswordInOutput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo_repo")
	mustRun(t, "init", dir)
	mustRun(t, "-c", dir, "apply")
	const pw = plantedPassword
	const (
		sqliteOnline = "online_store: {type: sqlite, path: data/online.db}\n"
		duckOffline  = "offline_store: {type: duckdb}\n"
		fileRegistry = "registry: data/registry.db\n"
	)
	cases := []struct {
		name string
		yaml string
		// reached appears in some command's output: the failing store
		// was really opened.
		reached string
	}{
		{"redis comma", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: '127.0.0.1:1,password=" + pw + ",db=0'}\n", "127.0.0.1:1"},
		{"redis space before password", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: '127.0.0.1:1, password=" + pw + "'}\n", "127.0.0.1:1"},
		{"redis spaces around equals", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: '127.0.0.1:1, password = " + pw + " '}\n", "127.0.0.1:1"},
		{"redis no host", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: 'password=" + pw + ",db=0'}\n", "names no host:port"},
		{"redis bad option", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: '127.0.0.1:1,password=" + pw + ",db=zero'}\n", "db="},
		{"redis at in password", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: '127.0.0.1:1,password=" + pw + "@x'}\n", "127.0.0.1:1"},
		{"online postgres fields", fileRegistry + duckOffline + "online_store: {type: postgres, host: 127.0.0.1, port: 1, database: feast, user: feast, password: '" + pw + "'}\n", "127.0.0.1"},
		{"online postgres dsn spaces", fileRegistry + duckOffline + "online_store: {type: postgres, dsn: 'host=127.0.0.1 port=x user=feast password = " + pw + "'}\n", "invalid port"},
		{"online postgres dsn quoted", fileRegistry + duckOffline + "online_store: {type: postgres, dsn: \"host=127.0.0.1 port=1 user=feast password='" + pw + " x' sslmode=disable\"}\n", "127.0.0.1"},
		{"online postgres url bad escape", fileRegistry + duckOffline + "online_store: {type: postgres, dsn: 'postgresql://feast:" + pw + "%ZZ@127.0.0.1:1/feast'}\n", "127.0.0.1"},
		{"offline postgres url query password", fileRegistry + sqliteOnline + "offline_store: {type: postgres, dsn: 'postgresql://feast@127.0.0.1:1/feast?sslmode=disable&password=" + pw + "'}\n", "127.0.0.1"},
		{"offline postgres dsn spaces", fileRegistry + sqliteOnline + "offline_store: {type: postgres, dsn: 'host=127.0.0.1 port=x user=feast password = " + pw + "'}\n", "invalid port"},
		{"registry postgres bad escape", sqliteOnline + duckOffline + "registry: {registry_type: sql, path: 'postgresql://feast:" + pw + "%ZZ@127.0.0.1:1/feast'}\n", "127.0.0.1"},
		{"registry postgres unencoded at", sqliteOnline + duckOffline + "registry: {registry_type: sql, path: 'postgresql://feast:" + pw + "@x@127.0.0.1:1/feast?sslmode=disable'}\n", "127.0.0.1"},
		{"registry postgres query password", sqliteOnline + duckOffline + "registry: {registry_type: sql, path: 'postgresql://feast@127.0.0.1:1/feast?sslmode=disable&password=" + pw + "'}\n", "127.0.0.1"},
		{"registry mysql bad escape", sqliteOnline + duckOffline + "registry: {registry_type: sql, path: 'mysql://feast:" + pw + "%ZZ@127.0.0.1:1/feast'}\n", "127.0.0.1"},
		{"registry mysql unencoded at", sqliteOnline + duckOffline + "registry: {registry_type: sql, path: 'mysql+pymysql://feast:" + pw + "@x@127.0.0.1:1/feast'}\n", "127.0.0.1"},
		{"registry not a url", sqliteOnline + duckOffline + "registry: {registry_type: sql, path: 'feast:" + pw + "@tcp(127.0.0.1:1)/feast'}\n", "want scheme"},
		{"redis from environment", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: '127.0.0.1:1,password=${FEAST_TEST_REDIS_PASSWORD}'}\n", "127.0.0.1:1"},
		{"config error", fileRegistry + duckOffline + "online_store: {type: redis, connection_string: '127.0.0.1:1,password=" + pw + "', bogus_key: 1}\n", "bogus_key"},
		{"registry object store", sqliteOnline + duckOffline + "registry: 'mem://bucket/registry.pb?token=" + pw + "'\n", "registry"},
	}
	commands := [][]string{
		{"configuration"},
		{"plan"},
		{"apply"},
		{"status"},
		{"materialize-incremental", "2030-01-01T00:00:00"},
		{"get-online-features", "-e", "driver_id=1001", "-f", "driver_hourly_stats:conv_rate"},
		{"get-historical-features", "--entities", "data/driver_entities.csv", "--features", "driver_hourly_stats:conv_rate", "--output", filepath.Join(dir, "out.parquet")},
		{"serve", "--port", "0"},
		{"--log-level", "debug", "feature-views", "list"},
	}
	t.Setenv("FEAST_TEST_REDIS_PASSWORD", pw)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			yaml := "project: demo_repo\nprovider: local\nentity_key_serialization_version: 3\n" + c.yaml
			if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			for _, args := range commands {
				out := runBounded(t, append([]string{"-c", dir}, args...)...)
				if strings.Contains(out, pw) {
					t.Errorf("feast %s shows the password:\n%s", strings.Join(args, " "), out)
				}
				all.WriteString(out)
			}
			if !strings.Contains(all.String(), c.reached) {
				t.Errorf("no command reached the store (no %q in the output):\n%s", c.reached, all.String())
			}
		})
	}
}

// runBounded runs the CLI with a deadline (serve stops at it) and returns
// stdout, stderr and the error text together.
func runBounded(t *testing.T, args ...string) string {
	t.Helper()
	// Long enough to reach an unreachable store; serve, when its stores
	// open lazily, stops at the deadline.
	d := 5 * time.Second
	if slices.Contains(args, "serve") {
		d = time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	s := "$ feast " + strings.Join(args, " ") + "\n" + out.String() + errOut.String()
	if err != nil {
		s += "Error: " + err.Error() + "\n"
	}
	return s
}

// TestConfigurationRedacts checks that feast configuration keeps hosts and
// users visible while hiding passwords.
func TestConfigurationRedacts(t *testing.T) {
	dir := t.TempDir()
	yaml := "project: p\nregistry: {registry_type: sql, path: 'postgresql://feast:" + plantedPassword + "@x@db.example:5432/feast'}\n" +
		"online_store: {type: redis, connection_string: 'cache:6379, password=" + plantedPassword + ",db=1'}\n"
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "-c", dir, "configuration")
	for _, want := range []string{"path: postgresql://feast:xxxxx@db.example:5432/feast", "connection_string: cache:6379, password=xxxxx,db=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("configuration output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, plantedPassword) {
		t.Errorf("configuration shows the password:\n%s", out)
	}

	yaml = "project: p\nonline_store: {type: postgres, dsn: 'host=db.example user=feast password=" + plantedPassword + "'}\n"
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "-c", dir, "configuration")
	if !strings.Contains(out, "dsn: host=db.example user=feast password=xxxxx") || strings.Contains(out, plantedPassword) {
		t.Errorf("configuration output:\n%s", out)
	}
}
