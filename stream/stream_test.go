package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

const avroSchema = `{"type":"record","name":"DriverStats","fields":[
  {"name":"driver_id","type":"long"},
  {"name":"event_timestamp","type":{"type":"long","logicalType":"timestamp-micros"}},
  {"name":"conv_rate","type":["null","float"]},
  {"name":"trips","type":"long"},
  {"name":"note","type":"string"}]}`

func streamDefs() string {
	schema, _ := json.Marshal(avroSchema)
	return `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - name: stats_batch
    type: file
    path: data/stats/
    timestamp_field: event_timestamp
  - name: stats_json
    type: kafka
    kafka_bootstrap_servers: 127.0.0.1:1
    topic: stats_json
    message_format: json
    timestamp_field: event_timestamp
    batch_source: stats_batch
  - name: stats_avro
    type: kafka
    kafka_bootstrap_servers: 127.0.0.1:1
    topic: stats_avro
    message_format: avro
    schema_json: ` + string(schema) + `
    timestamp_field: event_timestamp
    field_mapping: {trips: avg_daily_trips}
    batch_source: stats_batch
feature_views:
  - name: driver_stats_json
    entities: [driver]
    ttl: 0s
    source: stats_json
    online: true
    schema:
      - {name: conv_rate, dtype: Float32}
      - {name: avg_daily_trips, dtype: Int64}
  - name: driver_stats_avro
    entities: [driver]
    ttl: 0s
    source: stats_avro
    online: true
    schema:
      - {name: conv_rate, dtype: Float32}
      - {name: avg_daily_trips, dtype: Int64}
`
}

// streamRepo writes and applies a repository with two Kafka-fed views.
func streamRepo(t testing.TB, onlineStore string) *feast.FeatureStore {
	t.Helper()
	dir := t.TempDir()
	project := strings.ReplaceAll(testenv.UniqueName("stream"), "-", "_")
	cfg := "project: " + project + "\nregistry: data/registry.db\nprovider: local\nonline_store:\n" + onlineStore +
		"offline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(streamDefs()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	return fs
}

const sqliteOnline = "  type: sqlite\n  path: data/online.db\n"

func newCluster(t testing.TB, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func produce(t testing.TB, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// jsonMsg is a JSON message for driver id; it is keyed by the driver so one
// driver's events stay in one partition.
func jsonMsg(id int64, ts time.Time, rate float64, trips int64) *kgo.Record {
	v := fmt.Sprintf(`{"driver_id": %d, "event_timestamp": %q, "conv_rate": %v, "avg_daily_trips": %d, "extra": "ignored"}`, id, ts.Format(time.RFC3339Nano), rate, trips)
	return &kgo.Record{Topic: "stats_json", Key: []byte(fmt.Sprint(id)), Value: []byte(v)}
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// running starts a runner and returns a stop function that cancels it and
// returns Run's error.
func running(t testing.TB, r *Runner) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	var result error
	stop := func() error {
		if !stopped {
			cancel()
			result = <-done
			stopped = true
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

// eventually polls cond until it holds or 15s passed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readOnline(t testing.TB, fs *feast.FeatureStore, view string, id int64) online.FeatureValue {
	t.Helper()
	ctx := context.Background()
	fv, err := fs.FeatureView(ctx, view)
	if err != nil {
		t.Fatal(err)
	}
	store, err := fs.OnlineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: id}}})
	res, err := store.Read(ctx, []online.ReadRequest{{Project: fs.Project(), View: fv, Features: []string{"conv_rate", "avg_daily_trips"}, EntityKeys: [][]byte{k}}})
	if err != nil {
		t.Fatal(err)
	}
	v := res[0][0][0]
	v.Value = res[0][0][1].Value // trips, to check the whole row
	if res[0][0][0].Found {
		v.Value = &types.Value{Val: &types.Value_DoubleVal{DoubleVal: float64(res[0][0][0].Value.GetFloatVal())*1e6 + float64(res[0][0][1].Value.GetInt64Val())}}
	}
	return v
}

