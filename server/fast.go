package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/feastgo/feast/auth"
)

// The listener that Serve runs is fasthttp: per request it allocates
// little, starts no goroutine and makes one read and one write system call,
// where net/http also runs a background read per request. Serving measured
// about a third less CPU per request on it. POST /get-online-features is
// answered natively; every other endpoint goes through Handler (net/http)
// by way of fasthttpadaptor, so the two share their code and behaviour.
// Handler stays the API for embedding the server in a net/http program.

var onlinePath = []byte("/get-online-features")

// tracePropagator reads the W3C trace context and baggage of requests, on
// every transport (the global OpenTelemetry propagator is a no-op unless a
// program sets one).
var tracePropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// httpIdleTimeout closes keep-alive connections idle for this long.
const httpIdleTimeout = 120 * time.Second

// httpReadBuffer bounds a request's headers: 64 KiB (fasthttp's default is
// 4 KiB; long bearer tokens and proxy headers need more; net/http allows
// 1 MiB). Larger headers get 431.
const httpReadBuffer = 64 << 10

// httpServer is the fasthttp server of Serve and the connections it holds
// open, so that they can be closed when a graceful shutdown times out.
type httpServer struct {
	*fasthttp.Server
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (h *httpServer) track(c net.Conn, st fasthttp.ConnState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch st {
	case fasthttp.StateNew:
		h.conns[c] = struct{}{}
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		delete(h.conns, c)
	}
}

// closeConns closes every open connection.
func (h *httpServer) closeConns() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		c.Close()
	}
}

// newHTTPServer builds the fasthttp server of Serve; requests get contexts
// derived from base.
func (s *Server) newHTTPServer(base context.Context) *httpServer {
	// fasthttp cancels the context of every request when a shutdown
	// begins; in-flight requests must finish instead (a push cut short
	// would be half applied), so the net/http chain gets the request
	// without that cancellation, as net/http's BaseContext gave it.
	other := fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handler.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	}))
	var tracer trace.Tracer
	if s.opts.TracerProvider != nil {
		tracer = s.opts.TracerProvider.Tracer("github.com/feastgo/feast/server")
	}
	hs := &httpServer{conns: map[net.Conn]struct{}{}}
	hs.Server = &fasthttp.Server{
		Handler: func(rc *fasthttp.RequestCtx) {
			if rc.IsPost() && bytes.Equal(rc.Path(), onlinePath) {
				s.fastOnline(base, tracer, rc)
				return
			}
			other(rc)
		},
		HeaderReceived:        s.headerReceived,
		ConnState:             hs.track,
		ErrorHandler:          s.fastRequestError,
		MaxRequestBodySize:    int(min(s.opts.MaxBodyBytes, int64(^uint(0)>>1))),
		ReadTimeout:           max(s.opts.Timeout, 30*time.Second),
		IdleTimeout:           httpIdleTimeout,
		ReadBufferSize:        httpReadBuffer,
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
		Logger:                printfLogger{s.log},
	}
	return hs
}

// headerReceived runs when a request's headers have arrived, before
// fasthttp reads its body. It first rewrites the request target to its
// canonical form (canonicalizeTarget), so that authorization here, the
// fast path's routing and the net/http mux all see one and the same path.
// Then a request to an endpoint behind auth without a valid token may send
// at most one byte of body (fastRequestError then answers 401), so
// unauthenticated clients cannot make the server buffer MaxBodyBytes each.
// net/http checked the token before reading the body too.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	canonicalizeTarget(h)
	if !s.access.on() || s.endpoints[string(pathOf(h.RequestURI()))] == nil {
		return fasthttp.RequestConfig{}
	}
	// A verified token is cached (access.tokens): the handler's own check
	// of it does not pay the verification again.
	if _, err := s.access.authenticate(context.Background(), string(h.Peek("Authorization"))); err != nil && !auth.IsUnavailable(err) {
		return fasthttp.RequestConfig{MaxRequestBodySize: 1}
	}
	return fasthttp.RequestConfig{}
}

// canonicalizeTarget replaces the request target of h with its canonical
// origin form: the path percent-decoded and normalized ("/%70ush",
// "/a/../push" and "//push" are "/push"; an absolute-form target
// "http://host/push" is "/push"), then re-escaped, plus the query. Every
// later look at the path (authorization, routing on both HTTP stacks,
// metrics) reads this one value, so none can disagree with another.
func canonicalizeTarget(h *fasthttp.RequestHeader) {
	raw := h.RequestURI()
	if isCanonicalTarget(raw) {
		return
	}
	// An origin-form target is a path even when it starts with "//",
	// which a URI parser would read as an authority ("//push" is "/push").
	for len(raw) > 1 && raw[0] == '/' && raw[1] == '/' {
		raw = raw[1:]
	}
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if err := u.Parse(nil, raw); err != nil {
		// Unparsable targets route nowhere: "/" is not an endpoint.
		h.SetRequestURI("/")
		return
	}
	h.SetRequestURIBytes(u.RequestURI())
}

