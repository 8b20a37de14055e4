package feast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
	"github.com/feastgo/feast/transform"
	"github.com/feastgo/feast/values"
)

// PushMode says where pushed rows go. The numbers are Feast's PushMode.
type PushMode int

// Push modes.
const (
	PushOnline           PushMode = 1
	PushOffline          PushMode = 2
	PushOnlineAndOffline PushMode = 3
)

// String returns the mode as the HTTP API spells it.
func (m PushMode) String() string {
	switch m {
	case PushOnline:
		return "online"
	case PushOffline:
		return "offline"
	case PushOnlineAndOffline:
		return "online_and_offline"
	}
	return "PushMode(" + strconv.Itoa(int(m)) + ")"
}

func (m PushMode) online() bool  { return m == PushOnline || m == PushOnlineAndOffline }
func (m PushMode) offline() bool { return m == PushOffline || m == PushOnlineAndOffline }

// ParsePushMode parses the `to` field of a push request: "online" (also the
// empty string, Feast's default), "offline" or "online_and_offline", in any
// case. An unknown mode is an *InvalidPushError.
func ParsePushMode(s string) (PushMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "online":
		return PushOnline, nil
	case "offline":
		return PushOffline, nil
	case "online_and_offline":
		return PushOnlineAndOffline, nil
	}
	return 0, &InvalidPushError{Reason: fmt.Sprintf("unknown push mode %q: use online, offline or online_and_offline", s), Row: -1}
}

// Records are the rows of a push or of a write to the online store, given
// column by column. Set exactly one field. Columns are named as the feature
// view names them (join keys, features, the source's timestamp field and
// optionally its created timestamp column); a column named after a source
// column of the field mapping is renamed to the name it maps to.
//
// Timestamp columns accept time.Time, RFC 3339 strings (also
// "2006-01-02 15:04:05+00:00" and naive times, taken as UTC), epoch seconds
// (integral or fractional) and UNIX_TIMESTAMP Values; Arrow timestamp,
// date and string columns.
type Records struct {
	// Arrow is a record batch. The caller keeps ownership.
	Arrow arrow.RecordBatch
	// Columns holds Go values, converted with values.FromGo's rules (a
	// *types.Value of the declared type is taken as is).
	Columns map[string][]any
	// Values holds typed columns.
	Values map[string][]*types.Value
	// JSON holds one JSON array per column, decoded with the declared types
	// (values.DecodeColumn's rules): Feast's `df` object as the HTTP API
	// receives it. RecordsFromJSON builds it from the raw object.
	JSON map[string]json.RawMessage
}

// RecordsFromJSON splits Feast's `df` object ({"col": [values...], ...})
// into JSON Records without decoding or copying the values (the columns
// alias df); Push decodes them with the declared types. A df that is not a
// JSON object, or that names a column twice, is an *InvalidPushError.
func RecordsFromJSON(df json.RawMessage) (Records, error) {
	members, err := values.ObjectMembers(df)
	if err != nil {
		return Records{}, &InvalidPushError{Reason: "df must be a JSON object of columns ({\"column\": [values...]})", Row: -1, Err: err}
	}
	cols := make(map[string]json.RawMessage, len(members))
	for _, m := range members {
		if _, dup := cols[m.Key]; dup {
			return Records{}, &InvalidPushError{Column: m.Key, Row: -1, Reason: "named twice in df"}
		}
		cols[m.Key] = m.Value
	}
	return Records{JSON: cols}, nil
}

// InvalidPushError rejects a whole push or online write before anything was
// written: the HTTP layer answers 422. Source names the push source (or the
// feature view of a write to the online store), Column the offending column
// when there is one and Row the offending row (-1 when none).
type InvalidPushError struct {
	Source string
	Column string
	Row    int
	Reason string
	// Err is the underlying cause, such as a *values.TypeError; may be nil.
	Err error
}

func (e *InvalidPushError) Error() string {
	var b strings.Builder
	b.WriteString("push")
	if e.Source != "" {
		b.WriteString(" to " + e.Source)
	}
	b.WriteString(" rejected")
	if e.Column != "" {
		b.WriteString(": column " + e.Column)
	}
	if e.Row >= 0 {
		b.WriteString(": row " + strconv.Itoa(e.Row))
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *InvalidPushError) Unwrap() error { return e.Err }

// PushSourceNotFoundError is returned when no push source of that name feeds
// any feature view. Feast answers it with HTTP 422
// (PushSourceNotFoundException); WriteToOnlineStore returns
// *registry.NotFoundError for an unknown view instead (HTTP 404).
type PushSourceNotFoundError struct {
	Name, Project string
	// Suggestions are push sources with close names.
	Suggestions []string
	// Reason explains a source that exists but cannot be pushed to.
	Reason string
}

func (e *PushSourceNotFoundError) Error() string {
	msg := fmt.Sprintf("push source %q not found in project %q", e.Name, e.Project)
	if e.Reason != "" {
		msg = fmt.Sprintf("push source %q in project %q: %s", e.Name, e.Project, e.Reason)
	}
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(quote(e.Suggestions), ", ") + "?)"
	}
	return msg
}

// PartialPushError reports an online_and_offline push whose offline part
// was written but whose online part failed. Retrying the whole push appends
// the rows offline a second time; retrying with mode online only is safe
// (the online store keeps the newest row per entity, so repeated rows are
// skipped).
type PartialPushError struct {
	Source string
	// Written is the part that was written (PushOffline).
	Written PushMode
	Err     error
}

func (e *PartialPushError) Error() string {
	return fmt.Sprintf("push to %s: %s part written, online write failed (retry with to=online): %v", e.Source, e.Written, e.Err)
}

func (e *PartialPushError) Unwrap() error { return e.Err }

func quote(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Quote(x)
	}
	return out
}

// PushResult describes a successful push or online write.
type PushResult struct {
	// Source is the push source, or the view of a write to the online store.
	Source string
	Mode   PushMode
	// Rows is the number of input rows.
	Rows int
	// Views has one entry per feature view (and on-demand view transformed
	// on write) written online.
	Views []ViewWriteResult
	// OfflineSources names the batch sources rows were appended to.
	OfflineSources []string
	// Warning is set when the push was a no-op (no rows, or every feature
	// null), as Feast warns.
	Warning string
}

