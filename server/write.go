package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/permissions"
	"github.com/feastgo/feast/push"
	"github.com/feastgo/feast/values"
)

// rowsBody are the fields Feast's push and write-to-online-store requests
// share.
type rowsBody struct {
	DF                 json.RawMessage `json:"df"`
	AllowRegistryCache *bool           `json:"allow_registry_cache"`
	TransformOnWrite   *bool           `json:"transform_on_write"`
}

// pushBody is Feast's PushFeaturesRequest.
type pushBody struct {
	rowsBody
	PushSourceName string `json:"push_source_name"`
	To             string `json:"to"`
}

// writeBody is Feast's WriteToFeatureStoreRequest.
type writeBody struct {
	rowsBody
	FeatureViewName string `json:"feature_view_name"`
}

// records checks df and splits it into columns (a df that is not an object
// of columns is a 422).
func (b *rowsBody) records() (push.Records, error) {
	if len(b.DF) == 0 {
		return push.Records{}, badRequest(nil, "df is required: a JSON object of columns ({\"column\": [values...]})")
	}
	return push.RecordsFromJSON(b.DF)
}

// noTransform is Feast's transform_on_write: false.
func (b *rowsBody) noTransform() bool { return b.TransformOnWrite != nil && !*b.TransformOnWrite }

// decodeJSONBody reads the request body into v, rejecting an empty body,
// malformed JSON and trailing data with 400.
func decodeJSONBody(r *http.Request, v any) error {
	in := getBuffer()
	defer putBuffer(in)
	data, err := readBody(r, in)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest(nil, "empty body: send a JSON object")
	}
	// Unmarshal rather than a Decoder, which would buffer a second copy of
	// the body; it rejects data after the object too.
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest(err, "malformed request body: "+err.Error())
	}
	return nil
}

// registryForWrite refreshes the registry first when the client asked not
// to use the cache (allow_registry_cache: false), as Feast does.
func (s *Server) registryForWrite(ctx context.Context, allowCache *bool) error {
	if allowCache != nil && !*allowCache {
		if _, err := s.refresh(ctx); err != nil {
			return fmt.Errorf("%w: %w", errNoSnapshot, err)
		}
		return nil
	}
	_, err := s.snapshot(ctx)
	return err
}

// handlePush serves POST /push: the rows in df go to every feature view fed
// by the push source (to=online, the default), are appended to its batch
// source (to=offline), or both. Invalid input is rejected as a whole with
// 422 and nothing is written.
func (s *Server) handlePush(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var b pushBody
	if err := decodeJSONBody(r, &b); err != nil {
		return err
	}
	if b.PushSourceName == "" {
		return badRequest(nil, "push_source_name is required")
	}
	recs, err := b.records()
	if err != nil {
		return err
	}
	mode, err := push.ParseMode(b.To) // an unknown mode is a 422
	if err != nil {
		return err
	}
	if err := s.registryForWrite(ctx, b.AllowRegistryCache); err != nil {
		return err
	}
	res, err := s.pusher.Push(ctx, push.Request{
		Source: b.PushSourceName, Records: recs, Mode: mode, NoTransform: b.noTransform(),
		Authorize: s.access.authorizer(ctx),
	})
	s.access.auditedWrite(ctx, "push", err, slog.String("source", b.PushSourceName), slog.String("to", mode.String()),
		slog.Int("rows", res.Rows), slog.Any("views", writtenViews(res)))
	if err != nil {
		return writeRefused(w, err)
	}
	s.wrote(r, res)
	return writeNull(w)
}

// handleWriteToOnlineStore serves POST /write-to-online-store: the rows in
// df are written to the online store of one feature view (or on-demand view
// with write_to_online_store), with the same validation as /push.
func (s *Server) handleWriteToOnlineStore(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var b writeBody
	if err := decodeJSONBody(r, &b); err != nil {
		return err
	}
	if b.FeatureViewName == "" {
		return badRequest(nil, "feature_view_name is required")
	}
	recs, err := b.records()
	if err != nil {
		return err
	}
	if err := s.registryForWrite(ctx, b.AllowRegistryCache); err != nil {
		return err
	}
	res, err := s.pusher.WriteToOnlineStore(ctx, push.WriteRequest{
		View: b.FeatureViewName, Records: recs, NoTransform: b.noTransform(),
		Authorize: s.access.authorizer(ctx),
	})
	s.access.auditedWrite(ctx, "write-to-online-store", err, slog.String("view", b.FeatureViewName), slog.Int("rows", res.Rows))
	if err != nil {
		return writeRefused(w, err)
	}
	s.wrote(r, res)
	return writeNull(w)
}

