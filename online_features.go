package feast

// Online feature serving: the request and response types and the entry
// points (GetOnlineFeatures = ResolveOnline + ReadOnline). Resolving a
// feature selection into an OnlinePlan is in online_plan.go; serving a
// request with a plan (entity columns, the store read, statuses, on demand
// features) is in online_read.go.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/values"
)

// ErrInvalidRequest is wrapped by every error about an online request that
// cannot be served as given: a missing join key, columns of different
// lengths, an entity value of the wrong type, an unknown entity column or
// a request naming both features and a feature service. Servers map it to
// 400 Bad Request. Unknown feature views, features and services are
// reported as *registry.NotFoundError instead.
var ErrInvalidRequest = errors.New("invalid online request")

// invalidRequest is an ErrInvalidRequest whose message stands alone.
type invalidRequest struct{ msg string }

func (e *invalidRequest) Error() string        { return e.msg }
func (e *invalidRequest) Is(target error) bool { return target == ErrInvalidRequest }

func invalidf(format string, args ...any) error {
	return &invalidRequest{msg: fmt.Sprintf(format, args...)}
}

// OnlineRequest asks for the latest feature values of some entities.
//
// Exactly one of Features and FeatureService selects what to read. The
// entities come either column-major in Entities (and RequestContext), as the
// HTTP and gRPC APIs send them, or row-major in EntityRows.
type OnlineRequest struct {
	// Features are references "view:feature" to feature views or on-demand
	// feature views.
	Features []string
	// FeatureService names a feature service whose projections are read.
	FeatureService string
	// Entities maps each join-key column (after a projection's join_key_map)
	// to its values, one per entity row; all columns have the same length.
	// Values are converted to the join-key type declared by each view's
	// entity columns when the conversion is exact (INT32 and INT64); any
	// other mismatch is an error. Request-source fields of on-demand views
	// may be given here too, as Feast's HTTP server accepts them.
	Entities map[string][]*types.Value
	// RequestContext maps request-source fields of on-demand views to their
	// values, one per entity row.
	RequestContext map[string][]*types.Value
	// EntityRows is the row-major alternative to Entities and
	// RequestContext for Go callers: one map per entity row holding join
	// keys and request fields as plain Go values, converted with
	// values.FromGo to the declared types.
	EntityRows []map[string]any
	// FullFeatureNames names output features "view__feature" (the view's
	// alias in a feature service when it has one) instead of "feature".
	FullFeatureNames bool
}

// FeatureVector is one output column: a value, status and event timestamp
// per entity row.
type FeatureVector struct {
	Values []*types.Value
	// Statuses are PRESENT, NULL_VALUE (stored but null), NOT_FOUND or
	// OUTSIDE_MAX_AGE (older than the view's ttl; the value is still given).
	Statuses []serving.FieldStatus
	// EventTimestamps are the stored event times; the zero time.Time for
	// join-key columns, on-demand features and values not found.
	EventTimestamps []time.Time
}

// OnlineResponse is the column-major answer to an OnlineRequest, in the
// shape of Feast's GetOnlineFeaturesResponse: the join-key columns first,
// then the requested features in request order.
type OnlineResponse struct {
	// FeatureNames names the columns of Results.
	FeatureNames []string
	// EntityColumns is how many leading columns echo the join keys.
	EntityColumns int
	Results       []FeatureVector
}

// Rows returns the number of entity rows.
func (r *OnlineResponse) Rows() int {
	if len(r.Results) == 0 {
		return 0
	}
	return len(r.Results[0].Values)
}

// ToMap returns the response as Feast's to_dict() does: each column name
// mapped to its values as plain Go values (values.ToGo; nil for null and
// missing values).
func (r *OnlineResponse) ToMap() map[string][]any {
	out := make(map[string][]any, len(r.FeatureNames))
	for i, name := range r.FeatureNames {
		col := make([]any, len(r.Results[i].Values))
		for j, v := range r.Results[i].Values {
			col[j] = values.ToGo(v)
		}
		out[name] = col
	}
	return out
}

// GetOnlineFeatures reads the latest values of the requested features for
// the given entities from the online store, computes requested on-demand
// features, and reports per value whether it was found, null or older than
// its view's ttl (relative to the store's clock).
func (fs *FeatureStore) GetOnlineFeatures(ctx context.Context, req OnlineRequest) (*OnlineResponse, error) {
	snap, err := fs.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	plan, err := fs.ResolveOnline(snap, req.Features, req.FeatureService, req.FullFeatureNames)
	if err != nil {
		return nil, err
	}
	return fs.ReadOnline(ctx, plan, req)
}

// ResolveOnline resolves a feature selection (references or a feature
// service) against snap. Plans are cached per snapshot, so a repeated
// selection costs one map lookup and on-demand programs are compiled once.
func (fs *FeatureStore) ResolveOnline(snap *registry.Snapshot, features []string, service string, fullNames bool) (*OnlinePlan, error) {
	return fs.plans().get(snap, features, service, fullNames)
}

// ReadOnline serves req (its entities; the selection comes from plan) with
// one round trip to the online store.
func (fs *FeatureStore) ReadOnline(ctx context.Context, plan *OnlinePlan, req OnlineRequest) (*OnlineResponse, error) {
	var reader online.Reader
	if len(plan.views) > 0 {
		s, err := fs.OnlineStore(ctx)
		if err != nil {
			return nil, err
		}
		reader = s
	}
	return plan.Read(ctx, reader, req, fs.now())
}
