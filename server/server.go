// Package server serves a feature store over HTTP and gRPC with Feast's
// APIs: the HTTP feature server endpoints of `feast serve`
// (/get-online-features, /push, /write-to-online-store, /materialize,
// /materialize-incremental, /health) and the gRPC feast.serving.ServingService,
// plus Prometheus metrics, gRPC health checking and reflection.
//
// Requests are resolved against an immutable registry snapshot that a
// background loop refreshes; a failed refresh keeps the last good snapshot,
// and no request ever waits for a refresh once one snapshot has loaded.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/push"
	"github.com/feastgo/feast/registry"
)

// Defaults of the Options limits.
const (
	DefaultMaxBodyBytes = 16 << 20
	DefaultMaxEntities  = 10_000
	DefaultTimeout      = 30 * time.Second
)

// Options configures a Server. The zero value serves with the defaults
// below, a fresh Prometheus registry and the store's logger.
type Options struct {
	// Logger receives access logs and errors; default the store's logger.
	Logger *slog.Logger
	// Registerer and Gatherer hold the server's metrics. When Registerer is
	// nil a new registry is created (and also used as Gatherer); the
	// global default registry is never used.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// ReadOnly rejects every write endpoint (push, write-to-online-store,
	// materialize, materialize-incremental) with 403. It is also set by
	// feature_server.read_only in the configuration.
	ReadOnly bool
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxEntities bounds the entity rows of one online request; 0 means
	// DefaultMaxEntities, negative means no limit.
	MaxEntities int
	// Timeout bounds each request; 0 means DefaultTimeout, negative means
	// none.
	Timeout time.Duration
	// RegistryTTL, when not 0, replaces the configuration's registry
	// cache_ttl_seconds for the store's registry: the one setting for how
	// long a snapshot is served and how often Run refreshes it. Negative
	// (or a cache_ttl_seconds of 0) means the snapshot is loaded once.
	RegistryTTL time.Duration
	// NoAccessLog disables the per-request access log.
	NoAccessLog bool
	// TracerProvider, when set, traces HTTP and gRPC requests with
	// OpenTelemetry; a caller's W3C trace context (traceparent, baggage)
	// becomes the parent of the request's span.
	TracerProvider trace.TracerProvider
	// AuthTokens, when not empty, require "Authorization: Bearer <token>"
	// with one of them on every endpoint except /health, /ready and
	// /metrics (and the gRPC health service). Default: the configuration's
	// auth.tokens when auth.type is token.
	AuthTokens []string
	// DisableAuth ignores the configuration's auth section.
	DisableAuth bool
	// Authenticator, when set, replaces the authentication the
	// configuration's auth section selects (AuthTokens aside).
	Authenticator auth.Authenticator
	// EnforcePermissions enforces the registry's permissions for every
	// authenticated user. It is on by default for auth types oidc and
	// kubernetes, as in Feast (static tokens carry no identity to decide
	// on).
	EnforcePermissions bool
	// AuditLog writes one line per write, materialization and denied
	// request to the logger with the attribute logger=feast.audit (also
	// feature_server.audit_log in the configuration).
	AuditLog bool
	// Mounts serves extra handlers under path prefixes ending in "/" (for
	// example the web UI of `feast serve --ui` at "/ui/"), behind the
	// server's authentication: a request without a valid token gets 401 as
	// on any endpoint. When permissions are enforced the request's context
	// carries the user (auth.UserFrom), and the handler decides what that
	// user may see; otherwise it carries none.
	Mounts map[string]http.Handler
}

// Server serves one FeatureStore. It is safe for concurrent use; the
// FeatureStore stays owned by the caller.
type Server struct {
	fs      *feast.FeatureStore
	opts    Options
	log     *slog.Logger
	metrics *metrics
	gather  prometheus.Gatherer

	readerMu sync.Mutex
	reader   atomic.Pointer[timedReader]
	// writer is the online store the pusher writes through, once open.
	writer atomic.Pointer[online.Store]
	opener onlineOpener
	// ready is the latest readiness result, shared by /ready and gRPC
	// health checking.
	ready readyCache

	access  access
	handler http.Handler
	online  *endpointMetrics
	// endpoints are the metrics of the endpoints that handle registers
	// (the ones behind auth), by path; written only by New.
	endpoints map[string]*endpointMetrics
	pusher    *feast.Pusher
}

