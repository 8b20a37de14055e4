package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	feast "github.com/feastgo/feast"
	st "github.com/feastgo/feast/server/servingtest"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func prometheusRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

func openStore(t testing.TB, dir string) *feast.FeatureStore {
	t.Helper()
	fs, err := feast.Open(context.Background(), feast.Options{RepoPath: dir, Now: func() time.Time { return st.Now }, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

func dialGRPC(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// writeDriverParquet writes one driver_stats row: driver 7, trips 77, at
// 2024-05-01T11:30:00Z.
func writeDriverParquet(t testing.TB, path string) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "conv_rate", Type: arrow.PrimitiveTypes.Float32},
		{Name: "acc_rate", Type: arrow.PrimitiveTypes.Float64},
		{Name: "trips", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(7)
	b.Field(1).(*array.Float32Builder).Append(0.5)
	b.Field(2).(*array.Float64Builder).Append(0.25)
	b.Field(3).(*array.Int64Builder).Append(77)
	b.Field(4).(*array.StringBuilder).Append("g")
	b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(st.Now.Add(-30 * time.Minute).UnixMicro()))
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// caller sends one request to a server and returns the status and body.
type caller func(t testing.TB, method, path, body string, header ...string) (int, string)

// handlerCaller calls a net/http handler in process.
func handlerCaller(h http.Handler) caller {
	return func(t testing.TB, method, path, body string, header ...string) (int, string) {
		t.Helper()
		return do(t, h, method, path, body, header...)
	}
}

// listenerCaller serves s with ServeListeners (the fasthttp listener of
// Serve) on a loopback port until the test ends, and calls it over HTTP.
func listenerCaller(t testing.TB, s *Server) caller {
	t.Helper()
	return listen(t, s).call
}

// listenerAddr serves s like listenerCaller and returns the address.
func listenerAddr(t testing.TB, s *Server) string {
	t.Helper()
	return listen(t, s).addr
}

type listening struct {
	addr string
	call caller
}

func listen(t testing.TB, s *Server) listening {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListeners(ctx, ln, nil, ListenConfig{ShutdownTimeout: 5 * time.Second}) }()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()
	return listening{addr: ln.Addr().String(), call: func(t testing.TB, method, path, body string, header ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}}
}

// forEachTransport runs fn against s through Handler() in process and
// through the listener Serve runs, which answer alike.
func forEachTransport(t *testing.T, s *Server, fn func(t *testing.T, call caller)) {
	t.Run("net/http", func(t *testing.T) { fn(t, handlerCaller(s.Handler())) })
	t.Run("listener", func(t *testing.T) { fn(t, listenerCaller(t, s)) })
}
