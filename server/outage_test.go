package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/push"
	st "github.com/feastgo/feast/server/servingtest"
)

const outageRequest = `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`

// answer is one HTTP answer with the headers the outage tests look at.
type answer struct {
	code       int
	body       string
	retryAfter string
	took       time.Duration
}

// transports returns a function per HTTP stack: the net/http Handler in
// process and the fasthttp listener of Serve, whose online path is its own.
func transports(t *testing.T, s *Server) map[string]func(method, path, body string) answer {
	addr := listenerAddr(t, s)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	return map[string]func(method, path, body string) answer{
		"net/http": func(method, path, body string) answer {
			start := time.Now()
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
			return answer{rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"), time.Since(start)}
		},
		"listener": func(method, path, body string) answer {
			start := time.Now()
			req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return answer{resp.StatusCode, string(b), resp.Header.Get("Retry-After"), time.Since(start)}
		},
	}
}

// expectUnavailable checks that an online request and /ready answer 503
// fast, with Retry-After and the message of an unreachable store, while
// /health (liveness) stays 200.
func expectUnavailable(t *testing.T, call func(method, path, body string) answer) {
	t.Helper()
	a := call("POST", "/get-online-features", outageRequest)
	if a.code != http.StatusServiceUnavailable || a.retryAfter != "1" || !strings.HasPrefix(a.body, `{"error":"online store unavailable: `) {
		t.Fatalf("online request during the outage: %d Retry-After %q %s", a.code, a.retryAfter, a.body)
	}
	if a.took > 1500*time.Millisecond {
		t.Fatalf("online request during the outage took %v; want a fast 503", a.took)
	}
	t.Logf("outage answer after %v: %s", a.took, a.body)
	// Writes fail the same way: 503 with Retry-After, not a 500.
	w := call("POST", "/write-to-online-store", `{"feature_view_name":"driver_stats","df":{"driver_id":[1003],"event_timestamp":["2024-05-01T11:45:00Z"],"conv_rate":[0.125],"acc_rate":[0.5],"trips":[3],"name":["c"]}}`)
	if w.code != http.StatusServiceUnavailable || w.retryAfter != "1" || !strings.Contains(w.body, "online store unavailable: ") {
		t.Fatalf("write during the outage: %d Retry-After %q %s", w.code, w.retryAfter, w.body)
	}
	r := call("GET", "/ready", "")
	var ready readyBody
	if err := json.Unmarshal([]byte(r.body), &ready); err != nil {
		t.Fatalf("/ready body %q: %v", r.body, err)
	}
	if r.code != http.StatusServiceUnavailable || ready.Status != "not ready" || ready.OnlineStore.Status != "unavailable" || ready.Registry.LoadedAt == "" {
		t.Fatalf("/ready during the outage: %d %s", r.code, r.body)
	}
	if r.took > 2*time.Second {
		t.Fatalf("/ready took %v, over the probe timeout", r.took)
	}
	if h := call("GET", "/health", ""); h.code != http.StatusOK {
		t.Fatalf("/health (liveness) during the outage: %d %s", h.code, h.body)
	}
}

func expectServing(t *testing.T, call func(method, path, body string) answer) {
	t.Helper()
	if a := call("POST", "/get-online-features", outageRequest); a.code != http.StatusOK {
		t.Fatalf("online request: %d %s", a.code, a.body)
	}
	if r := call("GET", "/ready", ""); r.code != http.StatusOK || !strings.Contains(r.body, `"status":"ready"`) || !strings.Contains(r.body, `"online_store":{"type":`) {
		t.Fatalf("/ready: %d %s", r.code, r.body)
	}
}

// expectRecovery waits for the server to serve again once the store is
// back, which takes at most openRetryInterval (a failed open answers for
// itself that long), then checks that it does.
func expectRecovery(t *testing.T, call func(method, path, body string) answer) {
	t.Helper()
	start := time.Now()
	for call("POST", "/get-online-features", outageRequest).code != http.StatusOK {
		if time.Since(start) > openRetryInterval+time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	expectServing(t, call)
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRedisOutage serves from a private redis-server, kills it, and
// restarts it on the same port: during the outage online requests answer
// 503 with Retry-After in well under a second (they used to hang for the
// whole request timeout and answer 500), /ready is not ready while
// /health stays ok, and errors are counted; afterwards the server serves
// again without a restart.
func TestRedisOutage(t *testing.T) {
	srv := testenv.StartRedis(t)
	f := st.New(t, st.Online{RedisAddr: srv.Addr()})
	reg := prometheusRegistry()
	s := newServer(t, f, Options{Registerer: reg})
	for name, call := range transports(t, s) {
		t.Run(name, func(t *testing.T) {
			expectServing(t, call)
			srv.Kill()
			expectUnavailable(t, call)
			srv.Start()
			expectRecovery(t, call)
		})
	}
	for _, op := range []string{"read", "ping", "write"} {
		if n := testutil.ToFloat64(s.metrics.onlineErrors.WithLabelValues(op, "unavailable")); n < 1 {
			t.Errorf("feast_online_store_errors_total{operation=%q,reason=\"unavailable\"} = %v", op, n)
		}
	}
}

// TestRedisDownAtStart starts the server while Redis is down: it logs a
// warning and serves anyway (503), and serves features once Redis is up.
func TestRedisDownAtStart(t *testing.T) {
	srv := testenv.StartRedis(t)
	f := st.New(t, st.Online{RedisAddr: srv.Addr()})
	srv.Kill()
	// A store of its own, which has not connected yet, as at a start.
	fs := openStore(t, f.Dir)
	var logs syncBuffer
	s, err := New(fs, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), NoAccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	calls := transports(t, s) // the listener runs Run, which warns
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "online store unreachable at start") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the unreachable online store; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "online_store=redis") {
		t.Fatalf("warning: %s", logs.String())
	}
	expectUnavailable(t, calls["listener"])
	srv.Start()
	expectRecovery(t, calls["listener"])
}

// withOnlineStore opens the repository of f again with another
// online_store section (the registry stays applied): a store that has not
// connected yet, as at a start.
func withOnlineStore(t *testing.T, f *st.Fixture, onlineYAML string) *Server {
	t.Helper()
	return withSection(t, f, "online_store:", "offline_store:", onlineYAML)
}

// withSection opens the repository of f again with the feature_store.yaml
// lines from the one starting with key up to (not including) the one
// starting with next replaced by yaml; the registry stays applied.
func withSection(t *testing.T, f *st.Fixture, key, next, yaml string) *Server {
	t.Helper()
	path := filepath.Join(f.Dir, "feature_store.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(key))
	j := bytes.Index(data, []byte(next))
	data = append(append(append([]byte{}, data[:i]...), yaml...), data[j:]...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return newServer(t, &st.Fixture{Store: openStore(t, f.Dir)}, Options{})
}

// TestPostgresUnreachable points the online store at a port nothing
// listens on, and at one that accepts connections but never answers:
// requests answer 503 fast, the second within the connect timeout (1s).
func TestPostgresUnreachable(t *testing.T) {
	free := testenv.ClosedAddr(t).String()
	hung := testenv.SilentListener(t)
	for name, addr := range map[string]string{"refused": free, "hung": hung.String()} {
		t.Run(name, func(t *testing.T) {
			f := st.New(t, st.SQLite())
			s := withOnlineStore(t, f, fmt.Sprintf("online_store:\n  type: postgres\n  dsn: postgres://feast@%s/feast?sslmode=disable\n", addr))
			expectUnavailable(t, transports(t, s)["listener"])
		})
	}
}

// TestSQLiteLocked serves from a SQLite database another process holds
// locked (exclusive locking mode, as a sqlite3 shell or a maintenance job
// may): requests answer 503 after the read timeout, where opening the
// store used to wait the 10s busy timeout, and serve once the lock is
// released.
func TestSQLiteLocked(t *testing.T) {
	f := st.New(t, st.SQLite())
	f.Store.Close() // its connections would keep the lock from being taken
	path := filepath.Join(f.Dir, "data", "online.db")
	locker, err := sql.Open("sqlite3", "file:"+path) // the online store's SQLite library: locks of another library in this process would not be seen
	if err != nil {
		t.Fatal(err)
	}
	locker.SetMaxOpenConns(1)
	defer locker.Close()
	for _, q := range []string{"PRAGMA locking_mode=EXCLUSIVE", "BEGIN EXCLUSIVE", "CREATE TABLE IF NOT EXISTS lock_holder (x)"} {
		if _, err := locker.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := newServer(t, &st.Fixture{Store: openStore(t, f.Dir)}, Options{})
	call := transports(t, s)["listener"]
	expectUnavailable(t, call)
	locker.Close()
	expectRecovery(t, call)
}

// TestClassifyUnavailable: an unreachable store is 503 and gRPC
// UNAVAILABLE, also when its cause is the store's own read timeout (a
// deadline), which would otherwise be the request's 504.
func TestClassifyUnavailable(t *testing.T) {
	err := fmt.Errorf("read online features: %w", online.Unavailable(fmt.Errorf("redis: read v: no answer within 1s: %w", context.DeadlineExceeded)))
	if code, gc := classify(err); code != http.StatusServiceUnavailable || gc != codes.Unavailable {
		t.Fatalf("classify = %d, %v", code, gc)
	}
	s := &Server{opts: Options{Timeout: DefaultTimeout}, log: discardLogger()}
	const want = "online store unavailable: read online features: redis: read v: no answer within 1s: context deadline exceeded"
	if got := s.errorMessage(err); got != want {
		t.Fatalf("message %q", got)
	}
	// gRPC clients get the same message, with code UNAVAILABLE.
	if st := status.Convert(s.grpcError("/m", err)); st.Code() != codes.Unavailable || st.Message() != want {
		t.Fatalf("gRPC status %v %q", st.Code(), st.Message())
	}
	if retryAfter(err) != "1" || retryAfter(errors.New("other")) != "" || retryAfter(context.DeadlineExceeded) != "" {
		t.Fatal("Retry-After only for an unreachable store")
	}
	if code, _ := classify(context.DeadlineExceeded); code != http.StatusGatewayTimeout {
		t.Fatalf("the request's own deadline is still 504, got %d", code)
	}
	// An online_and_offline push whose offline part was written is 500
	// without Retry-After even when the online store is unreachable:
	// resending the whole push would append the offline rows twice.
	partial := &push.PartialError{Source: "s", Written: push.Offline, Err: err}
	if code, _ := classify(partial); code != http.StatusInternalServerError || retryAfter(partial) != "" {
		t.Fatalf("partial push: %d, Retry-After %q", code, retryAfter(partial))
	}
	if got := s.errorMessage(partial); !strings.Contains(got, "retry with to=online") {
		t.Fatalf("partial push message %q", got)
	}
	// A request the request timeout ended says which timeout and how to
	// raise it.
	timedOut := fmt.Errorf("read online features: %w", context.DeadlineExceeded)
	if got := s.errorMessage(timedOut); !strings.Contains(got, "request timeout of 30s") || !strings.Contains(got, "feast serve --timeout") {
		t.Fatalf("timeout message %q", got)
	}
}

// TestGRPCHealthFollowsReadiness: gRPC health checking answers what /ready
// decides. With the test's Redis killed, the service "" and
// feast.serving.ServingService turn NOT_SERVING (a watch is told), the
// liveness service stays SERVING, and a burst of checks pings the store
// at most about once per readyCacheTTL; after a restart they are SERVING
// again.
func TestGRPCHealthFollowsReadiness(t *testing.T) {
	srv := testenv.StartRedis(t)
	f := st.New(t, st.Online{RedisAddr: srv.Addr()})
	s := newServer(t, f, Options{Registerer: prometheusRegistry()})
	hc := healthpb.NewHealthClient(bufServer(t, s))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("check %q: %v", service, err)
		}
		return r.GetStatus()
	}
	const serving = "feast.serving.ServingService"
	for _, svc := range []string{"", serving, LivenessService} {
		if got := check(svc); got != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("check %q with Redis up: %v", svc, got)
		}
	}
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: serving})
	if err != nil {
		t.Fatal(err)
	}
	next := func() healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		r, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		return r.GetStatus()
	}
	if got := next(); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first watch answer: %v", got)
	}

	srv.Kill()
	if got := next(); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch after Redis stopped: %v", got)
	}
	pings := func() float64 {
		return testutil.ToFloat64(s.metrics.onlineErrors.WithLabelValues("ping", "unavailable")) +
			testutil.ToFloat64(s.metrics.onlineErrors.WithLabelValues("open", "unavailable"))
	}
	before, start := pings(), time.Now()
	for range 50 {
		for _, svc := range []string{"", serving} {
			if got := check(svc); got != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("check %q with Redis down: %v", svc, got)
			}
		}
	}
	if n, most := pings()-before, 1+time.Since(start).Seconds()/readyCacheTTL.Seconds(); n > most {
		t.Errorf("100 health checks in %v tried the online store %v times; want at most %v (cached for %v)", time.Since(start), n, most, readyCacheTTL)
	}
	if got := check(LivenessService); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("liveness with Redis down: %v", got)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown service: %v", err)
	}

	srv.Start()
	if got := next(); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch after Redis restarted: %v", got)
	}
	for _, svc := range []string{"", serving} {
		if got := check(svc); got != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("check %q after Redis restarted: %v", svc, got)
		}
	}
}

