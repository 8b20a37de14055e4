// Package registry stores Feast's registry (feast.core.Registry) in a file,
// an object store or a SQL database, and serves cached, immutable, indexed
// snapshots of one project to the rest of the feature store.
package registry

import (
	"context"
	"errors"

	"github.com/feastgo/feast/proto/feast/core"
)

// ErrConflict is returned by a Store when a concurrent writer changed the
// registry underneath an update that could not be serialized; callers may retry.
var ErrConflict = errors.New("registry changed concurrently")

// Store persists registry contents. Implementations must be safe for
// concurrent use by several goroutines and several processes: Update is
// atomic (all of fn's changes are committed, or none) and serialized with
// other Updates on the same backing store.
type Store interface {
	// Load returns the registry holding at least every object of project
	// (the file registry returns all projects). The caller owns the result.
	// A registry that does not exist yet loads as an empty Registry.
	Load(ctx context.Context, project string) (*core.Registry, error)
	// Update loads the registry for project, calls fn to change it in
	// place, and commits the result. fn may be called more than once when
	// a store retries after a conflict, so it must only mutate its argument.
	// Objects of other projects must be left untouched by fn; stores that
	// keep one row per object only write rows whose bytes changed.
	Update(ctx context.Context, project string, fn func(*core.Registry) error) error
	// Delete removes every object of project (teardown).
	Delete(ctx context.Context, project string) error
	// Close releases connections.
	Close() error
}