// ViewWriteResult counts the online write of one view.
type ViewWriteResult struct {
	View string
	// Written rows were stored; Skipped rows were older than (or as old as)
	// what the store held for their entity.
	Written, Skipped int
}

// PushOptions configures a Pusher. The zero value is usable: the limits
// then come from the configuration's feature_server section (see
// config.FeatureServerConfig for their defaults).
type PushOptions struct {
	// Registerer receives the push metrics; nil means no metrics. Several
	// Pushers may share one registerer: the metrics are registered once.
	Registerer prometheus.Registerer
	// MaxRows bounds the rows of one Push or WriteToOnlineStore (an
	// error wrapping ErrTooManyRows); 0 means feature_server.max_push_rows,
	// negative means no limit. Stream batches are not bounded.
	MaxRows int
	// MaxConcurrent bounds the Push and WriteToOnlineStore calls running at
	// once; a call beyond it fails at once with an error wrapping
	// ErrWritesSaturated. 0 means feature_server.max_concurrent_writes,
	// negative means no limit.
	MaxConcurrent int
	// MaxFutureEventTime rejects rows written online whose event timestamp
	// is further than this ahead of the store's clock (an
	// *InvalidPushError); 0 means
	// feature_server.max_future_event_time_seconds, negative means no check.
	MaxFutureEventTime time.Duration
}

// ErrTooManyRows is wrapped by the error of a push or online write with
// more rows than PushOptions.MaxRows; the HTTP server answers 413.
var ErrTooManyRows = errors.New("too many rows")

// ErrWritesSaturated is wrapped by the error of a push or online write
// refused because PushOptions.MaxConcurrent writes are running; the HTTP
// server answers 429 with Retry-After. Nothing was written: retry later.
var ErrWritesSaturated = errors.New("too many concurrent writes")

// Pusher validates and writes pushed rows. It caches compiled push targets
// per registry snapshot. A Pusher is safe for concurrent use.
type Pusher struct {
	fs      *FeatureStore
	metrics *pushMetrics
	maxRows int
	// slots holds one token per running write; nil means no limit.
	slots     chan struct{}
	maxFuture time.Duration // 0: no check

	mu    sync.Mutex
	snap  *registry.Snapshot
	cache map[string]*pushTarget
}

// NewPusher returns a Pusher writing through fs.
func NewPusher(fs *FeatureStore, opts PushOptions) (*Pusher, error) {
	p := &Pusher{fs: fs}
	fsc := fs.Config().FeatureServer
	p.maxRows = limit(opts.MaxRows, fsc.PushRowLimit())
	if n := limit(opts.MaxConcurrent, fsc.WriteConcurrency()); n > 0 {
		p.slots = make(chan struct{}, n)
	}
	p.maxFuture = time.Duration(limit(int64(opts.MaxFutureEventTime), int64(fsc.MaxFutureEventTime())))
	if opts.Registerer != nil {
		m, err := newPushMetrics(opts.Registerer)
		if err != nil {
			return nil, err
		}
		p.metrics = m
	}
	return p, nil
}

// limit resolves an option: 0 takes the configured value, negative means
// none (0).
func limit[T int | int64](opt, configured T) T {
	switch {
	case opt == 0:
		return configured
	case opt < 0:
		return 0
	}
	return opt
}

// admit takes a write slot, or fails with ErrWritesSaturated when every
// slot is taken. The caller runs the returned release when done.
func (p *Pusher) admit(what string) (release func(), err error) {
	if p.slots == nil {
		return func() {}, nil
	}
	select {
	case p.slots <- struct{}{}:
		return func() { <-p.slots }, nil
	default:
		return nil, fmt.Errorf("%s: %w: %d are running (feature_server.max_concurrent_writes); retry shortly", what, ErrWritesSaturated, cap(p.slots))
	}
}

// checkRows rejects records with more rows than the limit, counting them
// without decoding the values.
func (p *Pusher) checkRows(what string, recs Records) error {
	if p.maxRows <= 0 {
		return nil
	}
	if n := recordsLen(recs); n > p.maxRows {
		return fmt.Errorf("%s: %w: %d rows, the limit is %d (feature_server.max_push_rows): send them in smaller requests", what, ErrTooManyRows, n, p.maxRows)
	}
	return nil
}

// PushRequest is one push.
type PushRequest struct {
	// Source is the push source name.
	Source  string
	Records Records
	// Mode defaults to PushOnline.
	Mode PushMode
	// NoTransform skips on-demand views that write to the online store
	// (Feast's transform_on_write: false).
	NoTransform bool
}

// Push writes records to every feature view fed by the push source (online),
// and/or appends them to the push source's batch source (offline), as
// Feast's FeatureStore.push does. On-demand views with
// write_to_online_store whose feature-view sources are all fed by the push
// source are computed from the pushed rows and written online too.
//
// The whole input is validated before anything is written: unknown source
// (*PushSourceNotFoundError), missing join keys, timestamp or feature
// columns, unknown columns, wrong value types (*InvalidPushError). Empty
// input is a no-op with a warning. With online_and_offline the offline part
// is written first; a failure of the online part is a *PartialPushError.
func (fs *FeatureStore) Push(ctx context.Context, pushSource string, records Records, mode PushMode) (PushResult, error) {
	p, _ := NewPusher(fs, PushOptions{})
	return p.Push(ctx, PushRequest{Source: pushSource, Records: records, Mode: mode})
}

// WriteToOnlineStore writes records to the online store of one feature view,
// or of an on-demand view with write_to_online_store (the records then hold
// its inputs and are transformed), with Push's validation.
func (fs *FeatureStore) WriteToOnlineStore(ctx context.Context, view string, records Records) (PushResult, error) {
	p, _ := NewPusher(fs, PushOptions{})
	return p.WriteToOnlineStore(ctx, WriteRequest{View: view, Records: records})
}

