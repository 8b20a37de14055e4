package push

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// pushMetrics are the push counters. A nil *pushMetrics records nothing.
type pushMetrics struct {
	rows         *prometheus.CounterVec
	rejectedRows *prometheus.CounterVec
	freshness    *prometheus.HistogramVec
}

func newPushMetrics(reg prometheus.Registerer) (*pushMetrics, error) {
	rows, err := registerOnce(reg, "feast_push_rows_total", prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feast_push_rows_total",
		Help: "Rows written by push, write-to-online-store and stream ingestion, per source and mode (online, offline).",
	}, []string{"source", "mode"}))
	if err != nil {
		return nil, err
	}
	rejected, err := registerOnce(reg, "feast_push_rejected_rows_total", prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "feast_push_rejected_rows_total",
		Help: "Rows of pushes rejected by validation, per source.",
	}, []string{"source"}))
	if err != nil {
		return nil, err
	}
	freshness, err := registerOnce(reg, "feast_push_freshness_seconds", prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "feast_push_freshness_seconds",
		Help:    "Time from a pushed row's event timestamp to its online write, per source (push, write-to-online-store and stream ingestion).",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
	}, []string{"source"}))
	if err != nil {
		return nil, err
	}
	return &pushMetrics{rows: rows, rejectedRows: rejected, freshness: freshness}, nil
}

// fresh observes the age of each row written online.
func (m *pushMetrics) fresh(source string, now time.Time, ts []time.Time) {
	if m == nil || len(ts) == 0 {
		return
	}
	o := m.freshness.WithLabelValues(source)
	for _, t := range ts {
		if !t.IsZero() {
			o.Observe(max(now.Sub(t), 0).Seconds())
		}
	}
}

// registerOnce registers c, or returns the collector of the same kind
// already registered under its name (several Pushers share a registry).
func registerOnce[C prometheus.Collector](reg prometheus.Registerer, name string, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, fmt.Errorf("register %s: %w", name, err)
	}
	return c, nil
}

func (m *pushMetrics) pushed(source string, mode Mode, n int) {
	if m != nil {
		m.rows.WithLabelValues(source, mode.String()).Add(float64(n))
	}
}

func (m *pushMetrics) rejected(source string, n int) {
	if m != nil {
		m.rejectedRows.WithLabelValues(source).Add(float64(n))
	}
}
