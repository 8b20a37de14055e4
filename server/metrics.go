package server

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/registry"
)

// freshnessCollector exports, for every online feature view of the cached
// snapshot, how long ago its last materialization interval ended and its
// ttl, so alerts can compare the two. It reads only the in-memory snapshot.
type freshnessCollector struct {
	snapshot  func() *registry.Snapshot
	now       func() time.Time
	freshness *prometheus.Desc
	ttl       *prometheus.Desc
}

func newFreshnessCollector(snapshot func() *registry.Snapshot, now func() time.Time) *freshnessCollector {
	return &freshnessCollector{
		snapshot: snapshot, now: now,
		freshness: prometheus.NewDesc("feast_feature_freshness_seconds",
			"Seconds since the end of the feature view's last materialization interval.", []string{"feature_view"}, nil),
		ttl: prometheus.NewDesc("feast_feature_view_ttl_seconds",
			"The feature view's ttl (0 = no limit).", []string{"feature_view"}, nil),
	}
}

func (c *freshnessCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.freshness
	ch <- c.ttl
}

func (c *freshnessCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.snapshot()
	if snap == nil {
		return
	}
	now := c.now()
	for _, name := range snap.FeatureViewNames() {
		fv := snap.FeatureViews[name]
		if !fv.Online || fv.Disabled {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.ttl, prometheus.GaugeValue, fv.TTL.Seconds(), name)
		if end := fv.LastMaterializedEnd(); !end.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.freshness, prometheus.GaugeValue, now.Sub(end).Seconds(), name)
		}
	}
}

// metrics are the server's Prometheus collectors, registered on the
// registerer given in Options (never the global default).
type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	storeLatency  prometheus.Histogram
	storeErrors   prometheus.Counter
	onlineErrors  *prometheus.CounterVec
	entities      prometheus.Histogram
	features      prometheus.Histogram
	refreshErrors prometheus.Counter
	panics        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, snapshotAge func() float64, refreshFailing func() float64, freshness prometheus.Collector) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feast_http_requests_total",
			Help: "Requests served, by endpoint and status code.",
		}, []string{"endpoint", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "feast_http_request_duration_seconds",
			Help:    "Request latency, by endpoint and status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"endpoint", "status"}),
		storeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "feast_online_store_read_duration_seconds",
			Help:    "Latency of one online store read (all views of a request in one round trip).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5},
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feast_online_store_read_errors_total",
			Help: "Online store reads that failed.",
		}),
		onlineErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feast_online_store_errors_total",
			Help: "Online store calls that failed, by operation (open, read, write, ping) and reason (unavailable: unreachable or not answering in time; error: anything else).",
		}, []string{"operation", "reason"}),
		entities: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "feast_request_entities",
			Help:    "Entity rows per online features request.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000},
		}),
		features: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "feast_request_features",
			Help:    "Features per online features request.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500},
		}),
		refreshErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feast_registry_refresh_errors_total",
			Help: "Background registry refreshes that failed (the last good snapshot keeps serving).",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feast_http_panics_total",
			Help: "Requests that panicked and were answered with an internal error.",
		}),
	}
	cs := []prometheus.Collector{
		m.requests, m.latency, m.storeLatency, m.storeErrors, m.onlineErrors, m.entities, m.features, m.refreshErrors, m.panics,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "feast_registry_snapshot_age_seconds",
			Help: "Age of the registry snapshot being served (-1 before the first load).",
		}, snapshotAge),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "feast_registry_refresh_failing",
			Help: "1 while the latest registry refresh failed, else 0.",
		}, refreshFailing),
		freshness,
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// endpointMetrics caches the labelled observers of one endpoint per status
// code, so the hot path does no label hashing.
type endpointMetrics struct {
	m      *metrics
	name   string
	byCode [600]atomic.Pointer[codeMetrics]
}

type codeMetrics struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func (m *metrics) endpoint(name string) *endpointMetrics {
	return &endpointMetrics{m: m, name: name}
}

func (e *endpointMetrics) observe(code int, d time.Duration) {
	if code < 0 || code >= len(e.byCode) {
		code = 0
	}
	cm := e.byCode[code].Load()
	if cm == nil {
		c := strconv.Itoa(code)
		cm = &codeMetrics{requests: e.m.requests.WithLabelValues(e.name, c), latency: e.m.latency.WithLabelValues(e.name, c)}
		e.byCode[code].Store(cm)
	}
	cm.requests.Inc()
	cm.latency.Observe(d.Seconds())
}

// timedReader measures each online store read.
type timedReader struct {
	r online.Reader
	m *metrics
}

func (t timedReader) Read(ctx context.Context, reqs []online.ReadRequest) ([]online.ReadResult, error) {
	start := time.Now()
	res, err := t.r.Read(ctx, reqs)
	t.m.storeLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		t.m.storeErrors.Inc()
		t.m.onlineStoreError("read", err)
	}
	return res, err
}

// onlineStoreError counts a failed online store call of operation op in
// feast_online_store_errors_total. A call the client cancelled is not the
// store's failure and is not counted.
func (m *metrics) onlineStoreError(op string, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, feast.ErrNoOnlineStore) {
		return
	}
	reason := "error"
	if errors.Is(err, online.ErrUnavailable) {
		reason = "unavailable"
	}
	m.onlineErrors.WithLabelValues(op, reason).Inc()
}
