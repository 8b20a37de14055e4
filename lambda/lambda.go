// Package lambda runs an http.Handler, such as the feature server's, as an
// AWS Lambda function: it turns API Gateway REST (payload 1.0), HTTP API
// (payload 2.0), Lambda function URL and Application Load Balancer events
// into *http.Request values and the handler's response into the matching
// event response, so the function serves the same HTTP API as `feast serve`.
//
// Typical use, in a main package built for the provided.al2023 runtime:
//
//	h, err := server.New(...)            // the feature server's http.Handler
//	lambda.Start(h, lambda.Options{})    // blocks, serving invocations
package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"
)

// Options tunes the adapter. The zero value serves paths as the event gives
// them and base64-encodes every response body that is not text.
type Options struct {
	// StripPrefix is removed from the start of every request path, for an
	// API Gateway stage or base path mapping ("/prod"). Empty keeps paths.
	StripPrefix string
	// MaxBodyBytes bounds a request body after base64 decoding; 0 means
	// 6 MiB, Lambda's synchronous payload limit.
	MaxBodyBytes int
}

// Handler adapts an http.Handler to Lambda invocations. It implements
// aws-lambda-go's lambda.Handler and is safe for concurrent use when the
// wrapped handler is.
type Handler struct {
	next http.Handler
	opts Options
}

var _ awslambda.Handler = (*Handler)(nil)

// New returns a Lambda handler serving events with next.
func New(next http.Handler, opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 6 << 20
	}
	return &Handler{next: next, opts: opts}
}

// Start serves Lambda invocations with next until the runtime stops the
// process. It never returns.
func Start(next http.Handler, opts Options) {
	awslambda.Start(New(next, opts))
}

// ErrUnsupportedEvent is returned for payloads that are not an HTTP event.
var ErrUnsupportedEvent = errors.New("unsupported lambda event: want an API Gateway (REST or HTTP API), function URL or ALB event")

// probe holds the fields that tell the event kinds apart.
type probe struct {
	Version        string `json:"version"`
	HTTPMethod     string `json:"httpMethod"`
	RequestContext struct {
		ELB *json.RawMessage `json:"elb"`
	} `json:"requestContext"`
}

// Invoke handles one invocation payload and returns the response payload.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode lambda event: %w", err)
	}
	switch {
	case p.Version == "2.0":
		// HTTP API payload 2.0; function URLs send the same shape.
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("decode http api event: %w", err)
		}
		return h.serveV2(ctx, &ev)
	case p.HTTPMethod != "" && p.RequestContext.ELB != nil:
		var ev events.ALBTargetGroupRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("decode alb event: %w", err)
		}
		return h.serveALB(ctx, &ev)
	case p.HTTPMethod != "":
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("decode rest api event: %w", err)
		}
		return h.serveV1(ctx, &ev)
	}
	return nil, ErrUnsupportedEvent
}

func (h *Handler) serveV1(ctx context.Context, ev *events.APIGatewayProxyRequest) ([]byte, error) {
	query := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		query[k] = append(query[k], vs...)
	}
	for k, v := range ev.QueryStringParameters {
		if _, ok := query[k]; !ok {
			query.Set(k, v)
		}
	}
	req, err := h.newRequest(ctx, ev.HTTPMethod, ev.Path, query.Encode(), ev.Body, ev.IsBase64Encoded,
		mergeHeaders(ev.MultiValueHeaders, ev.Headers), ev.RequestContext.Identity.SourceIP)
	if err != nil {
		return h.errorResponseV1(err)
	}
	rec := h.serve(req)
	body, b64 := encodeBody(rec)
	return json.Marshal(events.APIGatewayProxyResponse{
		StatusCode: rec.status, MultiValueHeaders: rec.header, Body: body, IsBase64Encoded: b64,
	})
}

func (h *Handler) errorResponseV1(err error) ([]byte, error) {
	return json.Marshal(events.APIGatewayProxyResponse{
		StatusCode: http.StatusBadRequest, Body: errorBody(err),
		Headers: map[string]string{"Content-Type": "application/json"},
	})
}

