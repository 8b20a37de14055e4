package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
)

// servingService implements feast.serving.ServingService on the same core
// as the HTTP endpoint.
type servingService struct {
	serving.UnimplementedServingServiceServer
	s *Server
}

// GetFeastServingInfo returns the server version.
func (g *servingService) GetFeastServingInfo(context.Context, *serving.GetFeastServingInfoRequest) (*serving.GetFeastServingInfoResponse, error) {
	return &serving.GetFeastServingInfoResponse{Version: feast.Version}, nil
}

// GetOnlineFeatures serves features with typed entity values.
func (g *servingService) GetOnlineFeatures(ctx context.Context, in *serving.GetOnlineFeaturesRequest) (*serving.GetOnlineFeaturesResponse, error) {
	s := g.s
	plan, err := s.plan(ctx, in.GetFeatures().GetVal(), in.GetFeatureService(), in.GetFullFeatureNames())
	if err != nil {
		return nil, err
	}
	if err := s.access.check(ctx, plan.Snapshot(), plan, plan.AccessResources(), model.ActionReadOnline); err != nil {
		return nil, err
	}
	req := feast.OnlineRequest{Entities: repeated(in.GetEntities()), RequestContext: repeated(in.GetRequestContext())}
	resp, err := s.read(ctx, plan, req)
	if err != nil {
		return nil, err
	}
	return toProto(resp), nil
}

func repeated(m map[string]*types.RepeatedValue) map[string][]*types.Value {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]*types.Value, len(m))
	for k, v := range m {
		out[k] = v.GetVal()
	}
	return out
}

// toProto converts a response to Feast's GetOnlineFeaturesResponse; zero
// event times become the epoch, as Feast reports them.
func toProto(r *feast.OnlineResponse) *serving.GetOnlineFeaturesResponse {
	out := &serving.GetOnlineFeaturesResponse{
		Metadata: &serving.GetOnlineFeaturesResponseMetadata{FeatureNames: &serving.FeatureList{Val: r.FeatureNames}},
		Results:  make([]*serving.GetOnlineFeaturesResponse_FeatureVector, len(r.Results)),
	}
	n := r.Rows()
	vecs := make([]serving.GetOnlineFeaturesResponse_FeatureVector, len(r.Results))
	tss := make([]timestamppb.Timestamp, len(r.Results)*n)
	ptrs := make([]*timestamppb.Timestamp, len(r.Results)*n)
	for i := range r.Results {
		res := &r.Results[i]
		v := &vecs[i]
		v.Values = res.Values
		v.Statuses = res.Statuses
		v.EventTimestamps = ptrs[i*n : (i+1)*n : (i+1)*n]
		for j, t := range res.EventTimestamps {
			ts := &tss[i*n+j]
			if !t.IsZero() {
				ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
			}
			v.EventTimestamps[j] = ts
		}
		out.Results[i] = v
	}
	return out
}

// NewGRPCServer returns a gRPC server with ServingService, gRPC health
// checking (readiness as /ready decides; see healthServer) and reflection,
// plus the unary interceptors for auth, timeouts, panics, metrics and
// logging. With certFile and keyFile it serves TLS. The caller runs Serve
// and stops it.
func (s *Server) NewGRPCServer(certFile, keyFile string) (*grpc.Server, error) {
	var opts []grpc.ServerOption
	if certFile != "" && keyFile != "" {
		creds, err := credentials.NewServerTLSFromFile(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	if s.opts.TracerProvider != nil {
		opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(s.opts.TracerProvider), otelgrpc.WithPropagators(tracePropagator))))
	}
	opts = append(opts, grpc.ChainUnaryInterceptor(s.unaryInterceptor()), grpc.ChainStreamInterceptor(s.streamInterceptor()), grpc.MaxRecvMsgSize(int(min(s.opts.MaxBodyBytes, 1<<30))), grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		grpc.ForceServerCodecV2(newVTCodec()))
	gs := grpc.NewServer(opts...)
	serving.RegisterServingServiceServer(gs, &servingService{s: s})
	healthpb.RegisterHealthServer(gs, &healthServer{s: s})
	reflection.Register(gs)
	return gs, nil
}

// LivenessService is the gRPC health service name that answers SERVING
// whenever the process answers at all: the cheap liveness check, as
// /health is over HTTP. The service "" and feast.serving.ServingService
// report readiness, as /ready does.
const LivenessService = "liveness"

// healthServer answers gRPC health checking with the readiness of /ready
// for the service "" and feast.serving.ServingService: SERVING once a
// registry snapshot is loaded and the online store answers a ping (or is
// none), NOT_SERVING otherwise. A failed registry refresh does not make
// the server unready, since the last good snapshot keeps serving (/health
// shows it as degraded). The result is cached for readyCacheTTL, so that
// health checks cannot hammer the online store. LivenessService is
// always SERVING.
type healthServer struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