// New creates a server for fs. It does not load the registry; Run (or the
// first request) does.
func New(fs *feast.FeatureStore, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = fs.Logger()
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxEntities == 0 {
		opts.MaxEntities = DefaultMaxEntities
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	cfg := fs.Config()
	if cfg.FeatureServer.ReadOnly {
		opts.ReadOnly = true
	}
	if opts.RegistryTTL != 0 {
		fs.Registry().SetTTL(max(opts.RegistryTTL, 0))
	}
	if len(opts.AuthTokens) == 0 && !opts.DisableAuth && cfg.Auth.Type == "token" {
		opts.AuthTokens = cfg.Auth.Tokens
	}
	if opts.DisableAuth {
		opts.AuthTokens = nil
	}
	if cfg.FeatureServer.AuditLogging() {
		opts.AuditLog = true
	}
	gather := opts.Gatherer
	if opts.Registerer == nil {
		r := prometheus.NewRegistry()
		opts.Registerer, gather = r, r
	}
	if gather == nil {
		if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
			gather = g
		} else {
			return nil, errors.New("server options: Registerer is not a Gatherer; set Gatherer")
		}
	}
	s := &Server{fs: fs, opts: opts, log: opts.Logger, gather: gather}
	if err := s.setupAccess(cfg); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer, s.snapshotAge, s.refreshFailing, newFreshnessCollector(fs.Registry().Cached, fs.Now))
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	s.metrics = m
	if s.pusher, err = push.New(pushStore{FeatureStore: fs, s: s}, push.Options{Registerer: opts.Registerer}); err != nil {
		return nil, fmt.Errorf("register push metrics: %w", err)
	}
	s.endpoints = map[string]*endpointMetrics{}
	s.handler = s.routes()
	s.online = s.endpoints["/get-online-features"]
	return s, nil
}

// Handler returns the HTTP handler with every endpoint and middleware.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) snapshotAge() float64 {
	snap := s.fs.Registry().Cached()
	if snap == nil {
		return -1
	}
	return s.fs.Now().Sub(snap.LoadedAt).Seconds()
}

func (s *Server) refreshFailing() float64 {
	if s.fs.Registry().LastError() != nil {
		return 1
	}
	return 0
}

// snapshot returns the current snapshot without waiting for a refresh
// (registry.Registry.Snapshot: an expired one starts a background refresh);
// it loads one synchronously only when none was ever loaded.
func (s *Server) snapshot(ctx context.Context) (*registry.Snapshot, error) {
	snap, err := s.fs.Registry().Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoSnapshot, err)
	}
	return snap, nil
}

// onlineReader returns the online store wrapped with latency metrics.
func (s *Server) onlineReader(ctx context.Context) (online.Reader, error) {
	if r := s.reader.Load(); r != nil {
		return *r, nil
	}
	s.readerMu.Lock()
	defer s.readerMu.Unlock()
	if r := s.reader.Load(); r != nil {
		return *r, nil
	}
	st, err := s.openOnlineStore(ctx)
	if err != nil {
		return nil, err
	}
	r := &timedReader{r: st, m: s.metrics}
	s.reader.Store(r)
	return *r, nil
}

// Run keeps the registry snapshot fresh until ctx is done: it loads it now
// (logging a failure; requests get 503 until a load succeeds) and then
// every registry TTL (cache_ttl_seconds or Options.RegistryTTL). A failed refresh keeps the last good snapshot, counts
// in feast_registry_refresh_errors_total and shows on /health.
//
// Every load, the first included, is bounded by the registry timeout
// (feast.Options.RegistryTimeout, which the registry applies to each load),
// so that a registry that stops answering once opened does not hold up the
// loads of the first requests for good.
func (s *Server) Run(ctx context.Context) {
	if _, err := s.refresh(ctx); err != nil {
		s.log.Error("load registry", "err", err)
	}
	s.warnOnlineStore(ctx)
	s.fs.Registry().Run(ctx, func(err error) {
		if ctx.Err() != nil {
			return
		}
		s.metrics.refreshErrors.Inc()
		s.log.Warn("refresh registry", "err", err)
	})
}

func (s *Server) refresh(ctx context.Context) (*registry.Snapshot, error) {
	snap, err := s.fs.Registry().Refresh(ctx)
	if err != nil {
		s.metrics.refreshErrors.Inc()
		return nil, err
	}
	return snap, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, "POST /get-online-features", s.handleOnline, false)
	s.handle(mux, "POST /push", s.handlePush, true)
	s.handle(mux, "POST /write-to-online-store", s.handleWriteToOnlineStore, true)
	s.handle(mux, "POST /materialize", s.handleMaterialize, true)
	s.handle(mux, "POST /materialize-incremental", s.handleMaterializeIncremental, true)
	healthM := s.metrics.endpoint("/health")
	mux.Handle("GET /health", s.instrument(healthM, http.HandlerFunc(s.handleHealth)))
	mux.Handle("GET /ready", s.instrument(s.metrics.endpoint("/ready"), http.HandlerFunc(s.handleReady)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)}))
	for prefix, h := range s.opts.Mounts {
		s.mount(mux, prefix, h)
	}
	var h http.Handler = mux
	h = s.recoverPanics(h)
	if s.opts.TracerProvider != nil {
		h = otelhttp.NewHandler(h, "feast-feature-server", otelhttp.WithTracerProvider(s.opts.TracerProvider), otelhttp.WithPropagators(tracePropagator),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
	}
	return h
}

