// Package stream consumes Kafka sources into the online store.
//
// A Runner starts one consumer per Kafka source that feeds a stream feature
// view. Each consumer decodes messages (JSON objects, or Avro records with
// the source's schema), validates them one by one against the source's push
// schema, batches them by size and time, and writes each batch to the online
// store through the same path as an online push (push.Pusher.Write).
//
// Delivery is at least once: auto-commit is disabled and a batch's offsets
// are committed only after its online write succeeded, so a crash between
// the write and the commit makes the records come again. Writing them twice
// is harmless: the online store keeps, per entity and view, only rows with
// a strictly newer event timestamp, which also keeps out-of-order events
// from overwriting newer values.
//
// A poison message (undecodable, a missing join key or timestamp, a value of
// the wrong type) never stops a consumer: it is counted, logged with its
// topic, partition and offset, produced to the dead-letter topic when one is
// configured, and its offset is committed with the batch.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/push"
)

// Options configures a Runner. The zero value of every field is usable.
type Options struct {
	// Views limits the consumers to these stream feature views; empty means
	// every feature view whose stream source is a Kafka source.
	Views []string
	// Group is the Kafka consumer group; default "feast-<project>".
	Group string
	// BatchSize is the most records written per online write; default 500.
	BatchSize int
	// FlushInterval is the longest a decoded record waits before its batch
	// is written; default 1s.
	FlushInterval time.Duration
	// DeadLetterTopic receives poison messages (with headers naming the
	// error and origin); empty means they are only counted and logged.
	DeadLetterTopic string
	// Brokers overrides every source's kafka_bootstrap_servers; empty means
	// use the sources' own.
	Brokers []string
	// ClientOptions are extra franz-go options (TLS, SASL, ...) applied to
	// every consumer client.
	ClientOptions []kgo.Opt
	// Registerer receives the stream and push metrics; nil means none.
	Registerer prometheus.Registerer
	// Logger receives structured logs; default the store's logger.
	Logger *slog.Logger
	// Now returns the current time, for freshness; default time.Now.
	Now func() time.Time
	// RetryBackoff is the wait between failed online writes (the batch is
	// retried until it succeeds or the runner stops); default 500ms.
	RetryBackoff time.Duration
	// ShutdownTimeout bounds the final flush and commit on shutdown;
	// default 10s.
	ShutdownTimeout time.Duration
	// BrokerCheckInterval is how often each consumer pings its brokers,
	// the first time at start (the Kafka client retries a refused broker
	// silently): a failing ping is logged once per outage, sets
	// feast_stream_brokers_up to 0 and makes the source "unreachable" in
	// Health; default 30s.
	BrokerCheckInterval time.Duration
}

