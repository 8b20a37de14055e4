package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/internal/testenv"
)

// feast serve with a SQL registry whose host accepts connections and never
// answers (a black-holed host) used to hang without end; within the
// registry timeout (FEAST_REGISTRY_TIMEOUT) it exits with an error naming
// the registry (password masked), the timeout and what to do.
func TestServeUnreachableSQLRegistry(t *testing.T) {
	addr := testenv.SilentListener(t).String()
	dir := t.TempDir()
	yaml := "project: p\nprovider: local\nentity_key_serialization_version: 3\n" +
		"registry: {registry_type: sql, path: 'postgresql://feast:" + plantedPassword + "@" + addr + "/feast?sslmode=disable'}\n" +
		"online_store: {type: sqlite, path: data/online.db}\n"
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FEAST_REGISTRY_TIMEOUT", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := newRootCmd(&strings.Builder{}, &strings.Builder{})
	cmd.SetArgs([]string{"-c", dir, "serve", "--port", "0"})
	start := time.Now()
	err := cmd.ExecuteContext(ctx)
	took := time.Since(start)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("serve with a silent registry database: %v after %v", err, took)
	}
	msg := err.Error()
	t.Logf("feast serve: %v (after %v)", err, took)
	for _, want := range []string{
		"open the sql registry postgresql://feast:xxxxx@" + addr + "/feast?sslmode=disable",
		"registry timeout of 1s",
		"check that the registry can be reached",
		"FEAST_REGISTRY_TIMEOUT=2m",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, plantedPassword) {
		t.Errorf("error shows the password: %s", msg)
	}
	if took > 15*time.Second {
		t.Errorf("serve took %v to give up with a 1s registry timeout", took)
	}
}