// TestMaterializeOnlineStoreDown: /materialize and /materialize-incremental
// answer 503 with Retry-After while the test's Redis is stopped (the rows
// cannot be written; no interval is recorded), and materialize again once
// it is back.
func TestMaterializeOnlineStoreDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	f := st.New(t, st.Online{RedisAddr: srv.Addr()})
	writeDriverParquet(t, filepath.Join(f.Dir, "data", "driver.parquet"))
	s := newServer(t, f, Options{})
	call := transports(t, s)["net/http"]
	const full = `{"start_ts":"2024-04-30T00:00:00","end_ts":"2024-05-01T12:00:00","feature_views":["driver_stats"]}`
	const incremental = `{"end_ts":"2024-05-01T12:00:00","feature_views":["driver_stats"]}`
	// Nothing is recorded yet: both runs have the 11:30 row to write.
	srv.Kill()
	for path, body := range map[string]string{"/materialize": full, "/materialize-incremental": incremental} {
		a := call("POST", path, body)
		if a.code != http.StatusServiceUnavailable || a.retryAfter != "1" || !strings.Contains(a.body, "online store unavailable: ") ||
			!strings.Contains(a.body, "the interval was not recorded") {
			t.Errorf("%s with Redis down: %d Retry-After %q %s", path, a.code, a.retryAfter, a.body)
		}
	}
	srv.Start()
	start := time.Now()
	a := call("POST", "/materialize", full)
	for a.code != http.StatusOK && time.Since(start) < openRetryInterval+5*time.Second {
		time.Sleep(50 * time.Millisecond)
		a = call("POST", "/materialize", full)
	}
	if a.code != http.StatusOK {
		t.Fatalf("materialize after Redis restarted: %d %s", a.code, a.body)
	}
	if a := call("POST", "/get-online-features", `{"features":["driver_stats:trips"],"entities":{"driver_id":[7]}}`); a.code != http.StatusOK || !strings.Contains(a.body, `"values":[77]`) {
		t.Fatalf("read after materialize: %d %s", a.code, a.body)
	}
}