func (o *Options) setDefaults(fs *feast.FeatureStore) {
	if o.Group == "" {
		o.Group = "feast-" + fs.Project()
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = fs.Logger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.BrokerCheckInterval <= 0 {
		o.BrokerCheckInterval = 30 * time.Second
	}
}

// Runner runs the consumers of a feature store's Kafka sources.
type Runner struct {
	opts      Options
	pusher    *push.Pusher
	metrics   *metrics
	consumers []*consumer
}

// New prepares a consumer for every Kafka source feeding the selected
// stream views. It connects nothing; Run does.
func New(ctx context.Context, fs *feast.FeatureStore, opts Options) (*Runner, error) {
	opts.setDefaults(fs)
	snap, err := fs.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	bySource := map[string][]string{}
	for _, name := range snap.FeatureViewNames() {
		fv := snap.FeatureViews[name]
		if fv.StreamSource == nil || fv.StreamSource.Kind != model.SourceKafka {
			continue
		}
		if len(opts.Views) > 0 && !slices.Contains(opts.Views, name) {
			continue
		}
		bySource[fv.StreamSource.Name] = append(bySource[fv.StreamSource.Name], name)
	}
	for _, v := range opts.Views {
		fv, ok := snap.FeatureViews[v]
		if !ok {
			return nil, fmt.Errorf("stream: feature view %q not found in project %q", v, snap.Project)
		}
		if fv.StreamSource == nil || fv.StreamSource.Kind != model.SourceKafka {
			return nil, fmt.Errorf("stream: feature view %q is not fed by a kafka source", v)
		}
	}
	if len(bySource) == 0 {
		return nil, fmt.Errorf("stream: no feature view of project %q is fed by a kafka source", snap.Project)
	}
	r := &Runner{opts: opts}
	if opts.Registerer != nil {
		if r.metrics, err = newMetrics(opts.Registerer); err != nil {
			return nil, err
		}
	}
	if r.pusher, err = push.New(fs, push.Options{Registerer: opts.Registerer}); err != nil {
		return nil, err
	}
	sources := make([]string, 0, len(bySource))
	for s := range bySource {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, name := range sources {
		views := bySource[name]
		src := snap.FeatureViews[views[0]].StreamSource
		schema, err := r.pusher.StreamSchema(ctx, name, views)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		c := &consumer{opts: &r.opts, source: src, schema: schema, pusher: r.pusher, metrics: r.metrics,
			log: opts.Logger.With("source", name, "topic", src.Topic)}
		if c.decode, err = newDecoder(src, schema); err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		r.consumers = append(r.consumers, c)
	}
	return r, nil
}

// Sources names the Kafka sources the runner consumes.
func (r *Runner) Sources() []string {
	out := make([]string, len(r.consumers))
	for i, c := range r.consumers {
		out[i] = c.source.Name
	}
	return out
}

// Run consumes until ctx is done, then writes and commits what was already
// decoded, leaves the group and returns. It returns early with an error
// when a consumer cannot run: the others then stop as on ctx's end
// (writing and committing what they read), so that the process exits and
// a supervisor restarts it rather than one source going unconsumed.
func (r *Runner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(r.consumers))
	var wg sync.WaitGroup
	for i, c := range r.consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.run(ctx)
			c.health.stop(err)
			if err != nil && ctx.Err() == nil {
				c.log.Error("stream consumer stopped; stopping the others", "err", err)
				cancel()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// consumer consumes one Kafka source.
type consumer struct {
	opts    *Options
	source  *model.DataSource
	schema  *push.Schema
	pusher  *push.Pusher
	metrics *metrics
	log     *slog.Logger
	decode  func([]byte) (push.Records, error)

	// afterWrite, when set (tests), runs after a batch was written and
	// before its offsets are committed; an error stops the consumer without
	// committing, as a crash would.
	afterWrite func() error

	pending     *push.Batch
	pendingRecs []*kgo.Record
	firstAt     time.Time

	health healthState
}

func (c *consumer) brokers() []string {
	if len(c.opts.Brokers) > 0 {
		return c.opts.Brokers
	}
	var out []string
	for _, b := range strings.Split(c.source.KafkaBootstrapServers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func (c *consumer) run(ctx context.Context) error {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(c.brokers()...),
		kgo.ConsumerGroup(c.opts.Group),
		kgo.ConsumeTopics(c.source.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(min(c.opts.FlushInterval, 500*time.Millisecond)),
	}, c.opts.ClientOptions...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("stream %s: connect: %w", c.source.Name, err)
	}
	// Closing leaves the group, which waits for rebalances to be allowed;
	// everything uncommitted at this point is consumed again by design.
	defer func() {
		c.health.closing()
		cl.CloseAllowingRebalance()
	}()
	c.health.start(cl)
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		c.watchBrokers(wctx, cl)
	}()
	// Before the client closes (deferred calls run last first), and
	// joined: no ping is in flight on a closing client.
	defer func() {
		stopWatch()
		<-watched
	}()
	c.log.Info("stream consumer started", "group", c.opts.Group)
	for {
		if ctx.Err() != nil {
			return c.shutdown(ctx, cl)
		}
		wait := c.opts.FlushInterval
		if c.pending != nil {
			wait = max(time.Millisecond, c.opts.FlushInterval-time.Since(c.firstAt))
		}
		pollCtx, cancel := context.WithTimeout(ctx, wait)
		fetches := cl.PollRecords(pollCtx, c.opts.BatchSize-c.pendingLen())
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				c.log.Warn("fetch error", "partition", p, "err", err)
			}
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				c.metrics.lag(c.source.Name, p.Topic, p.Partition, p.HighWatermark-p.Records[n-1].Offset-1)
			}
		})
		var poisonErr error
		fetches.EachRecord(func(rec *kgo.Record) {
			if poisonErr == nil {
				poisonErr = c.add(ctx, cl, rec)
			}
		})
		if poisonErr != nil {
			// The dead-letter topic is unreachable and ctx is done: stop
			// without committing the unhandled records.
			return c.shutdown(ctx, cl)
		}
		if c.pendingLen() > 0 && (c.pendingLen() >= c.opts.BatchSize || time.Since(c.firstAt) >= c.opts.FlushInterval) {
			if err := c.flush(ctx, cl); err != nil {
				if errors.Is(err, errCrash) {
					return err
				}
				return c.shutdown(ctx, cl)
			}
		}
		if c.pendingLen() == 0 {
			cl.AllowRebalance()
		}
	}
}

var errCrash = errors.New("stream consumer stopped before commit")