// rowCode is how readOnline encodes a row: conv_rate*1e6 + trips.
func rowCode(rate float32, trips int64) float64 { return float64(rate)*1e6 + float64(trips) }

func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total, found := 0.0, false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			found = true
			total += number(m)
		}
	}
	if !found {
		return -1
	}
	return total
}

func number(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

func TestConsumeJSONAndAvro(t *testing.T) {
	fs := streamRepo(t, sqliteOnline)
	brokers := newCluster(t, "stats_json", "stats_avro")
	as := avro.MustParse(avroSchema)
	type avroRow struct {
		DriverID int64     `avro:"driver_id"`
		TS       time.Time `avro:"event_timestamp"`
		ConvRate *float32  `avro:"conv_rate"`
		Trips    int64     `avro:"trips"`
		Note     string    `avro:"note"`
	}
	rate := float32(0.75)
	av, err := avro.Marshal(as, avroRow{DriverID: 2, TS: t0, ConvRate: &rate, Trips: 9, Note: "x"})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, brokers, jsonMsg(1, t0, 0.5, 3), &kgo.Record{Topic: "stats_avro", Value: av})

	reg := prometheus.NewRegistry()
	now := t0.Add(2 * time.Second)
	r, err := New(context.Background(), fs, Options{Brokers: brokers, Registerer: reg, FlushInterval: 50 * time.Millisecond, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Sources(), ","); got != "stats_avro,stats_json" {
		t.Fatalf("sources %s", got)
	}
	stop := running(t, r)
	eventually(t, "json row online", func() bool { return readOnline(t, fs, "driver_stats_json", 1).Found })
	eventually(t, "avro row online", func() bool { return readOnline(t, fs, "driver_stats_avro", 2).Found })
	if got := readOnline(t, fs, "driver_stats_json", 1); got.Value.GetDoubleVal() != rowCode(0.5, 3) || !got.EventTS.Equal(t0) {
		t.Fatalf("json row %v", got)
	}
	if got := readOnline(t, fs, "driver_stats_avro", 2); got.Value.GetDoubleVal() != rowCode(0.75, 9) {
		t.Fatalf("avro row %v", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, reg, "feast_push_rows_total", map[string]string{"source": "stats_json", "mode": "online"}); got != 1 {
		t.Errorf("rows pushed %v", got)
	}
	if got := metricValue(t, reg, "feast_stream_consumer_lag", map[string]string{"source": "stats_json", "topic": "stats_json"}); got != 0 {
		t.Errorf("lag %v, want 0 (present and caught up)", got)
	}
	if got := metricValue(t, reg, "feast_stream_freshness_seconds", map[string]string{"source": "stats_json"}); got != 1 {
		t.Errorf("freshness observations %v", got)
	}
}

func TestCrashBeforeCommitAndRestart(t *testing.T) {
	fs := streamRepo(t, sqliteOnline)
	brokers := newCluster(t, "stats_json", "stats_avro")
	var msgs []*kgo.Record
	for i := int64(0); i < 20; i++ {
		msgs = append(msgs, jsonMsg(i, t0.Add(time.Duration(i)*time.Second), 0.5, i))
	}
	produce(t, brokers, msgs...)
	opts := func(reg prometheus.Registerer) Options {
		return Options{Brokers: brokers, Registerer: reg, Views: []string{"driver_stats_json"}, BatchSize: 100, FlushInterval: 100 * time.Millisecond}
	}

	// First run: "crash" after the online write, before the commit.
	reg1 := prometheus.NewRegistry()
	r1, err := New(context.Background(), fs, opts(reg1))
	if err != nil {
		t.Fatal(err)
	}
	r1.consumers[0].afterWrite = func() error { return errors.New("simulated crash") }
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r1.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("crashed run returned %v", err)
	}
	written1 := metricValue(t, reg1, "feast_push_rows_total", map[string]string{"mode": "online"})
	if written1 < 1 {
		t.Fatalf("first run wrote %v rows", written1)
	}

	// Restart: nothing was committed, so every record comes again; the
	// repeated rows are skipped by the online store.
	reg2 := prometheus.NewRegistry()
	r2, err := New(context.Background(), fs, opts(reg2))
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, r2)
	eventually(t, "all 20 records re-consumed", func() bool {
		return metricValue(t, reg2, "feast_push_rows_total", map[string]string{"mode": "online"}) == 20
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 20; i++ {
		if got := readOnline(t, fs, "driver_stats_json", i); got.Value.GetDoubleVal() != rowCode(0.5, i) {
			t.Fatalf("driver %d: %v", i, got)
		}
	}

	// Third run: the restart committed everything; only new records come.
	produce(t, brokers, jsonMsg(100, t0, 0.25, 1))
	reg3 := prometheus.NewRegistry()
	r3, err := New(context.Background(), fs, opts(reg3))
	if err != nil {
		t.Fatal(err)
	}
	stop = running(t, r3)
	eventually(t, "new record", func() bool { return readOnline(t, fs, "driver_stats_json", 100).Found })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, reg3, "feast_push_rows_total", map[string]string{"mode": "online"}); got != 1 {
		t.Fatalf("third run consumed %v rows, want only the new one", got)
	}
}

func TestOutOfOrderEvents(t *testing.T) {
	fs := streamRepo(t, sqliteOnline)
	brokers := newCluster(t, "stats_json", "stats_avro")
	// Newest first, then two older events for the same driver, in
	// separate batches (BatchSize 1).
	produce(t, brokers, jsonMsg(7, t0.Add(time.Hour), 0.9, 90), jsonMsg(7, t0, 0.1, 10), jsonMsg(7, t0.Add(time.Minute), 0.2, 20), jsonMsg(8, t0, 0.3, 30))
	reg := prometheus.NewRegistry()
	r, err := New(context.Background(), fs, Options{Brokers: brokers, Registerer: reg, Views: []string{"driver_stats_json"}, BatchSize: 1, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, r)
	eventually(t, "all records", func() bool {
		return metricValue(t, reg, "feast_push_rows_total", map[string]string{"mode": "online"}) == 4
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := readOnline(t, fs, "driver_stats_json", 7); got.Value.GetDoubleVal() != rowCode(0.9, 90) || !got.EventTS.Equal(t0.Add(time.Hour)) {
		t.Fatalf("out-of-order event overwrote a newer value: %v", got)
	}
}

func TestPoisonMessagesGoToDeadLetterTopic(t *testing.T) {
	fs := streamRepo(t, sqliteOnline)
	brokers := newCluster(t, "stats_json", "stats_avro", "dead_letters")
	bad := []string{
		`{not json`,
		`{"event_timestamp": "2024-05-01T12:00:00Z", "conv_rate": 1, "avg_daily_trips": 1}`,                      // no join key
		`{"driver_id": 3, "event_timestamp": "2024-05-01T12:00:00Z", "conv_rate": "high", "avg_daily_trips": 1}`, // wrong type
		`{"driver_id": 3, "conv_rate": 1, "avg_daily_trips": 1}`,                                                 // no timestamp
		`[1, 2]`,
	}
	var recs []*kgo.Record
	for _, b := range bad {
		recs = append(recs, &kgo.Record{Topic: "stats_json", Key: []byte("k"), Value: []byte(b)})
	}
	recs = append(recs, jsonMsg(4, t0, 0.5, 5))
	produce(t, brokers, recs...)

	reg := prometheus.NewRegistry()
	r, err := New(context.Background(), fs, Options{Brokers: brokers, Registerer: reg, Views: []string{"driver_stats_json"}, DeadLetterTopic: "dead_letters", FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, r)
	eventually(t, "good record online", func() bool { return readOnline(t, fs, "driver_stats_json", 4).Found })
	eventually(t, "poison counted", func() bool {
		return metricValue(t, reg, "feast_stream_poison_messages_total", map[string]string{"source": "stats_json"}) == float64(len(bad))
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, reg, "feast_stream_poison_messages_total", map[string]string{"reason": "decode"}); got != 2 {
		t.Errorf("decode poison %v", got)
	}

	// Every poison message is on the dead-letter topic with its origin.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("dead_letters"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var dead []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(dead) < len(bad) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { dead = append(dead, r) })
	}
	if len(dead) != len(bad) {
		t.Fatalf("dead letters: %d, want %d", len(dead), len(bad))
	}
	seen := map[string]bool{}
	for _, d := range dead {
		seen[string(d.Value)] = true
		h := map[string]string{}
		for _, x := range d.Headers {
			h[x.Key] = string(x.Value)
		}
		if h["feast-topic"] != "stats_json" || h["feast-offset"] == "" || h["feast-partition"] == "" || h["feast-error"] == "" || h["feast-source"] != "stats_json" {
			t.Errorf("dead letter headers %v", h)
		}
	}
	for _, b := range bad {
		if !seen[b] {
			t.Errorf("poison message %q not dead-lettered", b)
		}
	}
}

func TestNewErrors(t *testing.T) {
	fs := streamRepo(t, sqliteOnline)
	if _, err := New(context.Background(), fs, Options{Views: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown view: %v", err)
	}
	src := &model.DataSource{Name: "s", MessageFormat: "protobuf"}
	if _, err := newDecoder(src, nil); err == nil {
		t.Fatal("unsupported format accepted")
	}
}

func TestConsumeIntoRedis(t *testing.T) {
	addr := testenv.RedisAddr(t)
	fs := streamRepo(t, "  type: redis\n  connection_string: "+addr+"\n")
	t.Cleanup(func() { fs.Teardown(context.Background()) })
	brokers := newCluster(t, "stats_json", "stats_avro")
	produce(t, brokers, jsonMsg(1, t0, 0.5, 3), jsonMsg(1, t0.Add(-time.Hour), 0.1, 1))
	r, err := New(context.Background(), fs, Options{Brokers: brokers, Views: []string{"driver_stats_json"}, BatchSize: 1, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, r)
	eventually(t, "row in redis", func() bool { return readOnline(t, fs, "driver_stats_json", 1).Found })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := readOnline(t, fs, "driver_stats_json", 1); got.Value.GetDoubleVal() != rowCode(0.5, 3) {
		t.Fatalf("redis row %v", got)
	}
}

// BenchmarkConsumeRedis measures rows/s from a kfake topic through the
// consumer into Redis: b.N JSON messages over 1,000 drivers, batches of 500.
//
//	go test -run '^$' -bench BenchmarkConsumeRedis -benchtime 20000x ./stream/
func BenchmarkConsumeRedis(b *testing.B) {
	addr := testenv.RedisAddr(b)
	fs := streamRepo(b, "  type: redis\n  connection_string: "+addr+"\n")
	b.Cleanup(func() { fs.Teardown(context.Background()) })
	brokers := newCluster(b, "stats_json", "stats_avro")
	recs := make([]*kgo.Record, b.N)
	for i := range recs {
		recs[i] = jsonMsg(int64(i%1000), t0.Add(time.Duration(i)*time.Millisecond), 0.5, int64(i))
	}
	produce(b, brokers, recs...)
	reg := prometheus.NewRegistry()
	r, err := New(context.Background(), fs, Options{Brokers: brokers, Registerer: reg, Views: []string{"driver_stats_json"}, BatchSize: 500, FlushInterval: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	stop := running(b, r)
	for metricValue(b, reg, "feast_push_rows_total", map[string]string{"mode": "online"}) < float64(b.N) {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
}
