package online

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/spaolacci/murmur3"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/proto/feast/types"
)

// Entity-key serialization follows Feast's version 3 layout
// (sdk/python/feast/infra/key_encoding_utils.py serialize_entity_key): all
// integers are little-endian uint32 unless noted, and the keys are sorted by
// join-key name.
//
//	u32 num_keys
//	for each sorted key:   u32 type=2 (STRING) | u32 len(key) | key bytes
//	for each sorted value: u32 value type      | u32 len      | value bytes
//
// Values may be bytes (raw), string (UTF-8), int32 (4 bytes), int64 and
// unix_timestamp (8 bytes, two's complement). Feast rejects any other kind.

// A feature view without entities is stored under Feast's dummy entity
// key, {__dummy_id: ""} (feature_view.py DUMMY_ENTITY_ID/VAL): an empty
// list of join keys serializes as that key, so every writer and reader of
// such a view agrees with Feast's layout.
var (
	dummyKeys   = []string{model.DummyEntityJoinKey}
	dummyValues = []*types.Value{{Val: &types.Value_StringVal{StringVal: ""}}}
)

// maxInlineKeys is the number of join keys sorted without allocating.
const maxInlineKeys = 8

// ErrEntityKey is wrapped by every entity-key encoding and decoding error.
var ErrEntityKey = errors.New("invalid entity key")

// SerializeEntityKey returns the Feast v3 serialization of the entity key
// made of joinKeys and the values aligned with them.
func SerializeEntityKey(joinKeys []string, values []*types.Value) ([]byte, error) {
	return AppendEntityKey(nil, joinKeys, values)
}

// AppendEntityKey appends the Feast v3 serialization of the entity key to
// dst and returns the extended buffer. It allocates only when dst lacks
// capacity or when there are more than eight join keys.
func AppendEntityKey(dst []byte, joinKeys []string, values []*types.Value) ([]byte, error) {
	if len(joinKeys) == 0 && len(values) == 0 {
		joinKeys, values = dummyKeys, dummyValues
	}
	if len(joinKeys) != len(values) {
		return dst, fmt.Errorf("%w: %d join keys but %d values", ErrEntityKey, len(joinKeys), len(values))
	}
	var inline [maxInlineKeys]int
	order := inline[:0]
	if len(joinKeys) > maxInlineKeys {
		order = make([]int, 0, len(joinKeys))
	}
	for i := range joinKeys {
		order = append(order, i)
	}
	// Insertion sort: entity keys have few columns, and sort.Slice allocates.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && joinKeys[order[j]] < joinKeys[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}

	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(joinKeys)))
	for _, i := range order {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(types.ValueType_STRING))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(joinKeys[i])))
		dst = append(dst, joinKeys[i]...)
	}
	for _, i := range order {
		var err error
		dst, err = appendKeyValue(dst, values[i])
		if err != nil {
			return dst[:start], fmt.Errorf("%w: join key %s: %w", ErrEntityKey, joinKeys[i], err)
		}
	}
	return dst, nil
}

func appendKeyValue(dst []byte, v *types.Value) ([]byte, error) {
	le := binary.LittleEndian
	switch x := v.GetVal().(type) {
	case *types.Value_StringVal:
		dst = le.AppendUint32(dst, uint32(types.ValueType_STRING))
		dst = le.AppendUint32(dst, uint32(len(x.StringVal)))
		return append(dst, x.StringVal...), nil
	case *types.Value_BytesVal:
		dst = le.AppendUint32(dst, uint32(types.ValueType_BYTES))
		dst = le.AppendUint32(dst, uint32(len(x.BytesVal)))
		return append(dst, x.BytesVal...), nil
	case *types.Value_Int32Val:
		dst = le.AppendUint32(dst, uint32(types.ValueType_INT32))
		dst = le.AppendUint32(dst, 4)
		return le.AppendUint32(dst, uint32(x.Int32Val)), nil
	case *types.Value_Int64Val:
		dst = le.AppendUint32(dst, uint32(types.ValueType_INT64))
		dst = le.AppendUint32(dst, 8)
		return le.AppendUint64(dst, uint64(x.Int64Val)), nil
	case *types.Value_UnixTimestampVal:
		dst = le.AppendUint32(dst, uint32(types.ValueType_UNIX_TIMESTAMP))
		dst = le.AppendUint32(dst, 8)
		return le.AppendUint64(dst, uint64(x.UnixTimestampVal)), nil
	case nil:
		return dst, errors.New("value is null")
	default:
		return dst, fmt.Errorf("unsupported value type %T", x)
	}
}

// SerializeEntityKeyPrefix returns the key section of the v3 serialization
// for joinKeys (sorted), which every serialized entity key over the same
// join keys starts with. Redis teardown scans for it.
func SerializeEntityKeyPrefix(joinKeys []string) []byte {
	if len(joinKeys) == 0 {
		joinKeys = dummyKeys
	}
	var inline [maxInlineKeys]string
	sorted := append(inline[:0], joinKeys...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	n := 4
	for _, k := range sorted {
		n += 8 + len(k)
	}
	dst := make([]byte, 0, n)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(sorted)))
	for _, k := range sorted {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(types.ValueType_STRING))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(k)))
		dst = append(dst, k...)
	}
	return dst
}

