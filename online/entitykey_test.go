package online

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/feastgo/feast/proto/feast/types"
)

func i64(v int64) *types.Value  { return &types.Value{Val: &types.Value_Int64Val{Int64Val: v}} }
func i32(v int32) *types.Value  { return &types.Value{Val: &types.Value_Int32Val{Int32Val: v}} }
func str(v string) *types.Value { return &types.Value{Val: &types.Value_StringVal{StringVal: v}} }

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenEntityKeys are entity keys in Feast's v3 serialization, checked
// byte for byte by TestSerializeEntityKeyGolden and seeding the entity-key
// fuzz targets.
var goldenEntityKeys = []struct {
	name   string
	keys   []string
	values []*types.Value
	want   string
}{
	{
		// feast-formats.md §3.1 worked example.
		name: "driver_id int64", keys: []string{"driver_id"}, values: []*types.Value{i64(1001)},
		want: "01000000 02000000 09000000 6472697665725f6964 04000000 08000000 e903000000000000",
	},
	{
		name: "int32", keys: []string{"id"}, values: []*types.Value{i32(-2)},
		want: "01000000 02000000 02000000 6964 03000000 04000000 feffffff",
	},
	{
		name: "string", keys: []string{"k"}, values: []*types.Value{str("ab")},
		want: "01000000 02000000 01000000 6b 02000000 02000000 6162",
	},
	{
		name: "bytes", keys: []string{"k"}, values: []*types.Value{{Val: &types.Value_BytesVal{BytesVal: []byte{0, 0xff}}}},
		want: "01000000 02000000 01000000 6b 01000000 02000000 00ff",
	},
	{
		name: "unix_timestamp", keys: []string{"k"}, values: []*types.Value{{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: 1}}},
		want: "01000000 02000000 01000000 6b 08000000 08000000 0100000000000000",
	},
	{
		// Keys are sorted by name, values follow their keys.
		name: "two keys sorted", keys: []string{"driver_id", "customer_id"}, values: []*types.Value{i64(1), str("c")},
		want: "02000000" +
			" 02000000 0b000000 637573746f6d65725f6964" + // customer_id
			" 02000000 09000000 6472697665725f6964" + // driver_id
			" 02000000 01000000 63" + // "c"
			" 04000000 08000000 0100000000000000", // 1
	},
}

func TestSerializeEntityKeyGolden(t *testing.T) {
	for _, tt := range goldenEntityKeys {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SerializeEntityKey(tt.keys, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got  %x\nwant %x", got, want)
			}
		})
	}
}

func TestSerializeEntityKeyOrderIndependent(t *testing.T) {
	keys := []string{"c", "a", "b", "aa"}
	vals := []*types.Value{i64(3), i64(1), i64(2), str("x")}
	want, err := SerializeEntityKey(keys, vals)
	if err != nil {
		t.Fatal(err)
	}
	perm := []int{3, 1, 0, 2}
	var k2 []string
	var v2 []*types.Value
	for _, p := range perm {
		k2 = append(k2, keys[p])
		v2 = append(v2, vals[p])
	}
	got, err := SerializeEntityKey(k2, v2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("permuted keys serialize differently:\n%x\n%x", got, want)
	}
	gotKeys, _, err := DeserializeEntityKey(got)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(gotKeys, ",") != "a,aa,b,c" {
		t.Fatalf("keys not sorted: %v", gotKeys)
	}
	prefix := SerializeEntityKeyPrefix(k2)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("prefix %x is not a prefix of %x", prefix, got)
	}
}