// Push validates and writes one push; see FeatureStore.Push.
func (p *Pusher) Push(ctx context.Context, req PushRequest) (PushResult, error) {
	if req.Mode == 0 {
		req.Mode = PushOnline
	}
	if !req.Mode.online() && !req.Mode.offline() {
		return PushResult{}, &InvalidPushError{Source: req.Source, Row: -1, Reason: "unknown push mode " + req.Mode.String()}
	}
	release, err := p.admit("push to " + req.Source)
	if err != nil {
		return PushResult{}, err
	}
	defer release()
	if err := p.checkRows("push to "+req.Source, req.Records); err != nil {
		return PushResult{}, err
	}
	schema, err := p.schema(ctx, "push:"+req.Source, func(snap *registry.Snapshot) (*pushTarget, error) {
		return pushSourceTarget(snap, req.Source, false, nil)
	})
	if err != nil {
		return PushResult{}, err
	}
	return p.decodeAndWrite(ctx, schema, req.Records, req.Mode, req.NoTransform)
}

// WriteRequest is one write to the online store.
type WriteRequest struct {
	// View is a feature view, or an on-demand view with write_to_online_store.
	View    string
	Records Records
	// NoTransform writes an on-demand view's features as given (the records
	// hold its output columns) instead of computing them from its inputs
	// (Feast's transform_on_write: false).
	NoTransform bool
}

// WriteToOnlineStore validates and writes rows of one view; see
// FeatureStore.WriteToOnlineStore. An unknown view is a
// *registry.NotFoundError.
func (p *Pusher) WriteToOnlineStore(ctx context.Context, req WriteRequest) (PushResult, error) {
	release, err := p.admit("write to " + req.View)
	if err != nil {
		return PushResult{}, err
	}
	defer release()
	if err := p.checkRows("write to "+req.View, req.Records); err != nil {
		return PushResult{}, err
	}
	key := "view:" + req.View
	if req.NoTransform {
		key = "view-raw:" + req.View
	}
	schema, err := p.schema(ctx, key, func(snap *registry.Snapshot) (*pushTarget, error) {
		return viewTarget(snap, req.View, req.NoTransform)
	})
	if err != nil {
		return PushResult{}, err
	}
	return p.decodeAndWrite(ctx, schema, req.Records, PushOnline, false)
}

// StreamSchema returns the schema of a stream (push or kafka) source for
// the stream consumer: the feature views it feeds (only those named in
// views, when not empty) and the on-demand views transformed on write.
func (p *Pusher) StreamSchema(ctx context.Context, source string, views []string) (*PushSchema, error) {
	key := "stream:" + source + ":" + strings.Join(views, ",")
	return p.schema(ctx, key, func(snap *registry.Snapshot) (*pushTarget, error) {
		return pushSourceTarget(snap, source, true, views)
	})
}

func (p *Pusher) decodeAndWrite(ctx context.Context, schema *PushSchema, recs Records, mode PushMode, noTransform bool) (PushResult, error) {
	b, err := schema.decode(recs, noTransform, mode.online())
	if err != nil {
		p.metrics.rejected(schema.t.name, recordsLen(recs))
		return PushResult{}, err
	}
	return p.Write(ctx, b, mode)
}

// schema returns the cached target for key in the current snapshot.
func (p *Pusher) schema(ctx context.Context, key string, build func(*registry.Snapshot) (*pushTarget, error)) (*PushSchema, error) {
	snap, err := p.fs.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.snap != snap {
		p.snap, p.cache = snap, map[string]*pushTarget{}
	}
	t, ok := p.cache[key]
	p.mu.Unlock()
	if ok {
		return &PushSchema{t: t, now: p.fs.Now, maxFuture: p.maxFuture}, nil
	}
	t, err = build(snap)
	if err != nil {
		return nil, err
	}
	t.project = snap.Project
	p.mu.Lock()
	if p.snap == snap {
		p.cache[key] = t
	}
	p.mu.Unlock()
	return &PushSchema{t: t, now: p.fs.Now, maxFuture: p.maxFuture}, nil
}

// Write writes a validated batch. Offline first (one append per distinct
// batch source), then online (one write per view); see FeatureStore.Push.
func (p *Pusher) Write(ctx context.Context, b *PushBatch, mode PushMode) (PushResult, error) {
	t := b.t
	res := PushResult{Source: t.name, Mode: mode, Rows: b.n}
	if b.n == 0 {
		res.Warning = "no rows to push to " + t.name + "; nothing written"
		p.fs.logger.Warn("empty push", "source", t.name)
		return res, nil
	}
	if b.allFeaturesNull() {
		res.Warning = "every feature value pushed to " + t.name + " is null; nothing written"
		p.fs.logger.Warn("push with only null features", "source", t.name, "rows", b.n)
		return res, nil
	}
	if mode.offline() && len(t.batchSources) == 0 {
		return res, &InvalidPushError{Source: t.name, Row: -1, Reason: "offline push needs a push source with a batch source"}
	}
	// Open both stores before writing either, so a misconfiguration fails
	// the whole push.
	var (
		on  online.Store
		off offline.Store
		err error
	)
	if mode.online() {
		if on, err = p.fs.OnlineStore(ctx); err != nil {
			return res, fmt.Errorf("push to %s: %w", t.name, err)
		}
	}
	if mode.offline() {
		if off, err = p.fs.OfflineStore(ctx); err != nil {
			return res, fmt.Errorf("push to %s: %w", t.name, err)
		}
		for _, src := range t.batchSources {
			rec, err := b.offlineRecord(src)
			if err != nil {
				return res, fmt.Errorf("push to %s: build offline batch: %w", t.name, err)
			}
			err = off.WriteBatch(ctx, src, rec)
			rec.Release()
			if err != nil {
				return res, fmt.Errorf("push to %s: append to %s: %w", t.name, src.Name, err)
			}
			res.OfflineSources = append(res.OfflineSources, src.Name)
		}
		p.metrics.pushed(t.name, PushOffline, b.n)
	}
	if mode.online() {
		for i, w := range t.writes {
			st, err := on.Write(ctx, online.WriteBatch{Project: t.project, View: w.view, Features: w.features, Rows: b.rows[i]})
			if err != nil {
				err = fmt.Errorf("write online %s: %w", w.view.Name, err)
				if mode.offline() {
					return res, &PartialPushError{Source: t.name, Written: PushOffline, Err: err}
				}
				return res, fmt.Errorf("push to %s: %w", t.name, err)
			}
			res.Views = append(res.Views, ViewWriteResult{View: w.view.Name, Written: st.Written, Skipped: st.Skipped})
		}
		p.metrics.pushed(t.name, PushOnline, b.n)
		p.metrics.fresh(t.name, p.fs.Now(), b.ts)
	}
	return res, nil
}

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

