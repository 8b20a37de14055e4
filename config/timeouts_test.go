package config

import "testing"

func TestOnlineStoreTimeouts(t *testing.T) {
	for _, tt := range []struct {
		yaml  string
		check func(*RepoConfig) bool
	}{
		{"project: p\nonline_store:\n  type: sqlite\n  read_timeout: 0.5\n", func(c *RepoConfig) bool { return c.OnlineStore.SQLite.ReadTimeout == 0.5 }},
		{"project: p\nonline_store:\n  type: postgres\n  dsn: postgres://h/db\n  connect_timeout: 2\n  read_timeout: 0.25\n", func(c *RepoConfig) bool {
			return c.OnlineStore.Postgres.ConnectTimeout == 2 && c.OnlineStore.Postgres.ReadTimeout == 0.25
		}},
	} {
		cfg, err := Parse("feature_store.yaml", "/repo", []byte(tt.yaml), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		if !tt.check(cfg) {
			t.Fatalf("%s: parsed %+v", tt.yaml, cfg.OnlineStore)
		}
	}
}
