package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/serving"
	st "github.com/feastgo/feast/server/servingtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func newServer(t testing.TB, f *st.Fixture, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	s, err := New(f.Store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t testing.TB, h http.Handler, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// golden compares got with testdata/<name>.json (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != strings.TrimSuffix(string(want), "\n") {
		t.Errorf("%s:\n got: %s\nwant: %s", name, got, want)
	}
}

var onlineCases = []struct {
	name string
	body string
	code int
}{
	{"statuses", `{"features":["driver_stats:conv_rate","driver_stats:acc_rate","driver_stats:name"],"entities":{"driver_id":[1001,1002,1003,1004]}}`, 200},
	{"two_views_full_names", `{"features":["customer_profile:tier","driver_stats:trips","customer_profile:age"],"entities":{"driver_id":[1001,1003],"customer_id":["c1","c2"]},"full_feature_names":true}`, 200},
	{"service_alias_request_data_in_entities", `{"feature_service":"driver_service","entities":{"driver_id":[1001,1004],"rider_id":["c1","c9"],"val_to_add":[2,3]},"full_feature_names":true}`, 200},
	{"odfv_request_context", `{"features":["conv_plus:conv_plus_val","conv_plus:trips_x2"],"entities":{"driver_id":[1001,1003]},"request_context":{"val_to_add":[1,2]}}`, 200},
	{"string_entity_values", `{"features":["driver_stats:trips"],"entities":{"driver_id":["1001"]},"include_feature_view_version_metadata":false}`, 200},
	{"zero_rows", `{"features":["driver_stats:trips"],"entities":{"driver_id":[]}}`, 200},
	// customer_id is the join key of a project entity the view does not use:
	// accepted and returned, as Feast does.
	{"extra_entity_join_key", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001,1003],"customer_id":["c1","c2"]}}`, 200},
	{"unknown_feature", `{"features":["driver_stats:conv_rat"],"entities":{"driver_id":[1001]}}`, 404},
	{"unknown_view", `{"features":["driver_stat:trips"],"entities":{"driver_id":[1001]}}`, 404},
	{"unknown_service", `{"feature_service":"driver_servce","entities":{"driver_id":[1001]}}`, 404},
	{"missing_join_key", `{"features":["driver_stats:trips","customer_profile:age"],"entities":{"driver_id":[1001]}}`, 400},
	{"unknown_entity_column", `{"features":["driver_stats:trips"],"entities":{"driver":[1001]}}`, 400},
	{"wrong_entity_type", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001,"abc"]}}`, 400},
	{"fractional_entity", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1.5]}}`, 400},
	{"entities_not_arrays", `{"features":["driver_stats:trips"],"entities":{"driver_id":1001}}`, 400},
	{"row_count_mismatch", `{"features":["driver_stats:trips","customer_profile:age"],"entities":{"driver_id":[1001,1002],"customer_id":["c1"]}}`, 400},
	{"missing_request_field", `{"features":["conv_plus:conv_plus_val"],"entities":{"driver_id":[1001]}}`, 400},
	{"malformed_json", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]`, 400},
	{"empty_body", ``, 400},
	{"empty_request", `{}`, 400},
	{"features_not_list", `{"features":"driver_stats:trips","entities":{"driver_id":[1001]}}`, 400},
	{"bad_reference", `{"features":["trips"],"entities":{"driver_id":[1001]}}`, 400},
	{"both_selections", `{"features":["driver_stats:trips"],"feature_service":"all_driver","entities":{"driver_id":[1001]}}`, 400},
	{"too_many_entities", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1,2,3,4,5,6]}}`, 413},
}

func testOnlineHTTP(t *testing.T, o st.Online) {
	f := st.New(t, o)
	forEachTransport(t, newServer(t, f, Options{MaxEntities: 5}), func(t *testing.T, call caller) {
		testOnlineCases(t, f, call)
	})
}

func testOnlineCases(t *testing.T, f *st.Fixture, call caller) {
	for _, c := range onlineCases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, "POST", "/get-online-features", c.body)
			body = strings.ReplaceAll(body, `\"`+f.Project+`\"`, `\"serving\"`)
			if code != c.code {
				t.Errorf("status %d, want %d: %s", code, c.code, body)
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("invalid JSON: %s", body)
			}
			golden(t, "online_"+c.name, body)
		})
	}
}

func TestOnlineHTTPSQLite(t *testing.T) { testOnlineHTTP(t, st.SQLite()) }

