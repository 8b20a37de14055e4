package redis

import (
	"context"
	"strings"
	"testing"

	"github.com/feastgo/feast/config"
)

// TestConnectionStringErrorsHideThePassword parses and opens connection
// strings that are wrong and checks that no error shows the password.
func TestConnectionStringErrorsHideThePassword(t *testing.T) {
	const pw = "S3cretPlanted"
	for _, s := range []string{
		"password=" + pw + ",db=0",
		" password = " + pw + " ",
		"username=feast, password='" + pw + " x'",
		"127.0.0.1:1,password=" + pw + ",db=zero",
		"127.0.0.1:1,password=" + pw + ",ssl=maybe",
	} {
		if _, err := ParseConnectionString(s); err == nil {
			t.Errorf("ParseConnectionString(%q) succeeded", s)
		} else if strings.Contains(err.Error(), pw) {
			t.Errorf("ParseConnectionString(%q) error shows the password: %v", s, err)
		}
		if _, err := Open(context.Background(), config.RedisOnlineConfig{ConnectionString: s}); err == nil {
			t.Errorf("Open(%q) succeeded", s)
		} else if strings.Contains(err.Error(), pw) {
			t.Errorf("Open(%q) error shows the password: %v", s, err)
		}
	}
}
