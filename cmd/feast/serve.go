package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/lambda"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/server"
	"github.com/feastgo/feast/ui"
	"github.com/feastgo/feast/values"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		host, typ, key, cert     string
		port, grpcPort, workers  int
		registryTTL, maxEntities int
		noAccessLog, metrics     bool
		auditLog                 bool
		readOnly, otel, lambdaFn bool
		withUI                   bool
		gcPercent                int
		timeout                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the feature server (HTTP, optionally gRPC)",
		Long: `Serves online features over HTTP with the endpoints and JSON shapes of Feast's
feature server (POST /get-online-features, /push, /write-to-online-store, /materialize,
/materialize-incremental, GET /health) plus GET /ready (readiness: the registry is
loaded and the online store answers) and Prometheus metrics on GET /metrics. With
--grpc-port the same process also serves the gRPC feast.serving.ServingService with
gRPC health checking and reflection.

The registry is refreshed in the background every --registry_ttl_sec seconds (default:
the registry's cache_ttl_seconds); a failed refresh keeps serving the last snapshot.
An online store that cannot be reached is logged at start and answered with 503
(Retry-After) until it is back; the server recovers without a restart. A registry
that cannot be opened (a SQL registry's database that refuses connections, or does
not answer within FEAST_REGISTRY_TIMEOUT, default 30s) ends the command with an
error naming it and exit status 1, so that a supervisor restarts it.
SIGINT/SIGTERM stop accepting requests and wait for those in flight.

  feast serve --host 0.0.0.0 --port 6566 --grpc-port 6567 --read-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if typ != "http" {
				return fmt.Errorf("--type %q: only http is supported (use --grpc-port for gRPC)", typ)
			}
			if (key == "") != (cert == "") {
				return errors.New("--key and --cert must be given together")
			}
			ctx := cmd.Context()
			gc := tuneGC(gcPercent)
			fs, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer fs.Close()
			fs.Logger().Info("garbage collector", "settings", gc)
			opts := server.Options{
				ReadOnly: readOnly, MaxEntities: maxEntities, Timeout: timeout,
				RegistryTTL: time.Duration(registryTTL) * time.Second, NoAccessLog: noAccessLog,
				AuditLog: auditLog,
			}
			if withUI {
				h, err := ui.New(fs, ui.Options{RootPath: "/ui", SignIn: signInMode(fs.Config().Auth.Type)})
				if err != nil {
					return err
				}
				opts.Mounts = map[string]http.Handler{"/ui/": h}
			}
			if otel || os.Getenv("ENABLE_OTEL_TRACING") == "true" {
				tp, err := newTracerProvider(ctx)
				if err != nil {
					return err
				}
				defer func() {
					sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					tp.Shutdown(sctx)
				}()
				opts.TracerProvider = tp
			}
			srv, err := server.New(fs, opts)
			if err != nil {
				return err
			}
			defer srv.Close()
			if lambdaFn {
				// AWS Lambda: the runtime delivers requests; refresh the
				// registry in the background and adapt the same handler.
				go srv.Run(ctx)
				lambda.Start(srv.Handler(), lambda.Options{StripPrefix: os.Getenv("FEAST_LAMBDA_STRIP_PREFIX")})
				return nil
			}
			lc := server.ListenConfig{
				HTTPAddr: net.JoinHostPort(host, strconv.Itoa(port)),
				CertFile: cert, KeyFile: key,
				Ready: func(h, gr net.Addr) {
					scheme := "http"
					if cert != "" {
						scheme = "https"
					}
					fmt.Fprintf(g.stderr, "Feature server listening on %s://%s\n", scheme, h)
					if withUI {
						fmt.Fprintf(g.stderr, "Feast UI at %s://%s/ui/\n", scheme, h)
					}
					if gr != nil {
						fmt.Fprintf(g.stderr, "gRPC ServingService listening on %s\n", gr)
					}
				},
			}
			if grpcPort > 0 {
				lc.GRPCAddr = net.JoinHostPort(host, strconv.Itoa(grpcPort))
			}
			return srv.Serve(ctx, lc)
		},
	}
	f := cmd.Flags()
	// -h is --host, as in Feast; help keeps only its long form.
	f.Bool("help", false, "help for serve")
	f.StringVarP(&host, "host", "h", "127.0.0.1", "address to listen on")
	f.IntVarP(&port, "port", "p", 6566, "HTTP port")
	f.StringVarP(&typ, "type", "t", "http", "server type (only http; add --grpc-port for gRPC)")
	f.IntVar(&grpcPort, "grpc-port", 0, "also serve gRPC ServingService on this port (0 = off)")
	f.IntVarP(&registryTTL, "registry_ttl_sec", "r", 0, "registry refresh interval in seconds (0 = registry cache_ttl_seconds)")
	f.StringVarP(&key, "key", "k", "", "TLS private key file (with --cert)")
	f.StringVar(&cert, "cert", "", "TLS certificate file (with --key)")
	f.BoolVar(&noAccessLog, "no-access-log", false, "disable the access log")
	f.BoolVar(&auditLog, "audit-log", false, "log every write, materialization and denied request with the user (logger feast.audit; also feature_server.audit_log)")
	f.BoolVarP(&metrics, "metrics", "m", false, "accepted for compatibility: metrics are always served on /metrics")
	f.IntVarP(&workers, "workers", "w", 1, "accepted for compatibility: one process serves on all cores")
	f.BoolVar(&readOnly, "read-only", false, "reject every write endpoint with 403 (also feature_server.read_only)")
	f.IntVar(&maxEntities, "max-entities", server.DefaultMaxEntities, "maximum entity rows per request (negative = no limit)")
	f.DurationVar(&timeout, "timeout", server.DefaultTimeout, "per-request timeout (negative = none)")
	f.BoolVar(&lambdaFn, "lambda", false, "run as an AWS Lambda function (API Gateway, function URL or ALB events) instead of listening")
	f.IntVar(&gcPercent, "gc-percent", DefaultServeGCPercent, "garbage collector target (GOGC) of the server; the GOGC environment variable wins; under a cgroup memory limit a soft GOMEMLIMIT of 80% of it bounds the heap unless GOMEMLIMIT is set")
	f.BoolVar(&withUI, "ui", false, "also serve the web catalog (feast ui) at /ui/, behind the server's authentication and permissions")
	f.BoolVar(&otel, "otel", false, "trace requests with OpenTelemetry, exported over OTLP/HTTP (also ENABLE_OTEL_TRACING=true; endpoint from OTEL_EXPORTER_OTLP_ENDPOINT)")
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "registry-ttl-sec" {
			name = "registry_ttl_sec"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// newTracerProvider exports spans over OTLP/HTTP, configured by the
// standard OTEL_EXPORTER_OTLP_* environment variables.
func newTracerProvider(ctx context.Context) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("create OTLP exporter: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName("feast-feature-server"), semconv.ServiceVersion(feast.Version))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

func newGetOnlineFeaturesCmd(g *globals) *cobra.Command {
	var entities, features []string
	var service string
	var full bool
	cmd := &cobra.Command{
		Use:   "get-online-features",
		Short: "Read online features for some entities and print them as JSON",
		Long: `Reads the latest feature values from the online store and prints them as a JSON