// isCanonicalTarget reports whether target is already in the form
// canonicalizeTarget produces, so that the usual request pays no parse:
// an origin-form path of plain characters with no dot or empty segments.
func isCanonicalTarget(target []byte) bool {
	path := pathOf(target)
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	for i, c := range path {
		switch {
		case c == '%' || c == '\\' || c == '#' || c <= ' ' || c >= 0x7f:
			return false
		case c == '/' && i+1 < len(path) && (path[i+1] == '/' || path[i+1] == '.'):
			return false
		}
	}
	return true
}

// pathOf is the path of a request URI (without query).
func pathOf(uri []byte) []byte {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// fastOnline serves POST /get-online-features on fasthttp with what the
// net/http chain does: auth, the request timeout, metrics, the access log,
// panic recovery and, when configured, a trace span.
func (s *Server) fastOnline(base context.Context, tracer trace.Tracer, rc *fasthttp.RequestCtx) {
	start := time.Now()
	ctx := base
	var span trace.Span
	if tracer != nil {
		ctx = tracePropagator.Extract(ctx, headerCarrier{&rc.Request.Header})
		ctx, span = tracer.Start(ctx, "POST /get-online-features", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.String("url.path", "/get-online-features")))
	}
	defer func() {
		if v := recover(); v != nil {
			body := s.panicked(v, "/get-online-features")
			rc.Response.Reset()
			rc.SetStatusCode(fasthttp.StatusInternalServerError)
			rc.SetContentType("application/json")
			rc.SetBody(body)
		}
		code := rc.Response.StatusCode()
		d := time.Since(start)
		s.online.observe(code, d)
		if span != nil {
			span.SetAttributes(attribute.Int("http.response.status_code", code))
			if code >= 500 {
				span.SetStatus(codes.Error, "")
			}
			span.End()
		}
		if !s.opts.NoAccessLog {
			s.accessLog(ctx, "POST", "/get-online-features", code, d, rc.RemoteAddr().String())
		}
	}()
	if s.access.on() {
		user, err := s.access.authenticate(ctx, string(rc.Request.Header.Peek("Authorization")))
		if err != nil {
			s.fastError(rc, err, "/get-online-features")
			return
		}
		ctx = auth.WithUser(ctx, user)
	}
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
	}
	out := getBuffer()
	defer putBuffer(out)
	var err error
	if *out, err = s.serveOnline(ctx, rc.PostBody(), (*out)[:0]); err != nil {
		s.fastError(rc, err, "/get-online-features")
		return
	}
	rc.SetContentType("application/json")
	rc.SetBody(*out)
}

// fastError answers err as writeError does for net/http.
func (s *Server) fastError(rc *fasthttp.RequestCtx, err error, path string) {
	buf := getBuffer()
	defer putBuffer(buf)
	code, body := s.errorResponse((*buf)[:0], err, path)
	*buf = body
	rc.SetStatusCode(code)
	if code == 499 {
		return
	}
	if code == fasthttp.StatusUnauthorized {
		rc.Response.Header.Set("WWW-Authenticate", `Bearer realm="feast"`)
	}
	if ra := retryAfter(err); ra != "" {
		rc.Response.Header.Set("Retry-After", ra)
	}
	rc.SetContentType("application/json")
	rc.SetBody(body)
}

// fastRequestError answers requests fasthttp could not read, counted and
// logged like the others: an unauthenticated body (see limitUnauthorized)
// gets 401, a body over MaxBodyBytes 413 as on net/http, headers over the
// read buffer 431, anything else (malformed HTTP) 400.
func (s *Server) fastRequestError(rc *fasthttp.RequestCtx, err error) {
	start := time.Now()
	path := string(rc.Path())
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge) && s.endpoints[path] != nil && s.access.on():
		if _, aerr := s.access.authenticate(context.Background(), string(rc.Request.Header.Peek("Authorization"))); aerr != nil {
			err = aerr
		} else {
			err = &requestError{msg: fmt.Sprintf("request body exceeds %d bytes", s.opts.MaxBodyBytes), kind: errTooLarge, cause: err}
		}
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		err = &requestError{msg: fmt.Sprintf("request body exceeds %d bytes", s.opts.MaxBodyBytes), kind: errTooLarge, cause: err}
	case errors.As(err, &small):
		err = &requestError{msg: fmt.Sprintf("request headers exceed %d bytes", httpReadBuffer), kind: errHeadersTooLarge, cause: err}
	default:
		err = badRequest(err, "cannot read the HTTP request: "+err.Error())
	}
	s.fastError(rc, err, path)
	code := rc.Response.StatusCode()
	if em := s.endpoints[path]; em != nil {
		em.observe(code, time.Since(start))
	}
	if !s.opts.NoAccessLog {
		s.accessLog(context.Background(), string(rc.Method()), path, code, time.Since(start), rc.RemoteAddr().String())
	}
}

// headerCarrier reads and writes trace context in fasthttp request headers.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (c headerCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c headerCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c headerCarrier) Keys() []string {
	var keys []string
	for k := range c.h.All() {
		keys = append(keys, string(k))
	}
	return keys
}

// printfLogger sends fasthttp's log lines to slog.
type printfLogger struct{ l *slog.Logger }

func (p printfLogger) Printf(format string, args ...any) {
	p.l.Warn("http server", "msg", fmt.Sprintf(format, args...))
}