func TestSerializeEntityKeyManyKeys(t *testing.T) {
	var keys []string
	var vals []*types.Value
	for i := 11; i >= 0; i-- {
		keys = append(keys, string(rune('a'+i)))
		vals = append(vals, i64(int64(i)))
	}
	b, err := SerializeEntityKey(keys, vals)
	if err != nil {
		t.Fatal(err)
	}
	k, v, err := DeserializeEntityKey(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range k {
		if k[i] != string(rune('a'+i)) || v[i].GetInt64Val() != int64(i) {
			t.Fatalf("entry %d = %s=%v", i, k[i], v[i])
		}
	}
}

func TestSerializeEntityKeyErrors(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		values []*types.Value
		want   string
	}{
		{"float", []string{"k"}, []*types.Value{{Val: &types.Value_FloatVal{FloatVal: 1}}}, "Value_FloatVal"},
		{"bool", []string{"k"}, []*types.Value{{Val: &types.Value_BoolVal{BoolVal: true}}}, "Value_BoolVal"},
		{"null", []string{"k"}, []*types.Value{{}}, "null"},
		{"nil", []string{"k"}, []*types.Value{nil}, "null"},
		{"mismatch", []string{"a", "b"}, []*types.Value{i64(1)}, "2 join keys but 1 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendEntityKey(dst, tt.keys, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrEntityKey) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if string(got) != "keep" {
				t.Fatalf("dst modified on error: %q", got)
			}
		})
	}
}

func TestDeserializeEntityKeyErrors(t *testing.T) {
	good := unhex(t, "01000000 02000000 09000000 6472697665725f6964 04000000 08000000 e903000000000000")
	tests := map[string][]byte{
		"empty":        nil,
		"truncated":    good[:len(good)-1],
		"trailing":     append(append([]byte{}, good...), 0),
		"huge count":   unhex(t, "ffffffff"),
		"bad key type": unhex(t, "01000000 04000000 01000000 6b 04000000 08000000 0100000000000000"),
		"int64 width":  unhex(t, "01000000 02000000 01000000 6b 04000000 04000000 01000000"),
		"float value":  unhex(t, "01000000 02000000 01000000 6b 06000000 04000000 0000803f"),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := DeserializeEntityKey(b); !errors.Is(err, ErrEntityKey) {
				t.Fatalf("err = %v, want ErrEntityKey", err)
			}
		})
	}
	k, v, err := DeserializeEntityKey(good)
	if err != nil || len(k) != 1 || k[0] != "driver_id" || v[0].GetInt64Val() != 1001 {
		t.Fatalf("good key: %v %v %v", k, v, err)
	}
}

func TestRedisFieldHashGolden(t *testing.T) {
	// feast-formats.md §3.2: "driver_hourly_stats:conv_rate" -> 0xdae36061.
	if got, want := RedisFieldHash("driver_hourly_stats", "conv_rate"), []byte{0x61, 0x60, 0xe3, 0xda}; !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	// Names longer than the inline buffer hash the same way.
	long := strings.Repeat("v", 200)
	a := RedisFieldHash(long, "f")
	b := AppendRedisFieldHash([]byte{9}, long, "f")
	if !bytes.Equal(b[1:], a) || b[0] != 9 {
		t.Fatalf("append variant differs: %x vs %x", b, a)
	}
}

func TestAppendEntityKeyAllocs(t *testing.T) {
	keys := []string{"driver_id", "customer_id"}
	vals := []*types.Value{i64(1001), str("c1")}
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = AppendEntityKey(buf[:0], keys, vals)
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendEntityKey allocates %.1f times per call", allocs)
	}
}

