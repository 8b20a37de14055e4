package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/feastgo/feast/stream"
)

func newStreamCmd(g *globals) *cobra.Command {
	var (
		opts        stream.Options
		brokers     []string
		metricsAddr string
	)
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Consume Kafka sources into the online store until stopped",
		Long: `Runs one consumer per Kafka source feeding a stream feature view (or the -v views),
writing each micro-batch to the online store and committing Kafka offsets only
after the write succeeded (at-least-once; repeated rows are harmless because the
online store keeps only strictly newer values). Poison messages are counted, logged
and, with --dead-letter-topic, produced there. SIGINT or SIGTERM stops the consumers
after writing and committing what was already read; so does a consumer that cannot
run (the process exits 1, for a supervisor to restart it).

--metrics-addr serves Prometheus metrics on /metrics and health checks for probes:
/health (liveness: 503 only when a consumer stopped with an error) and /ready
(readiness: 503 while a source's online write or offset commit is being retried, or
none of its brokers answers a ping; the JSON names the source, operation and error).

  feast stream
  feast stream -v driver_stats_stream --group my-consumers --dead-letter-topic feast-dlq`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			fs, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer fs.Close()
			opts.Brokers = brokers
			var reg *prometheus.Registry
			if metricsAddr != "" {
				reg = prometheus.NewRegistry()
				opts.Registerer = reg
			}
			r, err := stream.New(ctx, fs, opts)
			if err != nil {
				return err
			}
			if metricsAddr != "" {
				shutdown, err := serveStreamHTTP(metricsAddr, reg, r.Handler())
				if err != nil {
					return err
				}
				defer shutdown()
			}
			fmt.Fprintf(g.stderr, "Consuming %v (group %s); stop with Ctrl-C\n", r.Sources(), streamGroupName(opts.Group, fs.Project()))
			return r.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&opts.Views, "views", "v", nil, "stream feature views to consume (repeatable; default: all views fed by a kafka source)")
	f.StringVar(&opts.Group, "group", "", "Kafka consumer group (default feast-<project>)")
	f.IntVar(&opts.BatchSize, "batch-size", 500, "most records per online write")
	f.DurationVar(&opts.FlushInterval, "flush-interval", time.Second, "longest a record waits before its batch is written")
	f.StringVar(&opts.DeadLetterTopic, "dead-letter-topic", "", "topic receiving poison messages (default: none, only counted and logged)")
	f.StringSliceVar(&brokers, "brokers", nil, "override the sources' kafka_bootstrap_servers")
	f.StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics (/metrics) and health checks (/health, /ready) on this address (for example :8000)")
	return cmd
}

func streamGroupName(group, project string) string {
	if group != "" {
		return group
	}
	return "feast-" + project
}

// serveStreamHTTP serves reg on /metrics and health on /health and /ready
// at addr until the returned function is called.
func serveStreamHTTP(addr string, reg *prometheus.Registry, health http.Handler) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/health", health)
	mux.Handle("/ready", health)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on shutdown
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