func TestOnlineHTTPRedis(t *testing.T) {
	o := st.Redis(t)
	if *update {
		t.Skip("goldens are written by the SQLite run")
	}
	testOnlineHTTP(t, o)
}

func TestWriteEndpoints(t *testing.T) {
	f := st.New(t, st.SQLite())
	rw := newServer(t, f, Options{}).Handler()
	ro := newServer(t, f, Options{ReadOnly: true, Registerer: nil}).Handler()
	for _, path := range []string{"/push", "/write-to-online-store", "/materialize", "/materialize-incremental"} {
		code, body := do(t, ro, "POST", path, `{}`)
		if code != 403 || body != `{"error":"this feature server is read-only: write endpoints are disabled"}` {
			t.Errorf("read-only %s: %d %s", path, code, body)
		}
	}
	// Reads still work on the read-only server.
	if code, body := do(t, ro, "POST", "/get-online-features", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`); code != 200 {
		t.Errorf("read on read-only server: %d %s", code, body)
	}
	cases := []struct{ path, body, want string }{
		{"/materialize", `{"start_ts":"2024-05-01T00:00:00","end_ts":"2024-04-01T00:00:00"}`, `{"error":"start_ts 2024-05-01T00:00:00Z must be before end_ts 2024-04-01T00:00:00Z"}`},
		{"/materialize", `{"end_ts":"2024-04-01T00:00:00"}`, `{"error":"start_ts is required"}`},
		{"/materialize", `{"start_ts":"yesterday","end_ts":"2024-04-01T00:00:00"}`, `start_ts: `},
		{"/materialize-incremental", `{}`, `{"error":"end_ts is required"}`},
		{"/materialize-incremental", `{"end_ts": 5`, `malformed request body`},
		{"/materialize?async=true", `{}`, `async materialization is not supported`},
	}
	for _, c := range cases {
		code, body := do(t, rw, "POST", c.path, c.body)
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %s, want 400 with %s", c.path, c.body, code, body, c.want)
		}
	}
	code, body := do(t, rw, "POST", "/materialize", `{"start_ts":"2024-04-01T00:00:00","end_ts":"2024-05-01T00:00:00","feature_views":["driver_stat"]}`)
	if code != 404 || !strings.Contains(body, `driver_stats`) {
		t.Errorf("materialize unknown view: %d %s", code, body)
	}
}

func TestMaterializeEndpoint(t *testing.T) {
	f := st.NewEmpty(t, st.SQLite())
	// A parquet file for driver_stats with one row, written through DuckDB.
	writeDriverParquet(t, filepath.Join(f.Dir, "data", "driver.parquet"))
	h := newServer(t, f, Options{}).Handler()
	code, body := do(t, h, "POST", "/materialize", `{"start_ts":"2024-04-30T00:00:00","end_ts":"2024-05-01T12:00:00","feature_views":["driver_stats"]}`)
	if code != 200 || body != "null" {
		t.Fatalf("materialize: %d %s", code, body)
	}
	code, body = do(t, h, "POST", "/get-online-features", `{"features":["driver_stats:trips"],"entities":{"driver_id":[7]}}`)
	if code != 200 || !strings.Contains(body, `{"values":[77],"statuses":["PRESENT"],"event_timestamps":["2024-05-01T11:30:00Z"]}`) {
		t.Errorf("after materialize: %d %s", code, body)
	}
	code, body = do(t, h, "POST", "/materialize-incremental", `{"end_ts":"2024-05-01T12:00:00+00:00","feature_views":["driver_stats"]}`)
	if code != 200 || body != "null" {
		t.Fatalf("materialize-incremental: %d %s", code, body)
	}
}

func TestHealthAndRegistryRefresh(t *testing.T) {
	f := st.New(t, st.SQLite())
	reg := prometheusRegistry()
	s := newServer(t, f, Options{Registerer: reg})
	h := s.Handler()
	// Nothing loaded yet by this server's registry is fine: the store
	// loaded the snapshot during apply; force a clean state by refreshing.
	ctx := context.Background()
	if _, err := s.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	code, body := do(t, h, "GET", "/health", "")
	if code != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"project":"serving"`) {
		t.Errorf("health: %d %s", code, body)
	}
	// Break the registry file: the refresh fails, the last snapshot keeps
	// serving, health reports the error, metrics count it.
	regPath := filepath.Join(f.Dir, "data", "registry.db")
	good, err := os.ReadFile(regPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(regPath, []byte("not a registry"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.refresh(ctx); err == nil {
		t.Fatal("refresh of a corrupt registry succeeded")
	}
	code, body = do(t, h, "GET", "/health", "")
	if code != 200 || !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, `"last_refresh_error":"decode registry `) {
		t.Errorf("degraded health: %d %s", code, body)
	}
	if code, body := do(t, h, "POST", "/get-online-features", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`); code != 200 {
		t.Errorf("serving with a failed refresh: %d %s", code, body)
	}
	_, metricsText := do(t, h, "GET", "/metrics", "")
	for _, want := range []string{
		`feast_registry_refresh_errors_total 1`,
		`feast_registry_refresh_failing 1`,
		`feast_http_requests_total{endpoint="/get-online-features",status="200"} 1`,
		`feast_http_requests_total{endpoint="/health",status="200"} 2`,
		`feast_http_request_duration_seconds_count{endpoint="/get-online-features",status="200"} 1`,
		`feast_online_store_read_duration_seconds_count 1`,
		`feast_request_entities_sum 1`,
		`feast_request_features_sum 1`,
		`feast_registry_snapshot_age_seconds 0`,
		`feast_feature_view_ttl_seconds{feature_view="driver_stats"}`,
	} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metricsText, "go_goroutines") {
		t.Error("metrics use the default registry")
	}
	os.WriteFile(regPath, good, 0o644)
	if _, err := s.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, h, "GET", "/health", ""); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("recovered health: %d %s", code, body)
	}
}

func TestHealthUnavailableWithoutRegistry(t *testing.T) {
	f := st.New(t, st.SQLite())
	// A registry that cannot be read and was never loaded by a new store.
	os.WriteFile(filepath.Join(f.Dir, "data", "registry.db"), []byte("garbage"), 0o644)
	fs2 := openStore(t, f.Dir)
	s, err := New(fs2, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	code, body := do(t, s.Handler(), "GET", "/health", "")
	if code != 503 || !strings.Contains(body, `"status":"unavailable"`) {
		t.Errorf("health: %d %s", code, body)
	}
	code, body = do(t, s.Handler(), "POST", "/get-online-features", `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`)
	if code != 503 || !strings.HasPrefix(body, `{"error":"registry not loaded: load registry: `) {
		t.Errorf("online without registry: %d %s", code, body)
	}
}

func TestAuthToken(t *testing.T) {
	f := st.New(t, st.SQLite())
	forEachTransport(t, newServer(t, f, Options{AuthTokens: []string{"s3cret"}}), func(t *testing.T, call caller) {
		req := `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`
		if code, body := call(t, "POST", "/get-online-features", req); code != 401 || body != `{"error":"missing bearer token: send \"Authorization: Bearer <token>\""}` {
			t.Errorf("no token: %d %s", code, body)
		}
		if code, _ := call(t, "POST", "/get-online-features", req, "Authorization", "Bearer wrong"); code != 401 {
			t.Errorf("wrong token: %d", code)
		}
		if code, body := call(t, "POST", "/get-online-features", req, "Authorization", "Bearer s3cret"); code != 200 {
			t.Errorf("good token: %d %s", code, body)
		}
		if code, _ := call(t, "GET", "/health", ""); code != 200 {
			t.Errorf("health needs no token: %d", code)
		}
		if code, _ := call(t, "GET", "/metrics", ""); code != 200 {
			t.Errorf("metrics need no token: %d", code)
		}
	})
}

func TestPanicRecovery(t *testing.T) {
	f := st.New(t, st.SQLite())
	s := newServer(t, f, Options{})
	calls := 0
	h := s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			panic("boom")
		}
		w.Write([]byte("ok"))
	}))
	if code, body := do(t, h, "GET", "/", ""); code != 500 || body != `{"error":"internal error"}` {
		t.Errorf("panic: %d %s", code, body)
	}
	if code, body := do(t, h, "GET", "/", ""); code != 200 || body != "ok" {
		t.Errorf("after panic: %d %s", code, body)
	}
}