object mapping each column (join keys first) to its values, like Feast's to_dict().
Repeat -e for more entity rows; values are typed by the feature views' join keys.
Flags follow Feast's CLI: -e is --entities and -f is --features; to name the
feature_store.yaml, put the global -f before the command name (or use
--feature-store-yaml anywhere).

  feast get-online-features -e driver_id=1001 -e driver_id=1002 \
      -f driver_hourly_stats:conv_rate -f driver_hourly_stats:acc_rate
  feast -f repo/feature_store.yaml get-online-features -e driver_id=1001 -f driver_hourly_stats:conv_rate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			fs, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer fs.Close()
			snap, err := fs.Snapshot(ctx)
			if err != nil {
				return err
			}
			plan, err := fs.ResolveOnline(snap, features, service, full)
			if err != nil {
				return err
			}
			req := feast.OnlineRequest{Entities: map[string][]*types.Value{}}
			for _, e := range entities {
				k, raw, ok := strings.Cut(e, "=")
				if !ok || k == "" {
					return fmt.Errorf("--entities %q: use name=value", e)
				}
				vt, _, ok := plan.ColumnType(k)
				if !ok {
					return fmt.Errorf("--entities %q: unknown column %q (join keys: %s)", e, k, strings.Join(plan.JoinKeys(), ", "))
				}
				v, err := cliValue(raw, vt)
				if err != nil {
					return fmt.Errorf("--entities %q: %w", e, err)
				}
				req.Entities[k] = append(req.Entities[k], v)
			}
			resp, err := fs.ReadOnline(ctx, plan, req)
			if err != nil {
				return err
			}
			_, err = g.stdout.Write(appendToDict(nil, resp))
			return err
		},
	}
	f := cmd.Flags()
	// Shadow the global --feature-store-yaml/-f: here -f is --features, as
	// in Feast. The global -f still works before the command name.
	f.StringVar(&g.yamlPath, "feature-store-yaml", os.Getenv(config.EnvFilePath), "path to feature_store.yaml (env "+config.EnvFilePath+"; -f before the command name)")
	f.StringArrayVarP(&entities, "entities", "e", nil, "entity column value as name=value (repeatable: one value per entity row)")
	f.StringArrayVarP(&features, "features", "f", nil, "feature reference view:feature (repeatable)")
	f.StringVar(&service, "feature-service", "", "feature service to read instead of --features")
	f.BoolVar(&full, "full-feature-names", false, "name features view__feature")
	return cmd
}

// cliValue converts a command-line entity value: strings as they are,
// other types parsed as JSON (1001, true, 1.5).
func cliValue(raw string, vt model.ValueType) (*types.Value, error) {
	switch vt {
	case model.String:
		return &types.Value{Val: &types.Value_StringVal{StringVal: raw}}, nil
	case model.Bytes:
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte(raw)}}, nil
	}
	v, err := values.FromJSON([]byte(raw), vt)
	if err != nil {
		return nil, fmt.Errorf("%q is not a %s value", raw, vt)
	}
	return v, nil
}

// appendToDict renders the response as an indented JSON object of columns.
func appendToDict(dst []byte, r *feast.OnlineResponse) []byte {
	dst = append(dst, "{\n"...)
	for i, name := range r.FeatureNames {
		dst = append(dst, "  "...)
		dst = values.AppendJSON(dst, &types.Value{Val: &types.Value_StringVal{StringVal: name}})
		dst = append(dst, ": ["...)
		for j, v := range r.Results[i].Values {
			if j > 0 {
				dst = append(dst, ", "...)
			}
			dst = values.AppendJSON(dst, v)
		}
		dst = append(dst, ']')
		if i < len(r.FeatureNames)-1 {
			dst = append(dst, ',')
		}
		dst = append(dst, '\n')
	}
	return append(dst, "}\n"...)
}
