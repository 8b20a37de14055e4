package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/values"
)

// handleNotImplemented answers write endpoints that a later version serves.
func (s *Server) handleNotImplemented(name string) handlerFunc {
	return func(context.Context, http.ResponseWriter, *http.Request) error {
		return fmt.Errorf("%w: /%s is not supported by this server yet", errNotImplemented, name)
	}
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
	in := getBuffer()
	defer putBuffer(in)
	data, err := readBody(r, in)
	if err != nil {
		return nil, err
	}
	var b materializeBody
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, badRequest(nil, "empty body: send a JSON object")
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, badRequest(err, "malformed request body: "+err.Error())
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
	res, err := s.fs.Materialize(ctx, start, end, feast.MaterializeOptions{Views: b.FeatureViews})
	return s.materialized(w, res, err)
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
	res, err := s.fs.MaterializeIncremental(ctx, end, feast.MaterializeOptions{Views: b.FeatureViews})
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
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write([]byte("null"))
	return err
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
		h.Registry.LastRefreshError = err.Error()
		if code == http.StatusOK {
			h.Status = "degraded"
		}
	}
	data, _ := json.Marshal(h)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(data)
}
