package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/values"
)

// handleOnline serves POST /get-online-features.
func (s *Server) handleOnline(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	in := getBuffer()
	defer putBuffer(in)
	data, err := readBody(r, in)
	if err != nil {
		return err
	}
	out := getBuffer()
	defer putBuffer(out)
	if *out, err = s.serveOnline(ctx, data, (*out)[:0]); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(*out)))
	_, err = w.Write(*out)
	return err
}

// serveOnline answers a /get-online-features body: it appends the JSON
// response to dst. Both HTTP transports (net/http and fasthttp) call it.
// Plain feature views on a store that lends its reply bytes take the raw
// path (serveRaw); the rest is read with plan.Read and encoded by
// appendOnlineResponse, with the same bytes.
func (s *Server) serveOnline(ctx context.Context, data, dst []byte) ([]byte, error) {
	plan, req, err := s.onlineRequest(ctx, data)
	if err != nil {
		return dst, err
	}
	if out, ok, err := s.serveRaw(ctx, plan, req, dst); err != nil || ok {
		return out, err
	}
	resp, err := s.read(ctx, plan, req)
	if err != nil {
		return dst, err
	}
	return appendOnlineResponse(dst, resp), nil
}

// onlineRequest decodes a /get-online-features body: the plan of its
// feature selection, checked against the caller's permissions, and its
// typed entity and request-context columns.
func (s *Server) onlineRequest(ctx context.Context, data []byte) (*feast.OnlinePlan, feast.OnlineRequest, error) {
	req := feast.OnlineRequest{}
	body, err := decodeOnlineBody(data)
	if err != nil {
		return nil, req, err
	}
	plan, err := s.plan(ctx, body.features, body.featureService, body.fullFeatureNames)
	if err != nil {
		return nil, req, err
	}
	if err := s.access.check(ctx, plan.Snapshot(), plan, plan.AccessResources(), model.ActionReadOnline); err != nil {
		return nil, req, err
	}
	if req.Entities, err = s.decodeColumns(plan, body.entities, "entities", false); err != nil {
		return nil, req, err
	}
	if req.RequestContext, err = s.decodeColumns(plan, body.requestContext, "request_context", true); err != nil {
		return nil, req, err
	}
	return plan, req, nil
}

// plan resolves a feature selection against the current snapshot.
func (s *Server) plan(ctx context.Context, features []string, service string, full bool) (*feast.OnlinePlan, error) {
	if len(features) == 0 && service == "" {
		return nil, badRequest(nil, "no features requested: give features (a list of \"view:feature\") or feature_service")
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s.fs.ResolveOnline(snap, features, service, full)
}

// decodeColumns types the raw entity or request-context columns with the
// plan's declared types.
func (s *Server) decodeColumns(plan *feast.OnlinePlan, cols []rawColumn, field string, contextOnly bool) (map[string][]*types.Value, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	out := make(map[string][]*types.Value, len(cols))
	for _, c := range cols {
		vt, isKey, ok := plan.ColumnType(c.name)
		if !ok || (contextOnly && isKey) {
			return nil, badRequest(nil, fmt.Sprintf("%s: unknown column %q: the requested features need %s", field, c.name, describeColumns(plan)))
		}
		vals, err := values.DecodeColumn(c.raw, vt)
		if err != nil {
			return nil, badRequest(err, fmt.Sprintf("%s.%s: %v", field, c.name, err))
		}
		if s.opts.MaxEntities > 0 && len(vals) > s.opts.MaxEntities {
			return nil, &requestError{kind: errTooLarge, msg: fmt.Sprintf("%s.%s has %d rows; the limit is %d entity rows per request", field, c.name, len(vals), s.opts.MaxEntities)}
		}
		out[c.name] = vals
	}
	return out, nil
}

func describeColumns(plan *feast.OnlinePlan) string {
	keys := plan.JoinKeys()
	if len(keys) == 0 {
		return "no join keys"
	}
	return "join keys " + `"` + strings.Join(keys, `", "`) + `"`
}

// read serves a typed request with the plan and records its size.
func (s *Server) read(ctx context.Context, plan *feast.OnlinePlan, req feast.OnlineRequest) (*feast.OnlineResponse, error) {
	if err := s.checkEntities(req); err != nil {
		return nil, err
	}
	reader, err := s.onlineReader(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := plan.Read(ctx, reader, req, s.fs.Now())
	if err != nil {
		return nil, err
	}
	s.metrics.entities.Observe(float64(resp.Rows()))
	s.metrics.features.Observe(float64(len(resp.FeatureNames) - resp.EntityColumns))
	return resp, nil
}

// checkEntities refuses a request with more entity rows than
// Options.MaxEntities.
func (s *Server) checkEntities(req feast.OnlineRequest) error {
	if s.opts.MaxEntities > 0 {
		for name, col := range req.Entities {
			if len(col) > s.opts.MaxEntities {
				return &requestError{kind: errTooLarge, msg: fmt.Sprintf("entities.%s has %d rows; the limit is %d entity rows per request", name, len(col), s.opts.MaxEntities)}
			}
		}
	}
	return nil
}
