package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigurationShowsOfflineStore checks that feast configuration says
// which offline database an environment selects, with the password masked.
func TestConfigurationShowsOfflineStore(t *testing.T) {
	dir := t.TempDir()
	yaml := "project: p\noffline_store:\n  type: postgres\n  host: ${PGHOST:\"127.0.0.1\"}\n  database: ${PGDATABASE:\"test\"}\n" +
		"  user: feast\n  password: " + plantedPassword + "\n"
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGHOST", "warehouse.internal")
	t.Setenv("PGDATABASE", "features")
	out := mustRun(t, "-c", dir, "configuration")
	for _, want := range []string{"host: warehouse.internal", "database: features", "port: 5432", "db_schema: public", "user: feast", "password: xxxxx"} {
		if !strings.Contains(out, want) {
			t.Errorf("configuration output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, plantedPassword) {
		t.Errorf("configuration shows the password:\n%s", out)
	}
}

// TestPlanChecksSourcePaths checks that plan and apply fail on a file
// source whose file does not exist, naming the file, source and field, and
// that --skip-source-validation skips the check.
func TestPlanChecksSourcePaths(t *testing.T) {
	dir := smallRepo(t, map[string]string{"features.yaml": strings.ReplaceAll(smallDefs, "data/a.parquet", "data/typo.parquet")})
	for _, cmd := range []string{"plan", "apply"} {
		_, _, err := run(t, "-c", dir, cmd)
		want := `features.yaml:4: data source "src": data_sources[0].path: data/typo.parquet does not exist`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", cmd, err, want)
		}
	}
	mustRun(t, "-c", dir, "plan", "--skip-source-validation")
}

// TestConfigurationShowsAuth checks that feast configuration shows the auth
// mode and its settings, never a secret or a token.
func TestConfigurationShowsAuth(t *testing.T) {
	dir := t.TempDir()
	yaml := "project: p\nauth:\n  type: oidc\n  auth_discovery_url: https://idp.example.com/.well-known/openid-configuration\n" +
		"  client_id: feast\n  client_secret: " + plantedPassword + "\n"
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "-c", dir, "configuration")
	for _, want := range []string{"type: oidc", "client_id: feast", "client_secret: xxxxx", "permissions_enforced: true", "jwks_cache_lifespan_seconds: 300"} {
		if !strings.Contains(out, want) {
			t.Errorf("configuration output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, plantedPassword) {
		t.Errorf("configuration shows the secret:\n%s", out)
	}
	tok := "project: p\nauth:\n  type: token\n  tokens: [" + plantedPassword + "]\n"
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(tok), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "-c", dir, "configuration"); strings.Contains(out, plantedPassword) || !strings.Contains(out, "tokens: 1") {
		t.Errorf("token auth:\n%s", out)
	}
}
