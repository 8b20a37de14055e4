package server

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	st "github.com/feastgo/feast/server/servingtest"
	"github.com/feastgo/feast/values"
)

// bufServer serves s over an in-memory gRPC connection.
func bufServer(t *testing.T, s *Server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs, err := s.NewGRPCServer("", "")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func rv(vs ...*types.Value) *types.RepeatedValue { return &types.RepeatedValue{Val: vs} }

func TestGRPC(t *testing.T) {
	f := st.New(t, st.SQLite())
	s := newServer(t, f, Options{AuthTokens: []string{"tok"}})
	conn := bufServer(t, s)
	client := serving.NewServingServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok")

	info, err := client.GetFeastServingInfo(ctx, &serving.GetFeastServingInfoRequest{})
	if err != nil || info.GetVersion() != feast.Version {
		t.Fatalf("GetFeastServingInfo = %v, %v", info, err)
	}
	resp, err := client.GetOnlineFeatures(ctx, &serving.GetOnlineFeaturesRequest{
		Kind: &serving.GetOnlineFeaturesRequest_Features{Features: &serving.FeatureList{Val: []string{
			"driver_stats:conv_rate", "driver_stats:name", "conv_plus:conv_plus_val"}}},
		// INT32 entity values are widened to the declared INT64.
		Entities:       map[string]*types.RepeatedValue{"driver_id": rv(st.I32(1001), st.I32(1002), st.I32(1003))},
		RequestContext: map[string]*types.RepeatedValue{"val_to_add": rv(st.I64(1), st.I64(2), st.I64(3))},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for i, name := range resp.GetMetadata().GetFeatureNames().GetVal() {
		r := resp.GetResults()[i]
		sb.WriteString(name + ":")
		for j, v := range r.GetValues() {
			sb.WriteString(" " + string(values.AppendJSON(nil, v)) + "/" + r.GetStatuses()[j].String() + "/" +
				r.GetEventTimestamps()[j].AsTime().Format("15:04"))
		}
		sb.WriteString("\n")
	}
	want := `driver_id: 1001/PRESENT/00:00 1002/PRESENT/00:00 1003/PRESENT/00:00
conv_rate: 0.5/PRESENT/11:50 0.25/OUTSIDE_MAX_AGE/10:00 null/NOT_FOUND/00:00
name: "alice"/PRESENT/11:50 "bob"/OUTSIDE_MAX_AGE/10:00 null/NOT_FOUND/00:00
conv_plus_val: 1.5/PRESENT/00:00 2.25/PRESENT/00:00 null/NULL_VALUE/00:00
`
	if sb.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", sb.String(), want)
	}

	errCases := []struct {
		req  *serving.GetOnlineFeaturesRequest
		code codes.Code
		msg  string
	}{
		{&serving.GetOnlineFeaturesRequest{Kind: &serving.GetOnlineFeaturesRequest_FeatureService{FeatureService: "nope"},
			Entities: map[string]*types.RepeatedValue{"driver_id": rv(st.I64(1))}}, codes.NotFound, `feature service "nope" not found`},
		{&serving.GetOnlineFeaturesRequest{Kind: &serving.GetOnlineFeaturesRequest_Features{Features: &serving.FeatureList{Val: []string{"driver_stats:trips"}}},
			Entities: map[string]*types.RepeatedValue{"driver_id": rv(st.Str("x"))}}, codes.InvalidArgument, `entity column "driver_id" row 0: type mismatch: expected INT64, got STRING`},
		{&serving.GetOnlineFeaturesRequest{}, codes.InvalidArgument, "no features requested"},
	}
	for _, c := range errCases {
		_, err := client.GetOnlineFeatures(ctx, c.req)
		if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.msg) {
			t.Errorf("got %v, want %v with %q", err, c.code, c.msg)
		}
	}
	if _, err := client.GetFeastServingInfo(context.Background(), &serving.GetFeastServingInfoRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("without token: %v", err)
	}

	// Health needs no token and reports SERVING once the snapshot is loaded.
	hc, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "feast.serving.ServingService"})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, %v", hc, err)
	}
	gs, _ := s.NewGRPCServer("", "")
	infoMap := gs.GetServiceInfo()
	for _, svc := range []string{"feast.serving.ServingService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if _, ok := infoMap[svc]; !ok {
			t.Errorf("service %s not registered", svc)
		}
	}
}