func (h *Handler) serveALB(ctx context.Context, ev *events.ALBTargetGroupRequest) ([]byte, error) {
	// ALB passes query values still URL-encoded.
	query := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		for _, v := range vs {
			query.Add(unescape(k), unescape(v))
		}
	}
	for k, v := range ev.QueryStringParameters {
		if _, ok := query[unescape(k)]; !ok {
			query.Set(unescape(k), unescape(v))
		}
	}
	multi := len(ev.MultiValueHeaders) > 0
	req, err := h.newRequest(ctx, ev.HTTPMethod, ev.Path, query.Encode(), ev.Body, ev.IsBase64Encoded,
		mergeHeaders(ev.MultiValueHeaders, ev.Headers), "")
	if err != nil {
		return json.Marshal(events.ALBTargetGroupResponse{
			StatusCode: http.StatusBadRequest, StatusDescription: "400 Bad Request", Body: errorBody(err),
			Headers: map[string]string{"Content-Type": "application/json"},
		})
	}
	rec := h.serve(req)
	body, b64 := encodeBody(rec)
	resp := events.ALBTargetGroupResponse{
		StatusCode: rec.status, StatusDescription: fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)),
		Body: body, IsBase64Encoded: b64,
	}
	// The response must use the header style the target group is set to.
	if multi {
		resp.MultiValueHeaders = rec.header
	} else {
		resp.Headers = joinHeaders(rec.header, false)
	}
	return json.Marshal(resp)
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func (h *Handler) serveV2(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	hdr := make(http.Header, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		// HTTP APIs join repeated headers with commas, as HTTP allows.
		hdr.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		hdr.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req, err := h.newRequest(ctx, ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString, ev.Body, ev.IsBase64Encoded,
		hdr, ev.RequestContext.HTTP.SourceIP)
	if err != nil {
		return json.Marshal(events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusBadRequest, Body: errorBody(err),
			Headers: map[string]string{"Content-Type": "application/json"},
		})
	}
	rec := h.serve(req)
	body, b64 := encodeBody(rec)
	cookies := rec.header.Values("Set-Cookie")
	return json.Marshal(events.APIGatewayV2HTTPResponse{
		StatusCode: rec.status, Headers: joinHeaders(rec.header, true), Cookies: cookies,
		Body: body, IsBase64Encoded: b64,
	})
}

// newRequest builds the *http.Request the wrapped handler sees.
func (h *Handler) newRequest(ctx context.Context, method, path, rawQuery, body string, b64 bool, hdr http.Header, sourceIP string) (*http.Request, error) {
	if method == "" {
		return nil, errors.New("event has no HTTP method")
	}
	if h.opts.StripPrefix != "" {
		if rest, ok := strings.CutPrefix(path, h.opts.StripPrefix); ok && (rest == "" || rest[0] == '/') {
			path = rest
		}
	}
	if path == "" {
		path = "/"
	}
	var data []byte
	if b64 {
		var err error
		if data, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("decode base64 request body: %w", err)
		}
	} else {
		data = []byte(body)
	}
	if len(data) > h.opts.MaxBodyBytes {
		return nil, fmt.Errorf("request body of %d bytes exceeds the limit of %d", len(data), h.opts.MaxBodyBytes)
	}
	u := &url.URL{Path: path, RawQuery: rawQuery}
	if p, err := url.PathUnescape(path); err == nil && p != path {
		u.Path, u.RawPath = p, path
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header = hdr
	req.Host = hdr.Get("Host")
	req.ContentLength = int64(len(data))
	req.RequestURI = u.RequestURI()
	if sourceIP != "" {
		req.RemoteAddr = sourceIP + ":0"
	}
	return req, nil
}

func mergeHeaders(multi map[string][]string, single map[string]string) http.Header {
	hdr := make(http.Header, len(multi)+len(single))
	for k, vs := range multi {
		for _, v := range vs {
			hdr.Add(k, v)
		}
	}
	for k, v := range single {
		if hdr.Get(k) == "" {
			hdr.Set(k, v)
		}
	}
	return hdr
}

// joinHeaders flattens a header for event responses without multi-value
// headers, joining repeated values with commas; skipCookies drops
// Set-Cookie, which payload 2.0 returns in its own field.
func joinHeaders(hdr http.Header, skipCookies bool) map[string]string {
	out := make(map[string]string, len(hdr))
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if skipCookies && http.CanonicalHeaderKey(k) == "Set-Cookie" {
			continue
		}
		out[k] = strings.Join(hdr[k], ",")
	}
	return out
}

func errorBody(err error) string {
	b, _ := json.Marshal(map[string]any{"error": err.Error(), "code": http.StatusBadRequest})
	return string(b)
}

// recorder is a minimal buffering http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.wrote {
		return
	}
	r.status, r.wrote = code, true
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(p)
}

// Flush is a no-op: Lambda responses are buffered.
func (r *recorder) Flush() {}

func (h *Handler) serve(req *http.Request) *recorder {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.next.ServeHTTP(rec, req)
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
	}
	if rec.header.Get("Content-Type") == "" && rec.body.Len() > 0 {
		rec.header.Set("Content-Type", http.DetectContentType(rec.body.Bytes()))
	}
	if rec.header.Get("Content-Length") == "" {
		rec.header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	}
	return rec
}

// encodeBody returns the body as event text: verbatim for textual content
// types, base64 otherwise.
func encodeBody(rec *recorder) (string, bool) {
	b := rec.body.Bytes()
	if isText(rec.header.Get("Content-Type")) && utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}
