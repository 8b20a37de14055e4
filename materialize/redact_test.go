package materialize_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/materialize"
)

// TestNewLockerErrorsHideThePassword opens lockers on registry URLs that do
// not parse or do not connect and checks that no error shows the password.
func TestNewLockerErrorsHideThePassword(t *testing.T) {
	const pw = "S3cretPlanted"
	for _, path := range []string{
		"mysql://feast:" + pw + "%ZZ@127.0.0.1:1/feast",
		"mysql://feast:" + pw + "@x@127.0.0.1:1/feast",
		"postgresql://feast:" + pw + "%ZZ@127.0.0.1:1/feast",
		"postgresql://feast@127.0.0.1:1/feast?sslmode=disable&password=" + pw,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cfg := &config.RepoConfig{RepoPath: t.TempDir(), Registry: config.RegistryConfig{RegistryType: "sql", Path: path}}
		l, err := materialize.NewLocker(ctx, cfg)
		cancel()
		if err == nil {
			l.Close()
			t.Errorf("NewLocker(%q) succeeded", path)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("NewLocker(%q) error shows the password: %v", path, err)
		}
	}
}
