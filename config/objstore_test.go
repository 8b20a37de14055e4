package config

import (
	"strings"
	"testing"
)

// The duckdb offline store takes an S3 endpoint (with ${VAR}) and a staging
// cache for object-store sources.
func TestOfflineObjectStoreOptions(t *testing.T) {
	yaml := "project: p\noffline_store:\n  type: duckdb\n  s3_endpoint_override: ${MINIO_URL}\n  object_cache_dir: cache\n  object_cache_max_bytes: 1000000\n"
	env := func(k string) (string, bool) {
		return map[string]string{"MINIO_URL": "http://minio:9000"}[k], k == "MINIO_URL"
	}
	cfg, err := Parse("f", "/repo", []byte(yaml), env)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.OfflineStore
	if o.S3EndpointOverride != "http://minio:9000" || o.ObjectCacheDir != "cache" || o.ObjectCacheBytes != 1000000 {
		t.Errorf("offline store: %+v", o)
	}
	_, err = Parse("f", "/repo", []byte("project: p\noffline_store:\n  type: duckdb\n  object_cache_max_bytes: -1\n"), env)
	if err == nil || !strings.Contains(err.Error(), "object_cache_max_bytes") {
		t.Errorf("negative cache size: err = %v", err)
	}
}