// PushSchema describes the columns a push source (or view) accepts. It is
// immutable and safe for concurrent use.
type PushSchema struct {
	t *pushTarget
	// now and maxFuture bound the event timestamps of rows written online
	// (maxFuture 0: no bound).
	now       func() time.Time
	maxFuture time.Duration
}

// Source is the push source (or view) name.
func (s *PushSchema) Source() string { return s.t.name }

// Views names the feature views (and on-demand views) written online.
func (s *PushSchema) Views() []string {
	out := make([]string, len(s.t.writes))
	for i, w := range s.t.writes {
		out[i] = w.view.Name
	}
	return out
}

// Column resolves an input column name (after field mapping) to its
// canonical name, type and role.
func (s *PushSchema) Column(name string) (canonical string, vt model.ValueType, role ColumnRole, ok bool) {
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
func (s *PushSchema) TimestampColumn() string { return s.t.ts }

// Decode validates records into a batch ready for Pusher.Write (on-demand
// views are transformed, entity keys serialized). Errors are
// *InvalidPushError.
func (s *PushSchema) Decode(recs Records) (*PushBatch, error) { return s.decode(recs, false, true) }

// PushBatch is a validated set of rows for one push target. It is not safe
// for concurrent use.
type PushBatch struct {
	t       *pushTarget
	n       int
	cols    map[string][]*types.Value
	ts      []time.Time
	created []time.Time // nil when the input has no created column
	rows    [][]online.Row
}

// Len is the number of rows.
func (b *PushBatch) Len() int { return b.n }

// EventTimes are the rows' event timestamps.
func (b *PushBatch) EventTimes() []time.Time { return b.ts }

// Append adds the rows of o, a batch decoded from the same schema.
func (b *PushBatch) Append(o *PushBatch) error {
	if o.t != b.t {
		return errors.New("append push batch: different schemas")
	}
	if (b.created == nil) != (o.created == nil) && b.n > 0 && o.n > 0 {
		// Fill the missing created timestamps with zero times.
		if b.created == nil {
			b.created = make([]time.Time, b.n)
		} else {
			o.created = make([]time.Time, o.n)
		}
	}
	if b.n == 0 {
		b.cols = map[string][]*types.Value{}
	}
	for name, col := range o.cols {
		b.cols[name] = append(b.cols[name], col...)
	}
	b.ts = append(b.ts, o.ts...)
	if o.created != nil {
		b.created = append(b.created, o.created...)
	}
	if b.rows == nil {
		b.rows = make([][]online.Row, len(b.t.writes))
	}
	for i := range o.rows {
		b.rows[i] = append(b.rows[i], o.rows[i]...)
	}
	b.n += o.n
	return nil
}

func (b *PushBatch) allFeaturesNull() bool {
	for _, name := range b.t.order {
		if b.t.cols[name].role != RoleFeature {
			continue
		}
		for _, v := range b.cols[name] {
			if !online.IsNull(v) {
				return false
			}
		}
	}
	return true
}

// offlineRecord builds the Arrow record appended to src: the input's
// canonical columns that belong to views reading src, in schema order.
func (b *PushBatch) offlineRecord(src *model.DataSource) (arrow.RecordBatch, error) {
	mem := memory.DefaultAllocator
	var (
		fields []arrow.Field
		arrs   []arrow.Array
	)
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	for _, name := range b.t.order {
		c := b.t.cols[name]
		switch c.role {
		case RoleTimestamp:
			fields = append(fields, arrow.Field{Name: name, Type: tsType, Nullable: true})
			arrs = append(arrs, timeArray(mem, tsType, b.ts))
		case RoleCreatedTimestamp:
			if b.created == nil {
				continue
			}
			fields = append(fields, arrow.Field{Name: name, Type: tsType, Nullable: true})
			arrs = append(arrs, timeArray(mem, tsType, b.created))
		case RoleJoinKey, RoleFeature:
			col, ok := b.cols[name]
			if !ok {
				continue
			}
			a, err := values.ToArrow(mem, c.field.Type, col)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", name, err)
			}
			fields = append(fields, arrow.Field{Name: name, Type: a.DataType(), Nullable: true})
			arrs = append(arrs, a)
		}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(b.n)), nil
}

func timeArray(mem memory.Allocator, dt *arrow.TimestampType, ts []time.Time) arrow.Array {
	bld := array.NewTimestampBuilder(mem, dt)
	defer bld.Release()
	bld.Reserve(len(ts))
	for _, t := range ts {
		if t.IsZero() {
			bld.AppendNull()
			continue
		}
		bld.Append(arrow.Timestamp(t.UnixMicro()))
	}
	return bld.NewArray()
}

// pushTarget is the compiled destination of a push: the views written
// online, the batch sources appended to and the accepted columns.
type pushTarget struct {
	name    string // push source or view, for errors and metrics
	project string
	ts      string
	created string
	// mapping maps source column names (field mapping keys) to canonical names.
	mapping map[string]string
	cols    map[string]colSpec
	// order is the canonical column order: join keys, timestamp, created,
	// features, request fields.
	order        []string
	writes       []viewWrite
	batchSources []*model.DataSource
}

type colSpec struct {
	field    model.Field
	role     ColumnRole
	required bool
}

// viewWrite is one online write: a feature view, or an on-demand view
// (then prg computes its features from the pushed columns).
type viewWrite struct {
	view     *model.FeatureView
	features []string
	prg      *transform.Program
	// inputs maps the program's input names to canonical columns.
	inputs map[string]string
}

