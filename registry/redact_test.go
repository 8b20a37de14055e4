package registry

import (
	"context"
	"strings"
	"testing"
)

// TestOpenFileErrorsHideSecrets opens object-store registry paths that fail
// and checks that no error shows the planted secret.
func TestOpenFileErrorsHideSecrets(t *testing.T) {
	const pw = "S3cretPlanted"
	for _, loc := range []string{
		"s3://AKID:" + pw + "%ZZ@bucket/registry.pb",
		"mem://bucket/?secret_access_key=" + pw,
		"mem://bucket/registry.pb?token=" + pw,
	} {
		s, err := OpenFile(context.Background(), loc)
		if err == nil {
			t.Errorf("OpenFile(%q) succeeded: %+v", loc, s)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("OpenFile(%q) error shows the secret: %v", loc, err)
		}
	}
}
