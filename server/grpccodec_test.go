package server

import (
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// randomValue returns a Value of a random kind, lists and nulls included.
func randomValue(r *rand.Rand) *types.Value {
	switch r.IntN(9) {
	case 0:
		return &types.Value{Val: &types.Value_Int64Val{Int64Val: r.Int64() - r.Int64()}}
	case 1:
		return &types.Value{Val: &types.Value_FloatVal{FloatVal: r.Float32()}}
	case 2:
		return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: r.NormFloat64()}}
	case 3:
		return &types.Value{Val: &types.Value_StringVal{StringVal: string(rune('a' + r.IntN(26)))}}
	case 4:
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte{byte(r.Uint32()), 0, 255}}}
	case 5:
		return &types.Value{Val: &types.Value_BoolVal{BoolVal: r.IntN(2) == 1}}
	case 6:
		return &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: []int64{r.Int64(), -1}}}}
	case 7:
		return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: r.Int64N(1 << 40)}}
	}
	return &types.Value{} // null
}

// TestVTCodecMatchesProto checks the server's codec against the standard
// one on random requests and responses: what one writes the other reads
// back equal, both ways, and messages without generated code (health)
// still work.
func TestVTCodecMatchesProto(t *testing.T) {
	c := newVTCodec()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		ne, nf := 1+r.IntN(5), 1+r.IntN(4)
		req := &serving.GetOnlineFeaturesRequest{Entities: map[string]*types.RepeatedValue{}, FullFeatureNames: r.IntN(2) == 1}
		if r.IntN(2) == 0 {
			req.Kind = &serving.GetOnlineFeaturesRequest_FeatureService{FeatureService: "svc"}
		} else {
			req.Kind = &serving.GetOnlineFeaturesRequest_Features{Features: &serving.FeatureList{Val: []string{"v:a", "v:b"}}}
		}
		for k := range 1 + r.IntN(2) {
			rv := &types.RepeatedValue{}
			for range ne {
				rv.Val = append(rv.Val, randomValue(r))
			}
			req.Entities[string(rune('x'+k))] = rv
		}
		resp := &serving.GetOnlineFeaturesResponse{Metadata: &serving.GetOnlineFeaturesResponseMetadata{FeatureNames: &serving.FeatureList{Val: []string{"a"}}}}
		for range nf {
			fv := &serving.GetOnlineFeaturesResponse_FeatureVector{}
			for range ne {
				fv.Values = append(fv.Values, randomValue(r))
				fv.Statuses = append(fv.Statuses, serving.FieldStatus(r.IntN(5)))
				fv.EventTimestamps = append(fv.EventTimestamps, timestamppb.New(time.Unix(r.Int64N(1<<33), int64(r.IntN(1e9)))))
			}
			resp.Results = append(resp.Results, fv)
		}
		for _, m := range []proto.Message{req, resp} {
			out, err := c.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			back := m.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(out.Materialize(), back); err != nil || !proto.Equal(back, m) {
				t.Fatalf("case %d: the codec's bytes read by proto: %v\n got %v\nwant %v", i, err, back, m)
			}
			out.Free()
			std, _ := proto.Marshal(m)
			back = m.ProtoReflect().New().Interface()
			if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(std)}, back); err != nil || !proto.Equal(back, m) {
				t.Fatalf("case %d: proto's bytes read by the codec: %v", i, err)
			}
		}
	}
	// A message without generated code goes through the standard codec.
	h := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	out, err := c.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back healthpb.HealthCheckResponse
	if err := c.Unmarshal(out, &back); err != nil || back.Status != h.Status {
		t.Errorf("health through the codec: %v %v", err, back.Status)
	}
	// A large message uses pooled buffers and survives them.
	big := &serving.GetOnlineFeaturesResponse{Results: []*serving.GetOnlineFeaturesResponse_FeatureVector{{}}}
	for range 5000 {
		big.Results[0].Values = append(big.Results[0].Values, randomValue(r))
	}
	out, err = c.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	var bigBack serving.GetOnlineFeaturesResponse
	if err := c.Unmarshal(out, &bigBack); err != nil || !proto.Equal(&bigBack, big) {
		t.Errorf("large message: %v", err)
	}
	out.Free()
}