// DeserializeEntityKey parses a v3 serialized entity key. It requires
// exactly num_keys values and no trailing bytes; keys come back in their
// serialized (sorted) order.
func DeserializeEntityKey(b []byte) (joinKeys []string, values []*types.Value, err error) {
	r := keyReader{b: b}
	n, ok := r.u32()
	if !ok {
		return nil, nil, fmt.Errorf("%w: truncated key count", ErrEntityKey)
	}
	// Every key takes at least 8 bytes and every value at least 8 more.
	if uint64(n)*16 > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: %d keys do not fit in %d bytes", ErrEntityKey, n, len(b))
	}
	joinKeys = make([]string, n)
	for i := range joinKeys {
		typ, ok1 := r.u32()
		data, ok2 := r.chunk()
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("%w: truncated join key %d", ErrEntityKey, i)
		}
		if types.ValueType_Enum(typ) != types.ValueType_STRING {
			return nil, nil, fmt.Errorf("%w: join key %d has type %d, want STRING", ErrEntityKey, i, typ)
		}
		if !utf8.Valid(data) {
			return nil, nil, fmt.Errorf("%w: join key %d is not UTF-8", ErrEntityKey, i)
		}
		joinKeys[i] = string(data)
	}
	values = make([]*types.Value, n)
	for i := range values {
		typ, ok1 := r.u32()
		data, ok2 := r.chunk()
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("%w: truncated value of %s", ErrEntityKey, joinKeys[i])
		}
		v, err := decodeKeyValue(types.ValueType_Enum(typ), data)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: value of %s: %w", ErrEntityKey, joinKeys[i], err)
		}
		values[i] = v
	}
	if len(r.b) != 0 {
		return nil, nil, fmt.Errorf("%w: %d trailing bytes", ErrEntityKey, len(r.b))
	}
	return joinKeys, values, nil
}

func decodeKeyValue(typ types.ValueType_Enum, data []byte) (*types.Value, error) {
	switch typ {
	case types.ValueType_STRING:
		if !utf8.Valid(data) {
			return nil, errors.New("string is not UTF-8")
		}
		return &types.Value{Val: &types.Value_StringVal{StringVal: string(data)}}, nil
	case types.ValueType_BYTES:
		return &types.Value{Val: &types.Value_BytesVal{BytesVal: append([]byte{}, data...)}}, nil
	case types.ValueType_INT32:
		if len(data) != 4 {
			return nil, fmt.Errorf("int32 has %d bytes", len(data))
		}
		return &types.Value{Val: &types.Value_Int32Val{Int32Val: int32(binary.LittleEndian.Uint32(data))}}, nil
	case types.ValueType_INT64:
		if len(data) != 8 {
			return nil, fmt.Errorf("int64 has %d bytes", len(data))
		}
		return &types.Value{Val: &types.Value_Int64Val{Int64Val: int64(binary.LittleEndian.Uint64(data))}}, nil
	case types.ValueType_UNIX_TIMESTAMP:
		if len(data) != 8 {
			return nil, fmt.Errorf("unix_timestamp has %d bytes", len(data))
		}
		return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: int64(binary.LittleEndian.Uint64(data))}}, nil
	default:
		return nil, fmt.Errorf("unsupported value type %d", typ)
	}
}

type keyReader struct{ b []byte }

func (r *keyReader) u32() (uint32, bool) {
	if len(r.b) < 4 {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v, true
}

func (r *keyReader) chunk() ([]byte, bool) {
	n, ok := r.u32()
	if !ok || uint64(n) > uint64(len(r.b)) {
		return nil, false
	}
	data := r.b[:n]
	r.b = r.b[n:]
	return data, true
}

// RedisFieldHash returns the Redis hash field Feast stores the feature
// view:feature under: MurmurHash3 x86 32-bit, seed 0, of the UTF-8 string
// "view:feature", as 4 little-endian bytes.
func RedisFieldHash(view, feature string) []byte {
	return AppendRedisFieldHash(make([]byte, 0, 4), view, feature)
}

// AppendRedisFieldHash appends RedisFieldHash(view, feature) to dst.
//
// It hashes through murmur3.New32: murmur3.Sum32 converts a uintptr back to
// a pointer, which the race detector's checkptr mode rejects.
func AppendRedisFieldHash(dst []byte, view, feature string) []byte {
	h := murmur3.New32()
	var buf [128]byte
	s := append(buf[:0], view...)
	s = append(s, ':')
	s = append(s, feature...)
	h.Write(s) //nolint:errcheck // hash writes never fail
	return binary.LittleEndian.AppendUint32(dst, h.Sum32())
}
