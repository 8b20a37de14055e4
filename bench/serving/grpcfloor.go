package main

import (
	"context"
	"errors"
	"net"

	"github.com/redis/rueidis"
	"google.golang.org/grpc"

	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
)

// grpcFloor is the gRPC floor: the cheapest ServingService that makes the
// Redis calls of a request, served by grpc-go with its default options, to
// show what grpc-go's transport costs on this machine by itself. For a
// GetOnlineFeatures request of N features and M entities it issues M
// HMGETs of N feature fields and the _ts field on entities 0..M-1, in one
// pipeline, and answers N vectors of M values holding the raw stored bytes
// (status PRESENT, no event times): it resolves nothing and decodes
// nothing, so the response has the shape and about the size of the
// feature server's.
type grpcFloor struct {
	serving.UnimplementedServingServiceServer
	rc     rueidis.Client
	fields []string
	ts     string
	keys   []string
}

func (g *grpcFloor) GetOnlineFeatures(ctx context.Context, in *serving.GetOnlineFeaturesRequest) (*serving.GetOnlineFeaturesResponse, error) {
	nf := len(in.GetFeatures().GetVal())
	ne := 0
	for _, v := range in.GetEntities() {
		ne = len(v.GetVal())
	}
	if nf < 1 || nf > len(g.fields) || ne < 1 || ne > len(g.keys) {
		return nil, errors.New("grpc floor: 1..50 features and 1..100 entities")
	}
	f := append(g.fields[:nf:nf], g.ts)
	cmds := make(rueidis.Commands, ne)
	for e := range cmds {
		cmds[e] = g.rc.B().Hmget().Key(g.keys[e]).Field(f...).Build()
	}
	out := &serving.GetOnlineFeaturesResponse{Results: make([]*serving.GetOnlineFeaturesResponse_FeatureVector, nf)}
	for i := range out.Results {
		out.Results[i] = &serving.GetOnlineFeaturesResponse_FeatureVector{Values: make([]*types.Value, ne), Statuses: make([]serving.FieldStatus, ne)}
	}
	for e, r := range g.rc.DoMulti(ctx, cmds...) {
		vals, err := r.ToArray()
		if err != nil {
			return nil, err
		}
		for i := 0; i < nf && i < len(vals); i++ {
			s, _ := vals[i].ToString()
			out.Results[i].Values[e] = &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte(s)}}
			out.Results[i].Statuses[e] = serving.FieldStatus_PRESENT
		}
	}
	return out, nil
}

// serveGRPCFloor serves the gRPC floor on ln until ctx ends.
func serveGRPCFloor(ctx context.Context, ln net.Listener, rc rueidis.Client, fields []string, ts string, keys []string) {
	gs := grpc.NewServer()
	serving.RegisterServingServiceServer(gs, &grpcFloor{rc: rc, fields: fields, ts: ts, keys: keys})
	go func() {
		<-ctx.Done()
		gs.Stop()
	}()
	gs.Serve(ln) // returns when stopped
}