// wrote logs a push's outcome at debug level, and its warning (no rows, or
// every feature null) at warn level as Feast does.
func (s *Server) wrote(r *http.Request, res push.Result) {
	if res.Warning != "" {
		s.log.Warn("push was a no-op", "path", r.URL.Path, "source", res.Source, "warning", res.Warning)
		return
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		written, skipped := 0, 0
		for _, v := range res.Views {
			written += v.Written
			skipped += v.Skipped
		}
		s.log.Debug("pushed", "path", r.URL.Path, "source", res.Source, "mode", res.Mode.String(),
			"rows", res.Rows, "written", written, "skipped_not_newer", skipped, "offline", res.OfflineSources)
	}
}

// writeNull answers 200 with the JSON body null, as Feast's server does for
// its write endpoints.
func writeNull(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write([]byte("null"))
	return err
}

// materializeBody is Feast's MaterializeRequest / MaterializeIncrementalRequest.
type materializeBody struct {
	StartTS               *string  `json:"start_ts"`
	EndTS                 *string  `json:"end_ts"`
	FeatureViews          []string `json:"feature_views"`
	DisableEventTimestamp bool     `json:"disable_event_timestamp"`
	FullFeatureNames      bool     `json:"full_feature_names"`
	Version               *string  `json:"version"`
}

func decodeMaterialize(r *http.Request) (*materializeBody, error) {
	if r.URL.Query().Get("async") == "true" {
		return nil, badRequest(nil, "async materialization is not supported: omit ?async=true")
	}
	var b materializeBody
	if err := decodeJSONBody(r, &b); err != nil {
		return nil, err
	}
	if b.Version != nil && *b.Version != "" {
		return nil, badRequest(nil, "feature view versions are not supported")
	}
	return &b, nil
}

func parseTS(field string, v *string) (time.Time, error) {
	if v == nil || *v == "" {
		return time.Time{}, badRequest(nil, field+" is required")
	}
	t, err := values.ParseTime(*v)
	if err != nil {
		return time.Time{}, badRequest(err, fmt.Sprintf("%s: %v", field, err))
	}
	return t, nil
}

// handleMaterialize serves POST /materialize.
func (s *Server) handleMaterialize(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, err := decodeMaterialize(r)
	if err != nil {
		return err
	}
	var start, end time.Time
	if b.DisableEventTimestamp {
		start, end = time.Unix(0, 0).UTC(), s.fs.Now()
	} else {
		if start, err = parseTS("start_ts", b.StartTS); err != nil {
			return err
		}
		if end, err = parseTS("end_ts", b.EndTS); err != nil {
			return err
		}
		if !start.Before(end) {
			return badRequest(nil, fmt.Sprintf("start_ts %s must be before end_ts %s", start.Format(time.RFC3339), end.Format(time.RFC3339)))
		}
	}
	if err := s.checkMaterialize(ctx, b.FeatureViews); err != nil {
		return err
	}
	res, err := s.fs.Materialize(ctx, start, end, feast.MaterializeOptions{Views: b.FeatureViews, FromSnapshot: true})
	s.auditMaterialize(ctx, "materialize", res, err, slog.Time("start", start), slog.Time("end", end))
	return s.materialized(w, res, err)
}