// handlerFunc is an endpoint that reports failures as errors; the edge
// turns them into a status and a JSON body.
// ctx carries the request's deadline (r.Context() does not).
type handlerFunc func(ctx context.Context, w http.ResponseWriter, r *http.Request) error

// handle registers an endpoint with auth, limits, the read-only switch,
// metrics and access logging.
func (s *Server) handle(mux *http.ServeMux, pattern string, h handlerFunc, write bool) {
	path := pattern[strings.IndexByte(pattern, ' ')+1:]
	em := s.metrics.endpoint(path)
	s.endpoints[path] = em
	mux.Handle(pattern, s.instrument(em, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := s.access.authenticate(r.Context(), r.Header.Get("Authorization"))
		if err == nil && write && s.opts.ReadOnly {
			err = errReadOnly
		}
		if err == nil {
			ctx := r.Context()
			if user != nil {
				ctx = auth.WithUser(ctx, user)
			}
			if s.opts.Timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
				defer cancel()
			}
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
			err = h(ctx, w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})))
}

// mount serves h under prefix (Options.Mounts) with authentication,
// metrics and the access log.
func (s *Server) mount(mux *http.ServeMux, prefix string, h http.Handler) {
	mux.Handle(prefix, s.instrument(s.metrics.endpoint(prefix), s.Guard(h)))
}

// BrowserLogin is implemented by a mounted handler that signs browser users
// in itself (the UI's token form, which stores the token in the
// auth.TokenCookie cookie). Requests for which Public is true (the login
// page, static assets) skip authentication; a request that fails it is
// first offered to Unauthenticated, which may answer it (a redirect to the
// login page) and return true instead of the server's 401.
type BrowserLogin interface {
	Public(r *http.Request) bool
	Unauthenticated(w http.ResponseWriter, r *http.Request, err error) bool
}

// Guard returns h behind the server's authentication and permissions, as
// Options.Mounts serves it: the token comes from the Authorization header
// or, when there is none, the auth.TokenCookie cookie; with permissions
// enforced the request's context carries the user (auth.UserFrom). feast
// ui serves the UI through it without the feature server's endpoints.
func (s *Server) Guard(h http.Handler) http.Handler {
	login, _ := h.(BrowserLogin)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if login != nil && login.Public(r) {
			h.ServeHTTP(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		if header == "" && s.access.on() {
			if c, err := r.Cookie(auth.TokenCookie); err == nil && c.Value != "" {
				header = "Bearer " + c.Value
			}
		}
		user, err := s.access.authenticate(r.Context(), header)
		if err != nil {
			if login == nil || !login.Unauthenticated(w, r, err) {
				s.writeError(w, r, err)
			}
			return
		}
		if user != nil && s.access.enforce {
			r = r.WithContext(auth.WithUser(r.Context(), user))
		}
		h.ServeHTTP(w, r)
	})
}

// AuthEnabled reports whether requests must authenticate.
func (s *Server) AuthEnabled() bool { return s.access.on() }

