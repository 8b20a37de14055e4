package feast

import (
	"context"
	"encoding/json"

	"github.com/feastgo/feast/push"
)

// The push subsystem lives in package push. The names below are aliases of
// its types, constants and errors under the names they had in this package,
// so code written against feast.Records, feast.PushMode, feast.Pusher and
// the rest keeps compiling; they are the same types (errors.As with a
// *feast.InvalidPushError matches a *push.InvalidError).
type (
	// Records is push.Records: the rows of a push or of a write to the
	// online store, column by column.
	Records = push.Records
	// PushMode is push.Mode: where pushed rows go.
	PushMode = push.Mode
	// PushResult is push.Result: what a push or online write wrote.
	PushResult = push.Result
	// ViewWriteResult is push.ViewWriteResult.
	ViewWriteResult = push.ViewWriteResult
	// PushOptions is push.Options: the limits and metrics of a Pusher.
	PushOptions = push.Options
	// Pusher is push.Pusher, which validates and writes pushed rows.
	Pusher = push.Pusher
	// PushRequest is push.Request: one push.
	PushRequest = push.Request
	// WriteRequest is push.WriteRequest: one write to the online store.
	WriteRequest = push.WriteRequest
	// PushSchema is push.Schema: the columns a push source accepts.
	PushSchema = push.Schema
	// PushBatch is push.Batch: validated rows ready to write.
	PushBatch = push.Batch
	// ColumnRole is push.ColumnRole: what a pushed column holds.
	ColumnRole = push.ColumnRole
	// InvalidPushError is push.InvalidError: the HTTP layer answers 422.
	InvalidPushError = push.InvalidError
	// PushSourceNotFoundError is push.SourceNotFoundError (HTTP 422).
	PushSourceNotFoundError = push.SourceNotFoundError
	// PartialPushError is push.PartialError: the offline part of an
	// online_and_offline push was written, the online part failed.
	PartialPushError = push.PartialError
)

// Push modes and column roles, as push names them.
const (
	PushOnline           = push.Online
	PushOffline          = push.Offline
	PushOnlineAndOffline = push.OnlineAndOffline

	RoleJoinKey          = push.RoleJoinKey
	RoleTimestamp        = push.RoleTimestamp
	RoleCreatedTimestamp = push.RoleCreatedTimestamp
	RoleFeature          = push.RoleFeature
	RoleRequest          = push.RoleRequest
)

// Errors of the push limits: the same values as push.ErrTooManyRows and
// push.ErrWritesSaturated, so errors.Is matches either name.
var (
	ErrTooManyRows     = push.ErrTooManyRows
	ErrWritesSaturated = push.ErrWritesSaturated
)

// The FeatureStore is the store a Pusher writes through.
var _ push.Store = (*FeatureStore)(nil)

// ParsePushMode is push.ParseMode: it parses the `to` field of a push
// request.
func ParsePushMode(s string) (PushMode, error) { return push.ParseMode(s) }

// RecordsFromJSON is push.RecordsFromJSON: it splits Feast's `df` object
// into JSON Records.
func RecordsFromJSON(df json.RawMessage) (Records, error) { return push.RecordsFromJSON(df) }

// NewPusher returns a Pusher writing through fs (push.New).
func NewPusher(fs *FeatureStore, opts PushOptions) (*Pusher, error) { return push.New(fs, opts) }

// Push writes records to every feature view fed by the push source (online),
// and/or appends them to the push source's batch source (offline), as
// Feast's FeatureStore.push does; see push.Pusher.Push for the validation
// and the errors. It applies the configured row and event-time limits but
// records no metrics and bounds no concurrency: a server keeps one Pusher
// (NewPusher) for that.
func (fs *FeatureStore) Push(ctx context.Context, pushSource string, records Records, mode PushMode) (PushResult, error) {
	p, _ := push.New(fs, push.Options{})
	return p.Push(ctx, push.Request{Source: pushSource, Records: records, Mode: mode})
}

// WriteToOnlineStore writes records to the online store of one feature view,
// or of an on-demand view with write_to_online_store (the records then hold
// its inputs and are transformed), with Push's validation; see
// push.Pusher.WriteToOnlineStore.
func (fs *FeatureStore) WriteToOnlineStore(ctx context.Context, view string, records Records) (PushResult, error) {
	p, _ := push.New(fs, push.Options{})
	return p.WriteToOnlineStore(ctx, push.WriteRequest{View: view, Records: records})
}
