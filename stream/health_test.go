package stream

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/feastgo/feast/internal/testenv"
)

// syncBuffer is a log destination the consumer's goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// healthOf requests path from h and returns the code and the decoded body.
func healthOf(t *testing.T, h http.Handler, path string) (int, struct {
	Status  string
	Sources []SourceHealth
}) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	var body struct {
		Status  string
		Sources []SourceHealth
	}
	b, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("%s: %d %q: %v", path, rec.Code, b, err)
	}
	return rec.Code, body
}

// TestHealthAndReadiness follows /ready and /health through a consumer's
// life with real failures: a private Redis online store killed and
// restarted (writes retried), then the Kafka cluster gone (brokers
// unreachable, which the Kafka client does not report by itself).
func TestHealthAndReadiness(t *testing.T) {
	redis := testenv.StartRedis(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "stats_json"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	fs := streamRepo(t, "  type: redis\n  connection_string: \""+redis.Addr()+",socket_timeout=0.5\"\n")
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	r, err := New(context.Background(), fs, Options{Views: []string{"driver_stats_json"}, Brokers: brokers, Registerer: reg,
		RetryBackoff: 20 * time.Millisecond, FlushInterval: 50 * time.Millisecond, BrokerCheckInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler()
	ready := func(want int, status string) func() bool {
		return func() bool {
			code, body := healthOf(t, h, "/ready")
			return code == want && len(body.Sources) == 1 && body.Sources[0].Status == status
		}
	}
	if code, body := healthOf(t, h, "/ready"); code != 503 || body.Sources[0].Status != "starting" {
		t.Fatalf("/ready before Run: %d %+v, want 503 starting", code, body)
	}
	if code, _ := healthOf(t, h, "/health"); code != 200 {
		t.Fatalf("/health before Run: %d, want 200", code)
	}

	stop := running(t, r)
	eventually(t, "/ready 200 once the consumer runs", ready(200, "ok"))
	produce(t, brokers, jsonMsg(1, t0, 0.5, 10))
	eventually(t, "the first row online", func() bool { return readOnline(t, fs, "driver_stats_json", 1).Found })
	eventually(t, "last_write on /ready", func() bool {
		_, body := healthOf(t, h, "/ready")
		return body.Sources[0].LastWrite != nil
	})

	// The online store goes down: the write is retried, /ready says so,
	// /health stays 200 (a restart would not bring Redis back).
	redis.Kill()
	produce(t, brokers, jsonMsg(2, t0, 0.25, 20))
	eventually(t, "/ready 503 retrying", ready(503, "retrying"))
	_, body := healthOf(t, h, "/ready")
	if s := body.Sources[0]; s.Op != "write online" || s.Error == "" || s.Since == nil || s.Source != "stats_json" || s.Topic != "stats_json" {
		t.Errorf("/ready while Redis is down: %+v, want op \"write online\" with its error and since", s)
	}
	if code, _ := healthOf(t, h, "/health"); code != 200 {
		t.Errorf("/health while Redis is down: %d, want 200", code)
	}
	if n := metricValue(t, reg, "feast_stream_retries_total", map[string]string{"source": "stats_json", "op": "write online"}); n < 1 {
		t.Errorf("feast_stream_retries_total{op=\"write online\"} = %v, want ≥ 1", n)
	}
	redis.Start()
	eventually(t, "/ready 200 after Redis is back", ready(200, "ok"))
	eventually(t, "the retried row online", func() bool { return readOnline(t, fs, "driver_stats_json", 2).Found })

	eventually(t, "feast_stream_brokers_up 1", func() bool {
		return metricValue(t, reg, "feast_stream_brokers_up", map[string]string{"source": "stats_json"}) == 1
	})
	// The brokers go away: the Kafka client retries silently; the
	// consumer's own check sees it (log, metric, /health's list without a
	// ping), and so does /ready's ping.
	cluster.Close()
	eventually(t, "/ready 503 unreachable", ready(503, "unreachable"))
	eventually(t, "feast_stream_brokers_up 0", func() bool {
		return metricValue(t, reg, "feast_stream_brokers_up", map[string]string{"source": "stats_json"}) == 0
	})
	if code, body := healthOf(t, h, "/health"); body.Sources[0].Status != "unreachable" || body.Sources[0].Since == nil {
		t.Errorf("/health with the brokers gone: %d %+v, want the source unreachable since its first failed check", code, body.Sources[0])
	}
	eventually(t, "the warning, once", func() bool { return strings.Count(logs.String(), "stream brokers unreachable") == 1 })
	if code, _ := healthOf(t, h, "/health"); code != 200 {
		t.Errorf("/health with the brokers gone: %d, want 200", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if code, body := healthOf(t, h, "/health"); code != 200 || body.Sources[0].Status != "stopped" {
		t.Errorf("/health after a clean stop: %d %+v, want 200 stopped", code, body)
	}
}

// TestRunStopsWhenAConsumerCannotRun: a consumer that cannot start stops
// the runner (the others stop as on a signal), instead of leaving its
// source unconsumed while the process looks alive.
func TestRunStopsWhenAConsumerCannotRun(t *testing.T) {
	brokers := newCluster(t, "stats_json", "stats_avro")
	fs := streamRepo(t, sqliteOnline)
	r, err := New(context.Background(), fs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.consumers) != 2 {
		t.Fatalf("%d consumers, want 2", len(r.consumers))
	}
	// One source reaches the cluster; the other names a broker address
	// the Kafka client refuses.
	good, bad := *r.consumers[0].source, *r.consumers[1].source
	good.KafkaBootstrapServers, bad.KafkaBootstrapServers = strings.Join(brokers, ","), "[bad"
	r.consumers[0].source, r.consumers[1].source = &good, &bad
	h := r.Handler()
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), bad.Name) {
			t.Fatalf("Run: %v, want the error of source %s", err, bad.Name)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after a consumer could not start")
	}
	code, body := healthOf(t, h, "/health")
	if code != 503 {
		t.Errorf("/health: %d, want 503", code)
	}
	for _, s := range body.Sources {
		if s.Status != "stopped" || (s.Source == bad.Name) != (s.Error != "") {
			t.Errorf("/health source %+v: want stopped, with an error only for %s", s, bad.Name)
		}
	}
}
