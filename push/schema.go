package push

import (
	"time"

	"github.com/feastgo/feast/model"
)

// ColumnRole is what a pushed column holds.
type ColumnRole int

// Column roles.
const (
	RoleJoinKey ColumnRole = iota + 1
	RoleTimestamp
	RoleCreatedTimestamp
	RoleFeature
	// RoleRequest is a request-source field an on-demand view reads.
	RoleRequest
)

// Schema describes the columns a push source (or view) accepts. It is
// immutable and safe for concurrent use.
type Schema struct {
	t *target
	// now and maxFuture bound the event timestamps of rows written online
	// (maxFuture 0: no bound).
	now       func() time.Time
	maxFuture time.Duration
}

// Source is the push source (or view) name.
func (s *Schema) Source() string { return s.t.name }

// Views names the feature views (and on-demand views) written online.
func (s *Schema) Views() []string {
	out := make([]string, len(s.t.writes))
	for i, w := range s.t.writes {
		out[i] = w.view.Name
	}
	return out
}

// Column resolves an input column name (after field mapping) to its
// canonical name, type and role.
func (s *Schema) Column(name string) (canonical string, vt model.ValueType, role ColumnRole, ok bool) {
	if m, mapped := s.t.mapping[name]; mapped {
		name = m
	}
	c, ok := s.t.cols[name]
	if !ok {
		return "", 0, 0, false
	}
	return name, c.field.Type, c.role, true
}

// TimestampColumn is the event timestamp column.
func (s *Schema) TimestampColumn() string { return s.t.ts }

// Decode validates records into a batch ready for Pusher.Write (on-demand
// views are transformed, entity keys serialized). Errors are
// *InvalidError.
func (s *Schema) Decode(recs Records) (*Batch, error) { return s.decode(recs, false, true) }