func TestBodyLimit(t *testing.T) {
	f := st.New(t, st.SQLite())
	forEachTransport(t, newServer(t, f, Options{MaxBodyBytes: 64}), func(t *testing.T, call caller) {
		body := `{"features":["driver_stats:trips"],"entities":{"driver_id":[` + strings.Repeat("1001,", 40) + `1]}}`
		for _, path := range []string{"/get-online-features", "/push"} {
			code, resp := call(t, "POST", path, body)
			if code != 413 || resp != `{"error":"request body exceeds 64 bytes"}` {
				t.Errorf("%s: %d %s", path, code, resp)
			}
		}
	})
}

// The listener answers a panic in the online path with 500 and keeps
// serving, as the net/http chain does (TestPanicRecovery); the panic is
// counted.
func TestListenerPanicRecovery(t *testing.T) {
	f := st.New(t, st.SQLite())
	reg := prometheusRegistry()
	s := newServer(t, f, Options{Registerer: reg})
	call := listenerCaller(t, s)
	req := `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`
	if code, body := call(t, "POST", "/get-online-features", req); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	good := s.reader.Load()
	s.reader.Store(&timedReader{r: panicReader{}, m: s.metrics})
	if code, body := call(t, "POST", "/get-online-features", req); code != 500 || body != `{"error":"internal error"}` {
		t.Errorf("panic: %d %s", code, body)
	}
	s.reader.Store(good)
	if code, body := call(t, "POST", "/get-online-features", req); code != 200 {
		t.Errorf("after panic: %d %s", code, body)
	}
	_, metrics := call(t, "GET", "/metrics", "")
	for _, want := range []string{"feast_http_panics_total 1", `feast_http_requests_total{endpoint="/get-online-features",status="500"} 1`, `feast_http_requests_total{endpoint="/get-online-features",status="200"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

type panicReader struct{}

func (panicReader) Read(context.Context, []online.ReadRequest) ([]online.ReadResult, error) {
	panic("boom")
}

func TestServeGracefulShutdown(t *testing.T) {
	f := st.New(t, st.SQLite())
	if _, err := f.Store.OnlineStore(context.Background()); err != nil {
		t.Fatal(err)
	}
	// fasthttp keeps one process-wide goroutine updating its Date header,
	// and its worker pool's cleaner exits on its next tick (up to 10s after
	// shutdown); neither belongs to a connection or a request.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
	s := newServer(t, f, Options{RegistryTTL: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, ListenConfig{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
			Ready: func(h, g net.Addr) { ready <- [2]net.Addr{h, g} }})
	}()
	addrs := <-ready
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Post("http://"+addrs[0].String()+"/get-online-features", "application/json",
		bytes.NewBufferString(`{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"values":[10]`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	conn := dialGRPC(t, addrs[1].String())
	out, err := serving.NewServingServiceClient(conn).GetFeastServingInfo(context.Background(), &serving.GetFeastServingInfoRequest{})
	if err != nil || out.GetVersion() == "" {
		t.Errorf("serving info: %v %v", out, err)
	}
	conn.Close()
	client.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// With a tracer provider, both HTTP stacks record a server span per
// request under the caller's W3C trace context.
func TestTracing(t *testing.T) {
	f := st.New(t, st.SQLite())
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	forEachTransport(t, newServer(t, f, Options{TracerProvider: tp}), func(t *testing.T, call caller) {
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		req := `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`
		if code, body := call(t, "POST", "/get-online-features", req, "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01"); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		var found bool
		for _, sp := range rec.Ended() {
			if sp.Name() == "POST /get-online-features" && sp.SpanContext().TraceID().String() == traceID && sp.SpanKind() == trace.SpanKindServer {
				found = true
			}
		}
		if !found {
			t.Errorf("no server span for the request under trace %s among %d spans", traceID, len(rec.Ended()))
		}
	})
}

// The listener takes request headers of several KiB (long tokens behind
// proxies), as net/http does.
func TestListenerLargeHeaders(t *testing.T) {
	f := st.New(t, st.SQLite())
	call := listenerCaller(t, newServer(t, f, Options{}))
	req := `{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`
	if code, body := call(t, "POST", "/get-online-features", req, "X-Forwarded-Extra", strings.Repeat("a", 12<<10)); code != 200 {
		t.Errorf("12 KiB header: %d %s", code, body)
	}
}

// ServeListeners returns when its context is cancelled before (or while)
// the listener starts.
func TestServeCancelledBeforeStart(t *testing.T) {
	f := st.New(t, st.SQLite())
	s := newServer(t, f, Options{})
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() { done <- s.ServeListeners(ctx, ln, nil, ListenConfig{ShutdownTimeout: time.Second}) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("ServeListeners did not return")
		}
	}
}

// A request in flight when the shutdown begins runs to the end with a live
// context (a push cut short would be half applied) and gets its answer.
// The handler is let go only once the shutdown is draining (see
// shutdownDraining): by then a shutdown that cancels request contexts or drops
// connections has done so.
func TestShutdownLetsRequestsFinish(t *testing.T) {
	f := st.New(t, st.SQLite())
	s := newServer(t, f, Options{})
	started, release := make(chan struct{}), make(chan struct{})
	ctxErr := make(chan error, 1)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		ctxErr <- r.Context().Err()
		w.Write([]byte("done"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.ServeListeners(ctx, ln, nil, ListenConfig{ShutdownTimeout: 10 * time.Second}) }()
	type answer struct {
		code int
		body string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/push", "application/json", strings.NewReader("{}"))
		if err != nil {
			got <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- answer{code: resp.StatusCode, body: string(b)}
	}()
	<-started
	cancel()
	// Wait for the shutdown to be draining, failing if it ends the request
	// or returns instead.
	deadline := time.After(10 * time.Second)
	for !shutdownDraining() {
		select {
		case a := <-got:
			close(release)
			t.Fatalf("the request ended before it was let go: %d %q %v", a.code, a.body, a.err)
		case err := <-served:
			close(release)
			t.Fatalf("ServeListeners returned (%v) with a request in flight", err)
		case <-deadline:
			close(release)
			t.Fatal("the shutdown never waited for the request in flight")
		case <-time.After(time.Millisecond):
		}
	}
	close(release)
	a := <-got
	if err := <-ctxErr; a.err != nil || a.code != 200 || a.body != "done" || err != nil {
		t.Fatalf("in-flight request: %d %q %v, context error %v", a.code, a.body, a.err, err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// shutdownDraining reports whether the HTTP server's graceful shutdown is
// waiting for requests in flight: the goroutine of ServeListeners is
// parked in the select of fasthttp's ShutdownWithContext, which it reaches
// only after closing the listener and cancelling fasthttp's request
// contexts, and parks in only while a request is open. Should fasthttp
// change, the test fails (the shutdown "never waited"), it does not pass
// untested.
func shutdownDraining() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, frames, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") &&
			strings.HasPrefix(frames, "github.com/valyala/fasthttp.(*Server).ShutdownWithContext(") &&
			strings.Contains(frames, "/server.(*Server).ServeListeners(") {
			return true
		}
	}
	return false
}

// The listener refuses an unauthenticated body without reading it (401),
// still reads an authenticated one up to the limit, and answers headers
// over its buffer with 431.
func TestListenerLimits(t *testing.T) {
	f := st.New(t, st.SQLite())
	s := newServer(t, f, Options{AuthTokens: []string{"s3cret"}})
	call := listenerCaller(t, s)
	big := `{"features":["driver_stats:trips"],"entities":{"driver_id":[` + strings.Repeat("1001,", 100_000) + `1001]}}`
	// Without a token the answer comes before any of the announced
	// megabyte of body is sent.
	addr := listenerAddr(t, s)
	for _, path := range []string{"/get-online-features", "/push"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", path)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s without a token: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 401 || string(body) != `{"error":"missing bearer token: send \"Authorization: Bearer <token>\""}` {
			t.Errorf("%s without a token: %d %s", path, resp.StatusCode, body)
		}
	}
	if code, body := call(t, "POST", "/get-online-features", big, "Authorization", "Bearer s3cret"); code != 413 || !strings.Contains(body, "entity rows per request") {
		t.Errorf("with a token: %d %.120s", code, body)
	}
	if code, body := call(t, "GET", "/health", "", "X-Big", strings.Repeat("a", 70<<10)); code != 431 || !strings.Contains(body, "request headers exceed") {
		t.Errorf("70 KiB header: %d %s", code, body)
	}
}

// With a certificate, Serve answers HTTPS and gRPC over TLS.
func TestServeTLS(t *testing.T) {
	f := st.New(t, st.SQLite())
	s := newServer(t, f, Options{})
	certFile, keyFile, pool := selfSignedCert(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, ListenConfig{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile,
			Ready: func(h, g net.Addr) { ready <- [2]net.Addr{h, g} }})
	}()
	addrs := <-ready
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Post("https://"+addrs[0].String()+"/get-online-features", "application/json",
		strings.NewReader(`{"features":["driver_stats:trips"],"entities":{"driver_id":[1001]}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"values":[10]`) {
		t.Errorf("https: %d %s", resp.StatusCode, body)
	}
	conn, err := grpc.NewClient(addrs[1].String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	out, err := serving.NewServingServiceClient(conn).GetFeastServingInfo(context.Background(), &serving.GetFeastServingInfoRequest{})
	if err != nil || out.GetVersion() == "" {
		t.Errorf("grpc over TLS: %v %v", out, err)
	}
	conn.Close()
	client.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key, and
// returns their paths and a pool trusting the certificate.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "feast test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