// watchBrokers pings the consumer's brokers at start (a wrong address
// shows at once) and then every BrokerCheckInterval until ctx ends, and
// records, logs and exports the outcome: the Kafka client retries a
// refused broker without a word, so nothing else would tell an operator
// that a source has stopped flowing.
func (c *consumer) watchBrokers(ctx context.Context, cl *kgo.Client) {
	t := time.NewTicker(c.opts.BrokerCheckInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := cl.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		c.metrics.brokersUp(c.source.Name, err == nil)
		switch c.health.brokers(err, c.opts.Now()) {
		case brokersLost:
			c.log.Warn("stream brokers unreachable; the Kafka client keeps retrying", "brokers", strings.Join(c.brokers(), ","), "err", err)
		case brokersBack:
			c.log.Info("stream brokers reachable again")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *consumer) pendingLen() int { return len(c.pendingRecs) }

// add decodes one record into the pending batch, or handles it as poison.
func (c *consumer) add(ctx context.Context, cl *kgo.Client, rec *kgo.Record) error {
	b, reason, err := c.decodeRecord(rec.Value)
	if err != nil {
		if err := c.poison(ctx, cl, rec, reason, err); err != nil {
			return err
		}
	} else if b.Len() > 0 {
		if c.pending == nil {
			c.pending = b
		} else if err := c.pending.Append(b); err != nil {
			return err
		}
	}
	if len(c.pendingRecs) == 0 {
		c.firstAt = time.Now()
	}
	c.pendingRecs = append(c.pendingRecs, rec)
	return nil
}

func (c *consumer) decodeRecord(value []byte) (*push.Batch, string, error) {
	recs, err := c.decode(value)
	if err != nil {
		return nil, "decode", err
	}
	b, err := c.schema.Decode(recs)
	if err != nil {
		return nil, "invalid", err
	}
	if b.Len() != 1 {
		return nil, "invalid", errors.New("message holds no row")
	}
	return b, "", nil
}

// poison counts, logs and dead-letters one record. It fails only when the
// dead-letter topic cannot be written before ctx is done.
func (c *consumer) poison(ctx context.Context, cl *kgo.Client, rec *kgo.Record, reason string, cause error) error {
	c.metrics.poisoned(c.source.Name, reason)
	c.log.Warn("poison message", "partition", rec.Partition, "offset", rec.Offset, "reason", reason, "err", cause)
	if c.opts.DeadLetterTopic == "" {
		return nil
	}
	dl := &kgo.Record{
		Topic: c.opts.DeadLetterTopic, Key: rec.Key, Value: rec.Value,
		Headers: append(append([]kgo.RecordHeader(nil), rec.Headers...),
			kgo.RecordHeader{Key: "feast-error", Value: []byte(cause.Error())},
			kgo.RecordHeader{Key: "feast-source", Value: []byte(c.source.Name)},
			kgo.RecordHeader{Key: "feast-topic", Value: []byte(rec.Topic)},
			kgo.RecordHeader{Key: "feast-partition", Value: []byte(strconv.Itoa(int(rec.Partition)))},
			kgo.RecordHeader{Key: "feast-offset", Value: []byte(strconv.FormatInt(rec.Offset, 10))},
		),
	}
	return c.retry(ctx, "produce dead letter", func(ctx context.Context) error {
		return cl.ProduceSync(ctx, dl).FirstErr()
	})
}

// retry runs f until it succeeds or ctx is done.
func (c *consumer) retry(ctx context.Context, what string, f func(context.Context) error) error {
	for {
		err := f(ctx)
		if err == nil {
			c.health.succeeded(what)
			return nil
		}
		c.health.failed(what, err, c.opts.Now())
		c.metrics.retried(c.source.Name, what)
		if ctx.Err() != nil {
			// Stopping: the caller reports what was left undone.
			return fmt.Errorf("%s: %w", what, err)
		}
		c.log.Error("stream write failed; retrying", "op", what, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, err)
		case <-time.After(c.opts.RetryBackoff):
		}
	}
}

// flush writes the pending batch online, then commits its records. Once
// the batch is written it is dropped, so that a flush retried after a
// failed commit (at shutdown) only commits: the rows are not written, nor
// counted, twice.
func (c *consumer) flush(ctx context.Context, cl *kgo.Client) error {
	wrote := false
	if c.pending != nil {
		b := c.pending
		err := c.retry(ctx, "write online", func(ctx context.Context) error {
			_, err := c.pusher.Write(ctx, b, push.Online)
			return err
		})
		if err != nil {
			return err
		}
		c.pending, wrote = nil, true
		now := c.opts.Now()
		c.health.wrote(now)
		for _, ts := range b.EventTimes() {
			c.metrics.fresh(c.source.Name, now.Sub(ts))
		}
	}
	if wrote && c.afterWrite != nil {
		if err := c.afterWrite(); err != nil {
			return fmt.Errorf("%w: %v", errCrash, err)
		}
	}
	if err := c.retry(ctx, "commit offsets", func(ctx context.Context) error {
		return cl.CommitRecords(ctx, c.pendingRecs...)
	}); err != nil {
		return err
	}
	c.pending, c.pendingRecs = nil, nil
	return nil
}

// shutdown writes and commits what is pending with a fresh deadline.
func (c *consumer) shutdown(ctx context.Context, cl *kgo.Client) error {
	c.health.closing()
	if c.pendingLen() > 0 {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.ShutdownTimeout)
		defer cancel()
		if err := c.flush(sctx, cl); err != nil {
			c.log.Error("stream shutdown: pending records not committed; they will be consumed again", "records", c.pendingLen(), "err", err)
			return fmt.Errorf("stream %s: shutdown: %w", c.source.Name, err)
		}
	}
	c.log.Info("stream consumer stopped")
	return nil
}

