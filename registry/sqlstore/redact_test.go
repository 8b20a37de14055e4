package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestErrorsHideThePassword opens registry URLs that fail to parse or to
// connect and checks that no error shows the password.
func TestErrorsHideThePassword(t *testing.T) {
	const pw = "S3cretPlanted"
	for _, raw := range []string{
		"mysql://feast:" + pw + "%ZZ@127.0.0.1:1/feast",
		"mysql+pymysql://feast:" + pw + "@x@127.0.0.1:1/feast",
		"mysql://feast:" + pw + "@127.0.0.1:1/",
		"postgresql://feast:" + pw + "%ZZ@127.0.0.1:1/feast",
		"postgresql://feast:" + pw + "@x@127.0.0.1:1/feast?sslmode=disable",
		"postgresql://feast@127.0.0.1:1/feast?sslmode=disable&password=" + pw,
		"postgres://feast:" + pw + "/x@127.0.0.1:1/feast?sslmode=disable",
		"oracle://feast:" + pw + "%ZZ@db/feast",
		"feast:" + pw + "@tcp(127.0.0.1:1)/feast",
		"sqlite:///registry.db?_auth_pass=" + pw,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := Open(ctx, raw)
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", raw)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open(%q) error shows the password: %v", raw, err)
		}
		if !strings.Contains(err.Error(), "registry") {
			t.Errorf("Open(%q) error %q does not say what failed", raw, err)
		}
	}
}