// checkMaterialize checks that a registry snapshot is loaded (503
// "registry not loaded" otherwise, as on every endpoint; the
// materialization then reads that snapshot, see
// feast.MaterializeOptions.FromSnapshot) and WRITE_ONLINE on each feature
// view a materialization writes: the ones named, or, when none are, every
// online feature view of the project (Feast checks only named views).
func (s *Server) checkMaterialize(ctx context.Context, names []string) error {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	if !s.access.enforce {
		return nil
	}
	var resources []permissions.Resource
	if len(names) == 0 {
		for _, n := range snap.FeatureViewNames() {
			if fv := snap.FeatureViews[n]; fv.Online {
				resources = append(resources, permissions.FeatureView(fv))
			}
		}
	}
	for _, n := range names {
		fv, ok := snap.FeatureViews[n]
		if !ok {
			// An unknown view is the materialization's own 404.
			continue
		}
		resources = append(resources, permissions.FeatureView(fv))
	}
	return s.access.check(ctx, snap, "materialize\x00"+strings.Join(names, "\x00"), resources, model.ActionWriteOnline)
}

// auditMaterialize writes the audit line of a materialization.
func (s *Server) auditMaterialize(ctx context.Context, what string, res []feast.ViewResult, err error, attrs ...slog.Attr) {
	if s.access.audit == nil {
		return
	}
	views := make([]string, 0, len(res))
	failed := err != nil
	for _, vr := range res {
		views = append(views, vr.View)
		failed = failed || vr.Err != nil
	}
	attrs = append(attrs, slog.Any("views", views), slog.Bool("ok", !failed))
	s.access.audited(ctx, what, attrs...)
}

// writtenViews names the views a push wrote online.
func writtenViews(res push.Result) []string {
	out := make([]string, 0, len(res.Views))
	for _, v := range res.Views {
		out = append(out, v.View)
	}
	return out
}

// handleMaterializeIncremental serves POST /materialize-incremental.
func (s *Server) handleMaterializeIncremental(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	b, err := decodeMaterialize(r)
	if err != nil {
		return err
	}
	end, err := parseTS("end_ts", b.EndTS)
	if err != nil {
		return err
	}
	if err := s.checkMaterialize(ctx, b.FeatureViews); err != nil {
		return err
	}
	res, err := s.fs.MaterializeIncremental(ctx, end, feast.MaterializeOptions{Views: b.FeatureViews, FromSnapshot: true})
	s.auditMaterialize(ctx, "materialize-incremental", res, err, slog.Time("end", end))
	return s.materialized(w, res, err)
}

func (s *Server) materialized(w http.ResponseWriter, res []feast.ViewResult, err error) error {
	if err != nil {
		return err
	}
	var errs []error
	for _, vr := range res {
		if vr.Err != nil {
			errs = append(errs, fmt.Errorf("materialize %s: %w", vr.View, vr.Err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return writeNull(w)
}

// healthBody is the /health response.
type healthBody struct {
	Status   string         `json:"status"`
	Registry registryHealth `json:"registry"`
}

type registryHealth struct {
	Project          string  `json:"project"`
	LoadedAt         string  `json:"loaded_at,omitempty"`
	AgeSeconds       float64 `json:"age_seconds,omitempty"`
	LastRefreshError string  `json:"last_refresh_error,omitempty"`
}

// publicError is err's text for the endpoints that answer without a token
// (/health, /ready): with auth on they do not say which database, host or
// user a store is reached at, only what failed; the server log has the
// whole error.
func (s *Server) publicError(err error, what string) string {
	if !s.access.on() {
		return err.Error()
	}
	return what + " (details in the server log)"
}

// handleHealth serves GET /health: 200 once a registry snapshot is loaded
// (even when the latest refresh failed, which the body reports), else 503.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	reg := s.fs.Registry()
	h := healthBody{Status: "ok", Registry: registryHealth{Project: s.fs.Project()}}
	code := http.StatusOK
	if snap := reg.Cached(); snap != nil {
		h.Registry.LoadedAt = snap.LoadedAt.UTC().Format(time.RFC3339Nano)
		h.Registry.AgeSeconds = s.fs.Now().Sub(snap.LoadedAt).Seconds()
	} else {
		h.Status, code = "unavailable", http.StatusServiceUnavailable
	}
	if err := reg.LastError(); err != nil {
		// /health answers without a token, so with auth on it does not
		// say which database, host or user the registry is read from:
		// the server log has the whole error.
		h.Registry.LastRefreshError = s.publicError(err, "refresh failed")
		if code == http.StatusOK {
			h.Status = "degraded"
		}
	}
	data, _ := json.Marshal(h)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(data)
}
