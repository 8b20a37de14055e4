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
	"time"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// ErrNotSupported is returned by optional operations a backend lacks.
var ErrNotSupported = errors.New("not supported by this online store")

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

// Writer writes online features. Implementations must be safe for concurrent use.
type Writer interface {
	// Write stores rows, keeping for each entity and view only the row with
	// the newest event timestamp: a row whose event timestamp is not strictly
	// newer than the stored one is skipped (and counted), also within a batch.
	Write(ctx context.Context, batch WriteBatch) (WriteStats, error)
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
	Close() error
}
