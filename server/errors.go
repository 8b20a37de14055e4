package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/push"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/values"
)

// Errors the handlers return for conditions the edge reports with a
// specific status.
var (
	// errReadOnly rejects write endpoints on a read-only server.
	errReadOnly = errors.New("this feature server is read-only: write endpoints are disabled")
	// errUnauthorized rejects requests without a valid bearer token.
	errUnauthorized = errors.New("missing or invalid bearer token")
	// errNoSnapshot is returned while no registry snapshot could be loaded.
	errNoSnapshot = errors.New("registry not loaded")
	// errTooLarge marks a request over a configured limit.
	errTooLarge = errors.New("request too large")
	// errHeadersTooLarge marks request headers over the listener's buffer.
	errHeadersTooLarge = errors.New("request headers too large")
	// errBadRequest marks other invalid requests.
	errBadRequest = errors.New("bad request")
)

// classify is the one place that maps errors to HTTP statuses and gRPC
// codes. Messages of 4xx errors are shown to the client as they are;
// 5xx errors too (the server is not a trust boundary for registry names),
// but are also logged.
func classify(err error) (int, codes.Code) {
	var nf *registry.NotFoundError
	var mbe *http.MaxBytesError
	var ipe *push.InvalidError
	var psnf *push.SourceNotFoundError
	var partial *push.PartialError
	var authErr *auth.Error
	var denied *permissions.DeniedError
	var down *feast.UnavailableError
	switch {
	case errors.As(err, &authErr):
		if authErr.Unavailable {
			return http.StatusServiceUnavailable, codes.Unavailable
		}
		return http.StatusUnauthorized, codes.Unauthenticated
	case errors.As(err, &denied):
		return http.StatusForbidden, codes.PermissionDenied
	case errors.As(err, &partial):
		// The offline part was written: not a 503 with Retry-After, which
		// would invite resending the whole push and appending the offline
		// rows twice; the message says to retry with to=online.
		return http.StatusInternalServerError, codes.Internal
	case errors.As(err, &ipe), errors.As(err, &psnf):
		// Feast answers a push it cannot accept with 422.
		return http.StatusUnprocessableEntity, codes.InvalidArgument
	case errors.As(err, &nf):
		return http.StatusNotFound, codes.NotFound
	case errors.Is(err, offline.ErrNotSupported):
		// The store cannot do this with its configuration (for example an
		// offline push to an object-store source): not worth retrying.
		return http.StatusNotImplemented, codes.Unimplemented
	case errors.Is(err, errReadOnly):
		return http.StatusForbidden, codes.PermissionDenied
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, codes.Unauthenticated
	case errors.As(err, &mbe), errors.Is(err, errTooLarge), errors.Is(err, push.ErrTooManyRows):
		return http.StatusRequestEntityTooLarge, codes.ResourceExhausted
	case errors.Is(err, push.ErrWritesSaturated):
		return http.StatusTooManyRequests, codes.ResourceExhausted
	case errors.Is(err, errHeadersTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge, codes.ResourceExhausted
	case errors.Is(err, feast.ErrInvalidRequest), errors.Is(err, values.ErrType),
		errors.Is(err, errMalformed), errors.Is(err, errBadRequest):
		return http.StatusBadRequest, codes.InvalidArgument
	case errors.Is(err, errNoSnapshot), errors.Is(err, feast.ErrNoOnlineStore), errors.Is(err, online.ErrUnavailable),
		errors.As(err, &down):
		// An unreachable online store may carry a deadline of its own
		// (read timeout): it is 503, not the 504 of the request's. So
		// may a materialization's unreachable offline store or registry
		// (feast.UnavailableError), which names the component.
		return http.StatusServiceUnavailable, codes.Unavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return 499, codes.Canceled
	}
	return http.StatusInternalServerError, codes.Internal
}

// retryAfterUnavailable is the Retry-After of an unreachable online store,
// in seconds: about the time the store's dial and read timeouts take to
// tell again.
const retryAfterUnavailable = "1"

// retryAfterComponent is the Retry-After of a materialization whose
// offline store or registry cannot be reached, in seconds: a rerun is
// heavier than a read, and those stores take longer to tell.
const retryAfterComponent = "5"

// errorMessage is the message clients get for err, on HTTP and gRPC alike:
// its text, prefixed with "online store unavailable: " when the online
// store cannot be reached, and followed by the request timeout and how to
// raise it when that timeout ended the request.
func (s *Server) errorMessage(err error) string {
	var authErr *auth.Error
	if errors.As(err, &authErr) {
		// The cause (a JOSE library's or the API server's words) stays in
		// the server's log.
		if authErr.Err != nil {
			s.log.Debug("authentication failed", "reason", authErr.Msg, "err", authErr.Err)
		}
		return authErr.Msg
	}
	if errors.Is(err, online.ErrUnavailable) {
		return online.ErrUnavailable.Error() + ": " + err.Error()
	}
	if code, _ := classify(err); code == http.StatusGatewayTimeout && s.opts.Timeout > 0 {
		return fmt.Sprintf("%v (the request took longer than the server's request timeout of %s, or the client's deadline; "+
			"raise it with feast serve --timeout, or send smaller requests)", err, s.opts.Timeout)
	}
	return err.Error()
}

// retryAfter is the Retry-After header value for err ("" for none):
// failures of an unreachable online store, or of a materialization's
// unreachable offline store or registry, pass, so clients may retry,
// except a push whose offline part was written (see classify).
func retryAfter(err error) string {
	var partial *push.PartialError
	var down *feast.UnavailableError
	switch {
	case errors.As(err, &partial):
		return ""
	case errors.Is(err, online.ErrUnavailable):
		return retryAfterUnavailable
	case errors.As(err, &down):
		return retryAfterComponent
	}
	return ""
}

// requestError is a client error whose message stands alone; it matches
// errBadRequest (or the kind given) and unwraps to its cause.
type requestError struct {
	msg   string
	kind  error
	cause error
}

func (e *requestError) Error() string        { return e.msg }
func (e *requestError) Is(target error) bool { return target == e.kind }
func (e *requestError) Unwrap() error        { return e.cause }

// badRequest wraps cause (which may be nil) as a 400 with a message that
// names what is wrong.
func badRequest(cause error, msg string) error {
	return &requestError{msg: msg, kind: errBadRequest, cause: cause}
}