func FuzzEntityKeyRoundTrip(f *testing.F) {
	for _, g := range goldenEntityKeys {
		k1, n, k2, s, kind := roundTripSeed(g.keys, g.values)
		f.Add(k1, n, k2, s, kind)
	}
	f.Add("driver_id", int64(1001), "", "", uint8(0))
	f.Add("b", int64(-5), "a", "xyz", uint8(1))
	f.Add("k", int64(7), "k2", "\x00\xff", uint8(2))
	f.Add("k", int64(1<<40), "j", "", uint8(3))
	f.Fuzz(func(t *testing.T, k1 string, n int64, k2, s string, kind uint8) {
		if !utf8Valid(k1, k2, s) {
			t.Skip()
		}
		var second *types.Value
		switch kind % 4 {
		case 0:
			second = str(s)
		case 1:
			second = &types.Value{Val: &types.Value_BytesVal{BytesVal: []byte(s)}}
		case 2:
			second = i32(int32(n))
		default:
			second = &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: n}}
		}
		keys := []string{k1, k2}
		vals := []*types.Value{i64(n), second}
		b, err := SerializeEntityKey(keys, vals)
		if err != nil {
			t.Fatal(err)
		}
		gotKeys, gotVals, err := DeserializeEntityKey(b)
		if err != nil {
			t.Fatalf("deserialize %x: %v", b, err)
		}
		if len(gotKeys) != 2 {
			t.Fatalf("got %d keys", len(gotKeys))
		}
		// Match each decoded key back to its input (keys may be equal).
		for i, k := range gotKeys {
			j := 0
			if k != k1 || (k1 == k2 && i == 1) {
				j = 1
			}
			if keys[j] != k {
				t.Fatalf("key %d = %q, want one of %q", i, k, keys)
			}
			if k1 != k2 && !proto.Equal(gotVals[i], vals[j]) {
				t.Fatalf("value of %q = %v, want %v", k, gotVals[i], vals[j])
			}
		}
		again, err := SerializeEntityKey(gotKeys, gotVals)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-serialization differs: %x vs %x (%v)", again, b, err)
		}
	})
}

// A view without entities is stored under Feast's dummy key,
// {__dummy_id: ""}: an empty key list serializes as exactly that key, and
// the Redis teardown prefix follows.
func TestEmptyKeyIsFeastDummyKey(t *testing.T) {
	want, err := SerializeEntityKey([]string{"__dummy_id"}, []*types.Value{{Val: &types.Value_StringVal{StringVal: ""}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := SerializeEntityKey(nil, nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("empty key = %x, %v; want the dummy key %x", got, err, want)
	}
	if p := SerializeEntityKeyPrefix(nil); !bytes.HasPrefix(want, p) || len(p) != 4+8+len("__dummy_id") {
		t.Errorf("prefix %x of the dummy key %x", p, want)
	}
	if _, err := SerializeEntityKey(nil, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: 1}}}); err == nil {
		t.Error("a value without a join key was accepted")
	}
}

func FuzzDeserializeEntityKey(f *testing.F) {
	for _, g := range goldenEntityKeys {
		b, err := hex.DecodeString(strings.ReplaceAll(g.want, " ", ""))
		if err != nil {
			f.Fatalf("golden %s: %v", g.name, err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 'k', 4, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, vals, err := DeserializeEntityKey(b)
		if err != nil {
			return
		}
		sorted := true
		for i := 1; i < len(keys); i++ {
			sorted = sorted && keys[i-1] <= keys[i]
		}
		if !sorted || len(keys) == 0 { // no keys serializes as the dummy key
			return
		}
		again, err := SerializeEntityKey(keys, vals)
		if err != nil {
			t.Fatalf("decoded key does not re-serialize: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-serialization differs:\n%x\n%x", again, b)
		}
	})
}

// roundTripSeed maps a golden key onto FuzzEntityKeyRoundTrip's arguments:
// the int64 value (if any) and its key become k1 and n, another value its
// key, string or bytes and kind.
func roundTripSeed(keys []string, vals []*types.Value) (k1 string, n int64, k2, s string, kind uint8) {
	for i, v := range vals {
		switch x := v.Val.(type) {
		case *types.Value_Int64Val:
			if k1 == "" {
				k1, n = keys[i], x.Int64Val
				continue
			}
			k2, kind = keys[i], 3
		case *types.Value_StringVal:
			k2, s, kind = keys[i], x.StringVal, 0
		case *types.Value_BytesVal:
			k2, s, kind = keys[i], string(x.BytesVal), 1
		case *types.Value_Int32Val:
			k2, n, kind = keys[i], int64(x.Int32Val), 2
		case *types.Value_UnixTimestampVal:
			k2, n, kind = keys[i], x.UnixTimestampVal, 3
		}
	}
	return k1, n, k2, s, kind
}

func utf8Valid(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
