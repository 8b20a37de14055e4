package server

import (
	"errors"
	"net/http"

	"github.com/feastgo/feast/push"
)

// writeRetryAfter is the Retry-After of a write refused because
// feature_server.max_concurrent_writes writes are running: a push of the
// largest size decodes and writes in about a second.
const writeRetryAfter = "1"

// writeRefused returns err, first telling the client when to retry a write
// refused for saturation (429 with Retry-After).
func writeRefused(w http.ResponseWriter, err error) error {
	if errors.Is(err, push.ErrWritesSaturated) {
		w.Header().Set("Retry-After", writeRetryAfter)
	}
	return err
}
