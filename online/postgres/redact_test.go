package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
)

// TestOpenErrorsHideThePassword opens DSNs that do not parse or do not
// connect; pgx's own redaction misses some of them ("password = X").
func TestOpenErrorsHideThePassword(t *testing.T) {
	const pw = "S3cretPlanted"
	for _, cfg := range []config.PostgresConfig{
		{DSN: "host=127.0.0.1 port=x user=feast password = " + pw},
		{DSN: "host=127.0.0.1 port=x user=feast password = '" + pw + " y'"},
		{DSN: "postgresql://feast:" + pw + "%ZZ@127.0.0.1:1/feast"},
		{DSN: "postgresql://feast:" + pw + "/x@127.0.0.1:1/feast"},
		{DSN: "postgresql://feast@127.0.0.1:1/feast?sslmode=disable&password=" + pw},
		{Host: "127.0.0.1", Port: 1, Database: "feast", User: "feast", Password: pw + "@/?x"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := Open(ctx, cfg)
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}
