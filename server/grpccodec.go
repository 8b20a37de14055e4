package server

import (
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// vtMessage is a message with vtprotobuf's generated methods (the serving
// and value protos: proto/*_vtproto.pb.go, written by make proto).
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT(dst []byte) (int, error)
	UnmarshalVT(data []byte) error
}

// vtCodec is the gRPC server's codec: messages with vtprotobuf's generated
// code are marshaled and unmarshaled by it (no reflection), into buffers
// from grpc-go's pool as its own proto codec does; others (health,
// reflection) go through the standard codec. The wire format is the same
// protobuf, so clients see no difference.
type vtCodec struct {
	fallback encoding.CodecV2
}

func newVTCodec() vtCodec { return vtCodec{fallback: encoding.GetCodecV2(protoenc.Name)} }

func (vtCodec) Name() string { return protoenc.Name }

func (c vtCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(vtMessage)
	if !ok {
		return c.fallback.Marshal(v)
	}
	size := m.SizeVT()
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		if _, err := m.MarshalToSizedBufferVT(buf); err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := m.MarshalToSizedBufferVT(*buf); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (c vtCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(vtMessage)
	if !ok {
		return c.fallback.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	// UnmarshalVT copies strings and bytes out of buf (the generated code
	// is built without its unsafe option), so buf can go back to the pool.
	return m.UnmarshalVT(buf.ReadOnlyData())
}
