// Package online defines the online store interface the feature server,
// materialization and push write and read through, and the helpers shared
// by its backends (entity-key serialization, Redis field hashing).
//
// Backends live in subpackages (online/sqlite, online/redis,
// online/postgres); every backend runs through the conformance suite in
// online/onlinetest.
package online

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// ErrNotSupported is returned by optional operations a backend lacks.
var ErrNotSupported = errors.New("not supported by this online store")

// ErrUnavailable matches errors of a store that cannot be reached or does
// not answer in time: connection refused or reset, dial and read timeouts,
// a server that is loading, shutting down or locked by another process.
// Such failures pass: the same call may succeed once the store is back, and
// the feature server answers them with 503 and Retry-After. Backends mark
// them with Unavailable; errors.Is(err, ErrUnavailable) tests for them.
var ErrUnavailable = errors.New("online store unavailable")

// Unavailable marks err as a connection-level failure: the result matches
// ErrUnavailable and unwraps to err, and its message is err's. Nil stays
// nil.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return &unavailableError{err: err}
}

type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// WithTimeout bounds a store call by the backend's own timeout d (none when
// d <= 0), configured by setting (for example "socket_timeout in the redis
// connection_string"). Pass the call's error to the returned check: when it
// stems from that timeout expiring while ctx was still live, check returns
// it marked Unavailable, naming the timeout and the setting that raises
// it; a deadline or cancellation of ctx itself stays as it is (the caller
// gave up, the store did not fail).
func WithTimeout(ctx context.Context, d time.Duration, setting string) (context.Context, context.CancelFunc, func(error) error) {
	if d <= 0 {
		return ctx, func() {}, func(err error) error { return err }
	}
	tctx, cancel := context.WithTimeout(ctx, d)
	deadline, _ := tctx.Deadline()
	check := func(err error) error {
		// The socket deadline a driver derives from tctx can fire just
		// before tctx's own timer does: look at the clock, not tctx.Err.
		if err == nil || ctx.Err() != nil || time.Now().Before(deadline) {
			return err
		}
		return TimedOut(d, setting, err)
	}
	return tctx, cancel, check
}

// TimedOut marks err Unavailable as the expiry of the store's own timeout
// d, naming the setting that raises it.
func TimedOut(d time.Duration, setting string, err error) error {
	return Unavailable(fmt.Errorf("no answer within %s (%s; raise it if the store is only slow): %w", d, setting, err))
}

// Row is one entity's feature values for one view, as written by
// materialization, push and write-to-online-store.
type Row struct {
	// EntityKey is the serialized entity key (SerializeEntityKey, v3).
	EntityKey []byte
	// Values are aligned with the Features of the WriteBatch; a nil entry or
	// an empty Value is stored as null.
	Values    []*types.Value
	EventTS   time.Time
	CreatedTS time.Time
}

// WriteBatch is a batch of rows for one feature view.
type WriteBatch struct {
	Project string
	View    *model.FeatureView
	// Features names the columns of Row.Values, a subset of View.Features.
	Features []string
	Rows     []Row
}

// WriteStats counts what a write did.
type WriteStats struct {
	Written int
	// Skipped counts rows not written because the store already held a
	// value with an equal or newer event timestamp for that entity and view.
	Skipped int
}

// ReadRequest asks for some features of one view for many entities.
type ReadRequest struct {
	Project  string
	View     *model.FeatureView
	Features []string
	// EntityKeys are serialized entity keys (SerializeEntityKey, v3).
	EntityKeys [][]byte
}

// FeatureValue is one read value. Found is false when the store holds no
// row for the entity in that view (NOT_FOUND); a found value may still be
// null (Value nil or empty).
type FeatureValue struct {
	Value   *types.Value
	EventTS time.Time
	Found   bool
}

// ReadResult holds values for one ReadRequest, indexed [entity][feature].
type ReadResult [][]FeatureValue

// Reader reads online features. Implementations must be safe for concurrent use.
type Reader interface {
	// Read serves several requests, ideally in one round trip to the store.
	// The result slice is aligned with reqs.
	Read(ctx context.Context, reqs []ReadRequest) ([]ReadResult, error)
}

// RawReader is a Reader that can also lend the stored bytes of a read
// instead of decoding them: the feature server renders the common scalar
// values straight from them to JSON, without a Value per cell. A reader
// that wraps another (to measure it, say) should implement RawReader only
// when the wrapped one does.
type RawReader interface {
	Reader
	// ReadRaw reads reqs as Read does (same round trips, same errors for
	// the store's replies) and calls visit once with the result, then
	// returns visit's error unchanged. The result and every byte slice it
	// returns are valid only until visit returns.
	ReadRaw(ctx context.Context, reqs []ReadRequest, visit func(RawResult) error) error
}

// RawResult is the stored form of one ReadRaw, indexed by request, entity
// and feature like the ReadResults of Read.
type RawResult interface {
	// Value returns the stored bytes of feature f of entity e of request
	// r: a serialized feast.types.Value (empty for null, see ParseScalar
	// and UnmarshalValue). found is false when the store holds no value
	// (Read's Found). The error is the one Read would return for that value
	// when the store's reply for it is malformed.
	Value(r, e, f int) (b []byte, found bool, err error)
	// EventTS returns the stored event timestamp of feature f of entity e
	// of request r (the zero time when the store holds none): Read's
	// EventTS of that value when found. Stores that keep one timestamp per
	// entity (Redis) return it for every feature; row-per-feature stores
	// (SQLite) keep one per value.
	EventTS(r, e, f int) time.Time
}

// Writer writes online features. Implementations must be safe for concurrent use.
type Writer interface {
	// Write stores rows, keeping for each entity and view only the row with
	// the newest event timestamp: a row whose event timestamp is not strictly
	// newer than the stored one is skipped (and counted), also within a batch.
	Write(ctx context.Context, batch WriteBatch) (WriteStats, error)
}

// KeyOrderWriter is a Writer that writes batches much faster when they
// arrive in the byte order of their serialized entity keys, as a store
// that keeps rows in a B-tree on the key does (SQLite): materialization
// then asks the offline store for its rows in that order
// (offline.KeyOrderedPuller). Stores that hash their keys (Redis) gain
// nothing and do not implement it.
type KeyOrderWriter interface {
	Writer
	// PrefersKeyOrder reports whether the store wants key-ordered batches.
	PrefersKeyOrder() bool
}

// Store is an online store backend.
type Store interface {
	Reader
	Writer
	// Update creates what views need (tables, indexes) and drops what the
	// removed views had. It is idempotent.
	Update(ctx context.Context, project string, keep, drop []*model.FeatureView) error
	// Teardown removes everything the store holds for the views of project.
	Teardown(ctx context.Context, project string, views []*model.FeatureView) error
	// InfraName names what the store creates for a view, as printed by plan
	// and apply ("sqlite table my_project_driver_stats"), or "" when the
	// store creates nothing per view (Redis).
	InfraName(project string, view *model.FeatureView) string
	// Ping checks that the store answers, within the backend's read
	// timeout; a store that cannot be reached returns an error matching
	// ErrUnavailable. Readiness checks call it.
	Ping(ctx context.Context) error
	Close() error
}