func (t *pushTarget) add(f model.Field, role ColumnRole, required bool) error {
	if c, ok := t.cols[f.Name]; ok {
		if c.role != role && !(c.role == RoleFeature && role == RoleRequest) {
			return fmt.Errorf("column %s is both a %s and a %s", f.Name, roleName(c.role), roleName(role))
		}
		if c.field.Type != f.Type && role != RoleTimestamp && role != RoleCreatedTimestamp {
			return fmt.Errorf("column %s has type %s in one view and %s in another", f.Name, c.field.Type, f.Type)
		}
		if required && !c.required {
			c.required = true
			t.cols[f.Name] = c
		}
		return nil
	}
	t.cols[f.Name] = colSpec{field: f, role: role, required: required}
	t.order = append(t.order, f.Name)
	return nil
}

func roleName(r ColumnRole) string {
	switch r {
	case RoleJoinKey:
		return "join key"
	case RoleTimestamp:
		return "event timestamp"
	case RoleCreatedTimestamp:
		return "created timestamp"
	case RoleFeature:
		return "feature"
	case RoleRequest:
		return "request field"
	}
	return "column"
}

// pushSourceTarget compiles the target of a push source (or, for streams,
// a kafka source).
func pushSourceTarget(snap *registry.Snapshot, name string, stream bool, only []string) (*pushTarget, error) {
	src, known := snap.DataSources[name]
	var views []*model.FeatureView
	for _, vn := range snap.FeatureViewNames() {
		fv := snap.FeatureViews[vn]
		if fv.StreamSource == nil || fv.StreamSource.Name != name {
			continue
		}
		if !known {
			src = fv.StreamSource
		}
		if len(only) > 0 && !containsString(only, vn) {
			continue
		}
		views = append(views, fv)
	}
	nf := &PushSourceNotFoundError{Name: name, Project: snap.Project}
	if src == nil {
		var names []string
		for n, s := range snap.DataSources {
			if s.Kind == model.SourcePush || stream && s.Kind == model.SourceKafka {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		nf.Suggestions = config.Closest(name, names, 3)
		return nil, nf
	}
	if src.Kind != model.SourcePush && !(stream && src.Kind == model.SourceKafka) {
		nf.Reason = fmt.Sprintf("is a %s source; only push sources accept pushes", src.Kind)
		return nil, nf
	}
	if len(views) == 0 {
		nf.Reason = "feeds no feature view"
		if len(only) > 0 {
			nf.Reason = "feeds none of the feature views " + strings.Join(only, ", ")
		}
		return nil, nf
	}
	t := &pushTarget{name: name, mapping: map[string]string{}, cols: map[string]colSpec{}}
	batch := src.BatchSource
	t.ts = firstNonEmpty(src.TimestampField, tsField(batch), offline.EventTimestampColumn)
	t.created = firstNonEmpty(src.CreatedTimestampColumn, createdField(batch))
	mapping := src.FieldMapping
	if len(mapping) == 0 && batch != nil {
		mapping = batch.FieldMapping
	}
	for from, to := range mapping {
		t.mapping[from] = to
	}
	if batch != nil {
		t.batchSources = []*model.DataSource{batch}
	}
	if err := t.addViews(views); err != nil {
		return nil, &InvalidPushError{Source: name, Row: -1, Reason: err.Error()}
	}
	if err := t.addODFVs(snap, views); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *pushTarget) addViews(views []*model.FeatureView) error {
	for _, fv := range views {
		for _, k := range fv.EntityColumns {
			if err := t.add(k, RoleJoinKey, true); err != nil {
				return err
			}
		}
	}
	if err := t.add(model.Field{Name: t.ts, Type: model.UnixTimestamp}, RoleTimestamp, true); err != nil {
		return err
	}
	if t.created != "" {
		if err := t.add(model.Field{Name: t.created, Type: model.UnixTimestamp}, RoleCreatedTimestamp, false); err != nil {
			return err
		}
	}
	for _, fv := range views {
		for _, f := range fv.Features {
			if err := t.add(f, RoleFeature, true); err != nil {
				return err
			}
		}
		t.writes = append(t.writes, viewWrite{view: fv, features: featureNames(fv.Features)})
	}
	return nil
}

// addODFVs adds the on-demand views with write_to_online_store whose
// feature-view sources are all among views.
func (t *pushTarget) addODFVs(snap *registry.Snapshot, views []*model.FeatureView) error {
	fed := map[string]*model.FeatureView{}
	for _, fv := range views {
		fed[fv.Name] = fv
	}
	names := make([]string, 0, len(snap.OnDemandViews))
	for n := range snap.OnDemandViews {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := snap.OnDemandViews[n]
		if !o.WriteToOnlineStore {
			continue
		}
		var first *model.FeatureView
		all := true
		for _, s := range o.Sources {
			if s.Request != nil {
				continue
			}
			fv, ok := fed[s.FeatureView]
			if !ok {
				all = false
				break
			}
			if first == nil {
				first = fv
			}
		}
		if !all || first == nil {
			continue
		}
		w, err := t.odfvWrite(snap, o)
		if err != nil {
			return err
		}
		t.writes = append(t.writes, w)
	}
	return nil
}

// odfvWrite compiles an on-demand view written on push. It is stored like
// a feature view named after it (model.OnDemandFeatureView.StoredView).
func (t *pushTarget) odfvWrite(snap *registry.Snapshot, o *model.OnDemandFeatureView) (viewWrite, error) {
	inputs := o.Inputs(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
	prg, err := transform.Compile(o, inputs)
	if err != nil {
		return viewWrite{}, fmt.Errorf("push to %s: on demand view %s: %w", t.name, o.Name, err)
	}
	stored, _ := o.StoredView(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
	if stored == nil {
		return viewWrite{}, fmt.Errorf("push to %s: on demand view %s has no feature view source to key it", t.name, o.Name)
	}
	w := viewWrite{
		view:     stored,
		features: featureNames(o.Features),
		prg:      prg,
		inputs:   map[string]string{},
	}
	for _, in := range prg.Inputs() {
		col := in.Name
		if _, f, ok := strings.Cut(in.Name, ":"); ok {
			col = f
		} else if err := t.add(in, RoleRequest, true); err != nil {
			return viewWrite{}, &InvalidPushError{Source: t.name, Row: -1, Reason: fmt.Sprintf("on demand view %s: %v", o.Name, err)}
		}
		w.inputs[in.Name] = col
	}
	return w, nil
}

// viewTarget compiles a write to the online store of one view.
func viewTarget(snap *registry.Snapshot, name string, raw bool) (*pushTarget, error) {
	t := &pushTarget{name: name, mapping: map[string]string{}, cols: map[string]colSpec{}}
	if fv, ok := snap.FeatureViews[name]; ok {
		var src *model.DataSource
		if fv.StreamSource != nil {
			src = fv.StreamSource
		} else {
			src = fv.Source
		}
		t.ts = firstNonEmpty(tsField(src), tsField(fv.Source), offline.EventTimestampColumn)
		t.created = firstNonEmpty(createdField(src), createdField(fv.Source))
		if src != nil {
			for from, to := range src.FieldMapping {
				t.mapping[from] = to
			}
		}
		if err := t.addViews([]*model.FeatureView{fv}); err != nil {
			return nil, &InvalidPushError{Source: name, Row: -1, Reason: err.Error()}
		}
		return t, nil
	}
	o, ok := snap.OnDemandViews[name]
	if !ok {
		names := snap.FeatureViewNames()
		for n := range snap.OnDemandViews {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, &registry.NotFoundError{Kind: "feature view", Name: name, Project: snap.Project, Suggestions: config.Closest(name, names, 3)}
	}
	if !o.WriteToOnlineStore {
		return nil, &InvalidPushError{Source: name, Row: -1, Reason: "on demand view is computed at read time; set write_to_online_store: true to write it"}
	}
	var keys *model.FeatureView
	for _, s := range o.Sources {
		if s.Request == nil {
			keys = snap.FeatureViews[s.FeatureView]
			break
		}
	}
	if keys == nil {
		return nil, &InvalidPushError{Source: name, Row: -1, Reason: "on demand view has no feature view source to take its entities from"}
	}
	t.ts = firstNonEmpty(tsField(keys.StreamSource), tsField(keys.Source), offline.EventTimestampColumn)
	for _, k := range keys.EntityColumns {
		if err := t.add(k, RoleJoinKey, true); err != nil {
			return nil, err
		}
	}
	if err := t.add(model.Field{Name: t.ts, Type: model.UnixTimestamp}, RoleTimestamp, true); err != nil {
		return nil, err
	}
	if raw {
		stored, _ := o.StoredView(func(n string) *model.FeatureView { return snap.FeatureViews[n] })
		w := viewWrite{
			view:     stored,
			features: featureNames(o.Features),
		}
		for _, f := range o.Features {
			if err := t.add(model.Field{Name: f.Name, Type: f.Type}, RoleFeature, true); err != nil {
				return nil, err
			}
		}
		t.writes = append(t.writes, w)
		return t, nil
	}
	w, err := t.odfvWrite(snap, o)
	if err != nil {
		return nil, err
	}
	// The inputs of the transformation are the columns written.
	for in, col := range w.inputs {
		if _, ok := t.cols[col]; ok {
			continue
		}
		f := model.Field{Name: col}
		for _, pf := range w.prg.Inputs() {
			if pf.Name == in {
				f.Type = pf.Type
			}
		}
		if err := t.add(f, RoleFeature, true); err != nil {
			return nil, err
		}
	}
	t.writes = append(t.writes, w)
	return t, nil
}

func featureNames(fs []model.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func tsField(s *model.DataSource) string {
	if s == nil {
		return ""
	}
	return s.TimestampField
}

func createdField(s *model.DataSource) string {
	if s == nil {
		return ""
	}
	return s.CreatedTimestampColumn
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func recordsLen(r Records) int {
	switch {
	case r.Arrow != nil:
		return int(r.Arrow.NumRows())
	case r.Columns != nil:
		for _, c := range r.Columns {
			return len(c)
		}
	case r.Values != nil:
		for _, c := range r.Values {
			return len(c)
		}
	case r.JSON != nil:
		for _, c := range r.JSON {
			n, _ := values.CountArray(c)
			return n
		}
	}
	return 0
}

// decode validates recs against the target and builds the online rows.
// Rows written online (toOnline) may not be dated beyond s.maxFuture.
func (s *PushSchema) decode(recs Records, noTransform, toOnline bool) (*PushBatch, error) {
	t := s.t
	reject := func(col string, row int, reason string, err error) error {
		return &InvalidPushError{Source: t.name, Column: col, Row: row, Reason: reason, Err: err}
	}
	set := 0
	for _, ok := range []bool{recs.Arrow != nil, recs.Columns != nil, recs.Values != nil, recs.JSON != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return nil, reject("", -1, "set exactly one of Arrow, Columns, Values and JSON in Records", nil)
	}
	// Resolve input column names to canonical ones.
	type input struct {
		name, canonical string
		spec            colSpec
		idx             int // Arrow column index
	}
	var names []string
	switch {
	case recs.Arrow != nil:
		for _, f := range recs.Arrow.Schema().Fields() {
			names = append(names, f.Name)
		}
	case recs.Columns != nil:
		names = sortedKeys(recs.Columns)
	case recs.Values != nil:
		names = sortedKeys(recs.Values)
	default:
		names = sortedKeys(recs.JSON)
	}
	inputs := make([]input, 0, len(names))
	seen := map[string]string{}
	for i, n := range names {
		c := n
		if m, ok := t.mapping[n]; ok {
			c = m
		}
		spec, ok := t.cols[c]
		if !ok {
			reason := "unknown column; accepted columns are " + strings.Join(t.order, ", ")
			if sug := config.Closest(n, t.order, 1); len(sug) > 0 {
				reason = fmt.Sprintf("unknown column (did you mean %q?); accepted columns are %s", sug[0], strings.Join(t.order, ", "))
			}
			return nil, reject(n, -1, reason, nil)
		}
		if prev, dup := seen[c]; dup {
			return nil, reject(n, -1, fmt.Sprintf("duplicate column: %s and %s both name %s", prev, n, c), nil)
		}
		seen[c] = n
		inputs = append(inputs, input{name: n, canonical: c, spec: spec, idx: i})
	}
	b := &PushBatch{t: t, n: -1, cols: make(map[string][]*types.Value, len(inputs))}
	for _, in := range inputs {
		var (
			n    int
			err  error
			vals []*types.Value
			tss  []time.Time
		)
		isTime := in.spec.role == RoleTimestamp || in.spec.role == RoleCreatedTimestamp
		switch {
		case recs.Arrow != nil:
			col := recs.Arrow.Column(in.idx)
			n = col.Len()
			if isTime {
				tss, err = arrowTimes(col)
			} else {
				vals, err = values.ColumnFromArrow(col, in.spec.field.Type)
			}
		case recs.Columns != nil:
			col := recs.Columns[in.name]
			n = len(col)
			if isTime {
				tss, err = goTimes(col)
			} else {
				vals = make([]*types.Value, n)
				for i, x := range col {
					if vals[i], err = values.FromGo(x, in.spec.field.Type); err != nil {
						err = &values.IndexError{Index: i, Err: err}
						break
					}
				}
			}
		case recs.Values != nil:
			col := recs.Values[in.name]
			n = len(col)
			if isTime {
				tss, err = valueTimes(col)
			} else {
				vals = make([]*types.Value, n)
				for i, x := range col {
					if vals[i], err = values.FromGo(x, in.spec.field.Type); err != nil {
						err = &values.IndexError{Index: i, Err: err}
						break
					}
				}
			}
		default:
			raw := recs.JSON[in.name]
			if isTime {
				tss, err = values.DecodeTimeColumn(raw)
			} else {
				vals, err = values.DecodeColumn(raw, in.spec.field.Type)
			}
			n = max(len(tss), len(vals))
		}
		if err != nil {
			return nil, columnError(reject, in.name, in.spec, err)
		}
		if b.n >= 0 && n != b.n {
			return nil, reject(in.name, -1, fmt.Sprintf("has %d rows, other columns have %d", n, b.n), nil)
		}
		b.n = n
		switch in.spec.role {
		case RoleTimestamp:
			var horizon time.Time
			if toOnline && s.maxFuture > 0 {
				horizon = s.now().Add(s.maxFuture)
			}
			for i, ts := range tss {
				if ts.IsZero() {
					return nil, reject(in.name, i, "null event timestamp", nil)
				}
				if !horizon.IsZero() && ts.After(horizon) {
					return nil, reject(in.name, i, fmt.Sprintf("event timestamp %s is more than %s ahead of the server clock (feature_server.max_future_event_time_seconds): a row dated in the future hides every later row of its entity until then",
						ts.Format(time.RFC3339Nano), s.maxFuture), nil)
				}
			}
			b.ts = tss
		case RoleCreatedTimestamp:
			b.created = tss
		case RoleJoinKey:
			for i, v := range vals {
				if online.IsNull(v) {
					return nil, reject(in.name, i, "null join key", nil)
				}
			}
			b.cols[in.canonical] = vals
		default:
			b.cols[in.canonical] = vals
		}
	}
	if b.n <= 0 {
		b.n = 0
		return b, nil // empty: a no-op with a warning, as Feast does
	}
	for _, c := range t.order {
		if spec := t.cols[c]; spec.required {
			if _, ok := seen[c]; !ok {
				return nil, reject(c, -1, "missing "+roleName(spec.role)+" column", nil)
			}
		}
	}
	// Build the online rows of every view.
	b.rows = make([][]online.Row, len(t.writes))
	for wi, w := range t.writes {
		if w.prg != nil && noTransform {
			continue
		}
		feats := make([][]*types.Value, len(w.features))
		if w.prg != nil {
			in := make(map[string][]*types.Value, len(w.inputs))
			for name, col := range w.inputs {
				in[name] = b.cols[col]
			}
			out, err := w.prg.EvalColumns(in, b.n)
			if err != nil {
				return nil, reject("", -1, "on demand view "+w.view.Name, err)
			}
			feats = out
		} else {
			for fi, f := range w.features {
				feats[fi] = b.cols[f]
			}
		}
		rows, err := buildRows(w.view, feats, b.cols, b.ts, b.created, b.n)
		if err != nil {
			return nil, reject(err.col, err.row, "entity key", err.err)
		}
		b.rows[wi] = rows
	}
	return b, nil
}

// columnError rejects a column that did not decode, naming the row when
// the error is about one element.
func columnError(reject func(col string, row int, reason string, err error) error, col string, spec colSpec, err error) error {
	row := -1
	var ie *values.IndexError
	if errors.As(err, &ie) {
		row, err = ie.Index, ie.Err
	}
	if errors.Is(err, values.ErrTimeRange) {
		return reject(col, row, "", err)
	}
	vt := spec.field.Type.String()
	if spec.role == RoleTimestamp || spec.role == RoleCreatedTimestamp {
		vt = "timestamp"
	}
	return reject(col, row, "expected "+vt+" values", err)
}

type rowError struct {
	col string
	row int
	err error
}

// buildRows builds the online rows of a view from column-major features.
func buildRows(fv *model.FeatureView, feats [][]*types.Value, cols map[string][]*types.Value, ts, created []time.Time, n int) ([]online.Row, *rowError) {
	keys := fv.JoinKeys()
	keyCols := make([][]*types.Value, len(keys))
	for i, k := range keys {
		keyCols[i] = cols[k]
	}
	rows := make([]online.Row, n)
	vals := make([]*types.Value, n*len(feats))
	keyBuf := make([]*types.Value, len(keys))
	var arena []byte
	for r := 0; r < n; r++ {
		if r == 1 {
			// Size the arena from the first key: keys of one view are
			// usually of one length, so it rarely grows again.
			arena = append(make([]byte, 0, len(arena)*n+len(arena)/2+64), arena...)
		}
		for k := range keyBuf {
			keyBuf[k] = keyCols[k][r]
		}
		start := len(arena)
		var err error
		arena, err = online.AppendEntityKey(arena, keys, keyBuf)
		if err != nil {
			return nil, &rowError{col: strings.Join(keys, ","), row: r, err: err}
		}
		row := vals[r*len(feats) : (r+1)*len(feats) : (r+1)*len(feats)]
		for f := range feats {
			row[f] = feats[f][r]
		}
		rows[r] = online.Row{Values: row, EventTS: ts[r]}
		rows[r].EntityKey = arena[start:len(arena):len(arena)]
		if created != nil {
			rows[r].CreatedTS = created[r]
		}
	}
	// The arena may have moved while growing: re-slice the keys from the final one.
	off := 0
	for r := range rows {
		l := len(rows[r].EntityKey)
		rows[r].EntityKey = arena[off : off+l : off+l]
		off += l
	}
	return rows, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// arrowTimes reads an Arrow timestamp, date, string or int64 (epoch
// seconds) column. Times outside the protobuf Timestamp range are a
// *values.TimeRangeError located by a *values.IndexError.
func arrowTimes(col arrow.Array) ([]time.Time, error) {
	out := make([]time.Time, col.Len())
	var at func(i int) (time.Time, error)
	switch a := col.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		at = func(i int) (time.Time, error) { return arrowTime(int64(a.Value(i)), unit) }
	case *array.Date32:
		at = func(i int) (time.Time, error) {
			return a.Value(i).ToTime().UTC(), values.CheckTime(a.Value(i).ToTime())
		}
	case *array.Date64:
		at = func(i int) (time.Time, error) {
			return a.Value(i).ToTime().UTC(), values.CheckTime(a.Value(i).ToTime())
		}
	case *array.String:
		at = func(i int) (time.Time, error) { return goTime(a.Value(i)) }
	case *array.Int64:
		at = func(i int) (time.Time, error) { return values.EpochSeconds(a.Value(i)) }
	default:
		return nil, fmt.Errorf("expected a timestamp column, got %s", col.DataType())
	}
	for i := range out {
		if !col.IsValid(i) {
			continue
		}
		t, err := at(i)
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
		out[i] = t
	}
	return out, nil
}

// arrowTime converts an Arrow timestamp of the given unit. Seconds are
// checked before converting, since time.Unix wraps for values past about
// year 292 billion; milli-, micro- and nanoseconds cannot wrap.
func arrowTime(v int64, unit arrow.TimeUnit) (time.Time, error) {
	if unit == arrow.Second {
		return values.EpochSeconds(v)
	}
	t := arrow.Timestamp(v).ToTime(unit)
	return t, values.CheckTime(t)
}

// goTime converts one Go timestamp value; nil gives the zero time. Times
// outside the protobuf Timestamp range are a *values.TimeRangeError.
func goTime(x any) (time.Time, error) {
	switch v := x.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return v.UTC(), values.CheckTime(v)
	case *time.Time:
		if v == nil {
			return time.Time{}, nil
		}
		return v.UTC(), values.CheckTime(*v)
	case string:
		t, err := values.ParseTime(v)
		if err != nil {
			return time.Time{}, err
		}
		return t.UTC(), values.CheckTime(t)
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return values.EpochSeconds(n)
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return time.Time{}, fmt.Errorf("timestamp %s: %w", v, err)
		}
		return values.EpochTime(f)
	case int:
		return values.EpochSeconds(int64(v))
	case int64:
		return values.EpochSeconds(v)
	case int32:
		return values.EpochSeconds(int64(v))
	case float64:
		return values.EpochTime(v)
	case *types.Value:
		if online.IsNull(v) {
			return time.Time{}, nil
		}
		if s, ok := v.Val.(*types.Value_UnixTimestampVal); ok {
			return values.EpochSeconds(s.UnixTimestampVal)
		}
		return time.Time{}, &values.TypeError{Expected: model.UnixTimestamp, Got: values.TypeOf(v).String()}
	}
	return time.Time{}, fmt.Errorf("expected a timestamp, got %T %v", x, x)
}

func goTimes(col []any) ([]time.Time, error) {
	out := make([]time.Time, len(col))
	for i, x := range col {
		t, err := goTime(x)
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
		out[i] = t
	}
	return out, nil
}

func valueTimes(col []*types.Value) ([]time.Time, error) {
	out := make([]time.Time, len(col))
	for i, v := range col {
		t, err := goTime(v)
		if err != nil {
			return nil, &values.IndexError{Index: i, Err: err}
		}
		out[i] = t
	}
	return out, nil
}

// pushMetrics are the push counters. A nil *pushMetrics records nothing.
type pushMetrics struct {
	rows         *prometheus.CounterVec
	rejectedRows *prometheus.CounterVec
	freshness    *prometheus.HistogramVec
}

func newPushMetrics(reg prometheus.Registerer) (*pushMetrics, error) {
	rows, err := registerOnce(reg, "feast_push_rows_total", prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feast_push_rows_total",
		Help: "Rows written by push, write-to-online-store and stream ingestion, per source and mode (online, offline).",
	}, []string{"source", "mode"}))
	if err != nil {
		return nil, err
	}
	rejected, err := registerOnce(reg, "feast_push_rejected_rows_total", prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feast_push_rejected_rows_total",
		Help: "Rows of pushes rejected by validation, per source.",
	}, []string{"source"}))
	if err != nil {
		return nil, err
	}
	freshness, err := registerOnce(reg, "feast_push_freshness_seconds", prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "feast_push_freshness_seconds",
		Help:    "Time from a pushed row's event timestamp to its online write, per source (push, write-to-online-store and stream ingestion).",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
	}, []string{"source"}))
	if err != nil {
		return nil, err
	}
	return &pushMetrics{rows: rows, rejectedRows: rejected, freshness: freshness}, nil
}

// fresh observes the age of each row written online.
func (m *pushMetrics) fresh(source string, now time.Time, ts []time.Time) {
	if m == nil || len(ts) == 0 {
		return
	}
	o := m.freshness.WithLabelValues(source)
	for _, t := range ts {
		if !t.IsZero() {
			o.Observe(max(now.Sub(t), 0).Seconds())
		}
	}
}

// registerOnce registers c, or returns the collector of the same kind
// already registered under its name (several Pushers share a registry).
func registerOnce[C prometheus.Collector](reg prometheus.Registerer, name string, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, fmt.Errorf("register %s: %w", name, err)
	}
	return c, nil
}

func (m *pushMetrics) pushed(source string, mode PushMode, n int) {
	if m != nil {
		m.rows.WithLabelValues(source, mode.String()).Add(float64(n))
	}
}

func (m *pushMetrics) rejected(source string, n int) {
	if m != nil {
		m.rejectedRows.WithLabelValues(source).Add(float64(n))
	}
}