// newDecoder returns the message decoder of a Kafka source. Fields the
// schema does not know are ignored.
func newDecoder(src *model.DataSource, schema *push.Schema) (func([]byte) (push.Records, error), error) {
	known := func(name string) bool {
		_, _, _, ok := schema.Column(name)
		return ok
	}
	switch strings.ToLower(src.MessageFormat) {
	case "", "json":
		return func(b []byte) (push.Records, error) {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(b, &obj); err != nil {
				return push.Records{}, fmt.Errorf("decode json message: %w", err)
			}
			if obj == nil {
				return push.Records{}, errors.New("decode json message: not an object")
			}
			cols := make(map[string]json.RawMessage, len(obj))
			for k, v := range obj {
				if known(k) {
					cols[k] = append(append(append(make(json.RawMessage, 0, len(v)+2), '['), v...), ']')
				}
			}
			return push.Records{JSON: cols}, nil
		}, nil
	case "avro":
		as, err := avro.Parse(src.SchemaJSON)
		if err != nil {
			return nil, fmt.Errorf("parse avro schema_json: %w", err)
		}
		return func(b []byte) (push.Records, error) {
			var obj map[string]any
			if err := avro.Unmarshal(as, b, &obj); err != nil {
				return push.Records{}, fmt.Errorf("decode avro message: %w", err)
			}
			cols := make(map[string][]any, len(obj))
			for k, v := range obj {
				if known(k) {
					cols[k] = []any{unwrapUnion(v)}
				}
			}
			return push.Records{Columns: cols}, nil
		}, nil
	}
	return nil, fmt.Errorf("message_format %q is not supported (use json or avro)", src.MessageFormat)
}

// unwrapUnion turns an Avro union decoded as {"type": value} into value.
func unwrapUnion(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for _, x := range m {
			return x
		}
	}
	return v
}

// metrics are the stream consumer metrics. A nil *metrics records nothing.
type metrics struct {
	poison    *prometheus.CounterVec
	lagGauge  *prometheus.GaugeVec
	freshness *prometheus.HistogramVec
	retries   *prometheus.CounterVec
	up        *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		poison: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feast_stream_poison_messages_total",
			Help: "Stream messages skipped as poison (undecodable or invalid), per source and reason.",
		}, []string{"source", "reason"}),
		lagGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "feast_stream_consumer_lag",
			Help: "Records between the last consumed offset and the high watermark, per source, topic and partition.",
		}, []string{"source", "topic", "partition"}),
		freshness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "feast_stream_freshness_seconds",
			Help:    "Time from a row's event timestamp to its online write, per source.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}, []string{"source"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feast_stream_retries_total",
			Help: "Failed attempts of a stream consumer's online write, offset commit or dead-letter produce, each retried; per source and operation.",
		}, []string{"source", "op"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "feast_stream_brokers_up",
			Help: "1 when a broker of the source answered the consumer's last ping (at start, then every 30s by default), 0 when none did.",
		}, []string{"source"}),
	}
	for _, c := range []prometheus.Collector{m.poison, m.lagGauge, m.freshness, m.retries, m.up} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register stream metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) poisoned(source, reason string) {
	if m != nil {
		m.poison.WithLabelValues(source, reason).Inc()
	}
}

func (m *metrics) retried(source, op string) {
	if m != nil {
		m.retries.WithLabelValues(source, op).Inc()
	}
}

func (m *metrics) brokersUp(source string, up bool) {
	if m != nil {
		v := 0.0
		if up {
			v = 1
		}
		m.up.WithLabelValues(source).Set(v)
	}
}

func (m *metrics) lag(source, topic string, partition int32, lag int64) {
	if m != nil {
		m.lagGauge.WithLabelValues(source, topic, strconv.Itoa(int(partition))).Set(float64(max(lag, 0)))
	}
}

func (m *metrics) fresh(source string, d time.Duration) {
	if m != nil {
		m.freshness.WithLabelValues(source).Observe(d.Seconds())
	}
}