// withOfflineStore opens the repository of f again with another
// offline_store section (the registry stays applied).
func withOfflineStore(t *testing.T, f *st.Fixture, offlineYAML string) *Server {
	t.Helper()
	return withSection(t, f, "offline_store:", "entity_key_serialization_version:", offlineYAML)
}

// TestMaterializeOfflineStoreUnreachable: a materialization whose offline
// PostgreSQL refuses connections (a closed port) or accepts them and never
// answers is 503 with Retry-After and a message naming the offline store,
// where it used to be 500; an unknown view stays 404 and a malformed
// request 400.
func TestMaterializeOfflineStoreUnreachable(t *testing.T) {
	closed := testenv.ClosedAddr(t).Port
	hung := testenv.SilentListener(t)
	for name, port := range map[string]int{"refused": closed, "hung": hung.Port} {
		t.Run(name, func(t *testing.T) {
			f := st.New(t, st.SQLite())
			s := withOfflineStore(t, f, fmt.Sprintf("offline_store:\n  type: postgres\n  host: 127.0.0.1\n  port: %d\n  database: test\n  user: feast\n  connect_timeout: 1\n", port))
			call := transports(t, s)["net/http"]
			for path, body := range map[string]string{
				"/materialize":             `{"start_ts":"2024-04-30T00:00:00","end_ts":"2024-05-01T12:00:00","feature_views":["driver_stats"]}`,
				"/materialize-incremental": `{"end_ts":"2024-05-01T12:00:00"}`,
			} {
				a := call("POST", path, body)
				if a.code != http.StatusServiceUnavailable || a.retryAfter != "5" || !strings.Contains(a.body, `{"error":"offline store unavailable: `) {
					t.Errorf("%s: %d Retry-After %q %s", path, a.code, a.retryAfter, a.body)
				}
			}
			if a := call("POST", "/materialize", `{"start_ts":"2024-04-30T00:00:00","end_ts":"2024-05-01T12:00:00","feature_views":["driver_stat"]}`); a.code != http.StatusNotFound {
				t.Errorf("unknown view: %d %s", a.code, a.body)
			}
			if a := call("POST", "/materialize", `{"start_ts":"2024-04-30T00:00:00"}`); a.code != http.StatusBadRequest {
				t.Errorf("no end_ts: %d %s", a.code, a.body)
			}
		})
	}
}