// status is the health of service, or ok false when it is unknown.
func (h *healthServer) status(ctx context.Context, service string) (healthpb.HealthCheckResponse_ServingStatus, bool) {
	switch service {
	case LivenessService:
		return healthpb.HealthCheckResponse_SERVING, true
	case "", serving.ServingService_ServiceDesc.ServiceName:
		if _, code := h.s.cachedReadiness(ctx); code != http.StatusOK {
			return healthpb.HealthCheckResponse_NOT_SERVING, true
		}
		return healthpb.HealthCheckResponse_SERVING, true
	}
	return healthpb.HealthCheckResponse_SERVICE_UNKNOWN, false
}

func (h *healthServer) Check(ctx context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, ok := h.status(ctx, in.GetService())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown service %q (known: \"\", %q, %q)",
			in.GetService(), serving.ServingService_ServiceDesc.ServiceName, LivenessService)
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// List reports every service Check knows.
func (h *healthServer) List(ctx context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{}}
	for _, svc := range []string{"", serving.ServingService_ServiceDesc.ServiceName, LivenessService} {
		st, _ := h.status(ctx, svc)
		out.Statuses[svc] = &healthpb.HealthCheckResponse{Status: st}
	}
	return out, nil
}

// Watch sends the status of the service now and again whenever it
// changes, looking every readyCacheTTL (an unknown service is
// SERVICE_UNKNOWN, as the protocol wants, and may not become known).
func (h *healthServer) Watch(in *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	ctx := stream.Context()
	t := time.NewTicker(readyCacheTTL)
	defer t.Stop()
	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	for {
		st, _ := h.status(ctx, in.GetService())
		if st != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			last = st
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
	}
}

func (s *Server) unaryInterceptor() grpc.UnaryServerInterceptor {
	ems := map[string]*endpointMetrics{}
	for _, m := range serving.ServingService_ServiceDesc.Methods {
		name := "/" + serving.ServingService_ServiceDesc.ServiceName + "/" + m.MethodName
		ems[name] = s.metrics.endpoint(name)
	}
	other := s.metrics.endpoint("grpc_other")
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		em := ems[info.FullMethod]
		if em == nil {
			em = other
		}
		isHealth := info.FullMethod == healthpb.Health_Check_FullMethodName
		defer func() {
			if v := recover(); v != nil {
				s.metrics.panics.Inc()
				s.log.Error("panic serving grpc request", "method", info.FullMethod, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				resp, err = nil, status.Error(codes.Internal, "internal error")
			}
			code := status.Code(err)
			httpCode := grpcToHTTP(code)
			em.observe(httpCode, time.Since(start))
			if !s.opts.NoAccessLog && !isHealth {
				s.log.LogAttrs(ctx, slog.LevelInfo, "access", slog.String("method", info.FullMethod),
					slog.String("code", code.String()), slog.Duration("duration", time.Since(start)))
			}
		}()
		if !isHealth {
			user, err := s.authenticateGRPC(ctx)
			if err != nil {
				return nil, s.grpcError(info.FullMethod, err)
			}
			if user != nil {
				ctx = auth.WithUser(ctx, user)
			}
		}
		if s.opts.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
			defer cancel()
		}
		resp, err = handler(ctx, req)
		if err != nil {
			if _, ok := status.FromError(err); !ok {
				err = s.grpcError(info.FullMethod, err)
			}
		}
		return resp, err
	}
}

// authenticateGRPC returns the user of the bearer token in the metadata of
// ctx (nil when the server is open).
func (s *Server) authenticateGRPC(ctx context.Context) (*auth.User, error) {
	if !s.access.on() {
		return nil, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var h string
	if v := md.Get("authorization"); len(v) > 0 {
		h = v[0]
	}
	return s.access.authenticate(ctx, h)
}

// streamInterceptor applies auth to streaming RPCs, which are server
// reflection (it lists every service and message: with auth on, only
// token holders may see them) and health watching (open, as Check and
// /health are).
func (s *Server) streamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if info.FullMethod != healthpb.Health_Watch_FullMethodName {
			if _, err := s.authenticateGRPC(ss.Context()); err != nil {
				return s.grpcError(info.FullMethod, err)
			}
		}
		return handler(srv, ss)
	}
}

func (s *Server) grpcError(method string, err error) error {
	httpCode, code := classify(err)
	if httpCode >= 500 {
		s.log.Error("grpc request failed", "method", method, "code", code.String(), "err", err)
	}
	return status.Error(code, s.errorMessage(err))
}

// grpcToHTTP maps a gRPC code to the HTTP status used as the metrics label.
func grpcToHTTP(c codes.Code) int {
	switch c {
	case codes.OK:
		return 200
	case codes.InvalidArgument:
		return 400
	case codes.Unauthenticated:
		return 401
	case codes.PermissionDenied:
		return 403
	case codes.NotFound:
		return 404
	case codes.ResourceExhausted:
		return 413
	case codes.Canceled:
		return 499
	case codes.Unimplemented:
		return 501
	case codes.Unavailable:
		return 503
	case codes.DeadlineExceeded:
		return 504
	}
	return 500
}