// writeError maps err to a status (classify) and writes {"error": msg}.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	buf := getBuffer()
	defer putBuffer(buf)
	code, body := s.errorResponse((*buf)[:0], err, r.URL.Path)
	*buf = body
	if code != 499 {
		w.Header().Set("Content-Type", "application/json")
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="feast"`)
	}
	if ra := retryAfter(err); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	w.WriteHeader(code)
	w.Write(body)
}

// errorResponse is the answer to err on every HTTP transport: its status
// (classify), logged when it is the server's fault, and {"error": msg}
// appended to dst; nothing is appended for 499, since the client is gone.
func (s *Server) errorResponse(dst []byte, err error, path string) (int, []byte) {
	code, _ := classify(err)
	if code >= 500 {
		s.log.Error("request failed", "path", path, "status", code, "err", err)
	}
	if code == 499 {
		return code, dst
	}
	return code, appendError(dst, s.errorMessage(err))
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var statusWriterPool = sync.Pool{New: func() any { return new(statusWriter) }}

// instrument records metrics and the access log of an endpoint.
func (s *Server) instrument(em *endpointMetrics, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := statusWriterPool.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			d := time.Since(start)
			em.observe(sw.code, d)
			if !s.opts.NoAccessLog {
				s.accessLog(r.Context(), r.Method, r.URL.Path, sw.code, d, r.RemoteAddr)
			}
			*sw = statusWriter{}
			statusWriterPool.Put(sw)
		}()
		h.ServeHTTP(sw, r)
	})
}

// accessLog logs one request.
func (s *Server) accessLog(ctx context.Context, method, path string, code int, d time.Duration, remote string) {
	s.log.LogAttrs(ctx, slog.LevelInfo, "access",
		slog.String("method", method), slog.String("path", path),
		slog.Int("status", code), slog.Duration("duration", d),
		slog.String("remote", remote))
}

// panicked records a recovered panic and returns the 500 body to answer.
func (s *Server) panicked(v any, path string) []byte {
	s.metrics.panics.Inc()
	s.log.Error("panic serving request", "path", path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	return appendError(nil, "internal error")
}

// recoverPanics answers a panicking request with 500 and keeps serving.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				buf := s.panicked(v, r.URL.Path)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write(buf)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// readBody reads the whole body into buf (a pooled buffer).
func readBody(r *http.Request, buf *[]byte) ([]byte, error) {
	b := (*buf)[:0]
	if r.ContentLength > 0 && int64(cap(b)) < r.ContentLength {
		b = make([]byte, 0, r.ContentLength)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			*buf = b
			return b, nil
		}
		if err != nil {
			*buf = b
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &requestError{msg: fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), kind: errTooLarge, cause: err}
			}
			return nil, badRequest(err, "read request body: "+err.Error())
		}
	}
}

// ListenConfig says where Serve listens.
type ListenConfig struct {
	// HTTPAddr is the HTTP listen address ("127.0.0.1:6566").
	HTTPAddr string
	// GRPCAddr, when set, also serves gRPC there.
	GRPCAddr string
	// CertFile and KeyFile, when both set, serve HTTPS and gRPC over TLS.
	CertFile, KeyFile string
	// ShutdownTimeout bounds the graceful shutdown; 0 means 30s.
	ShutdownTimeout time.Duration
	// Ready, when set, is called with the bound addresses once listening.
	Ready func(httpAddr, grpcAddr net.Addr)
}

// Serve listens on the configured addresses, refreshes the registry in the
// background, and serves until ctx is cancelled; then it stops accepting,
// waits for in-flight requests (up to ShutdownTimeout) and returns nil.
func (s *Server) Serve(ctx context.Context, lc ListenConfig) error {
	hl, err := net.Listen("tcp", lc.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen http: %w", err)
	}
	var gl net.Listener
	if lc.GRPCAddr != "" {
		if gl, err = net.Listen("tcp", lc.GRPCAddr); err != nil {
			hl.Close()
			return fmt.Errorf("listen grpc: %w", err)
		}
	}
	return s.ServeListeners(ctx, hl, gl, lc)
}

// ServeListeners is Serve on listeners the caller opened; gl may be nil.
func (s *Server) ServeListeners(ctx context.Context, hl, gl net.Listener, lc ListenConfig) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tlsOn := lc.CertFile != "" && lc.KeyFile != ""
	// Requests outlive the cancellation of ctx until the graceful shutdown
	// is over.
	hs := s.newHTTPServer(context.WithoutCancel(ctx))
	var gs *grpc.Server
	if gl != nil {
		var err error
		if gs, err = s.NewGRPCServer(lc.CertFile, lc.KeyFile); err != nil {
			hl.Close()
			gl.Close()
			return err
		}
	}
	if lc.Ready != nil {
		var ga net.Addr
		if gl != nil {
			ga = gl.Addr()
		}
		lc.Ready(hl.Addr(), ga)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		if tlsOn {
			err = hs.ServeTLS(hl, lc.CertFile, lc.KeyFile)
		} else {
			err = hs.Serve(hl)
		}
		if err != nil {
			errs <- fmt.Errorf("serve http: %w", err)
			cancel()
		}
	}()
	if gs != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := gs.Serve(gl); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errs <- fmt.Errorf("serve grpc: %w", err)
				cancel()
			}
		}()
	}
	<-ctx.Done()
	timeout := lc.ShutdownTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	sctx, scancel := context.WithTimeout(context.Background(), timeout)
	defer scancel()
	var shutdownErr error
	if err := hs.ShutdownWithContext(sctx); err != nil {
		shutdownErr = fmt.Errorf("shut down http: %w", err)
		hs.closeConns()
	}
	// A Serve that had not registered the listener when the shutdown began
	// would accept forever; with the listener closed it returns at once.
	hl.Close()
	if gs != nil {
		done := make(chan struct{})
		go func() { gs.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
			gs.Stop()
			<-done
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return shutdownErr
}
