package redis

import (
	"bytes"
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

// rawRead is what ReadRaw lent, copied: [request][entity][feature].
type rawCell struct {
	b     []byte
	found bool
	ts    time.Time
}

func readRaw(t *testing.T, s *Store, reqs []online.ReadRequest) ([][][]rawCell, error) {
	t.Helper()
	var out [][][]rawCell
	err := s.ReadRaw(context.Background(), reqs, func(res online.RawResult) error {
		for r := range reqs {
			var ents [][]rawCell
			for e := range reqs[r].EntityKeys {
				var cells []rawCell
				for f := range reqs[r].Features {
					b, found, err := res.Value(r, e, f)
					if err != nil {
						return err
					}
					cells = append(cells, rawCell{b: append([]byte(nil), b...), found: found, ts: res.EventTS(r, e, f)})
				}
				ents = append(ents, cells)
			}
			out = append(out, ents)
		}
		return nil
	})
	return out, err
}

// TestReadRawLikeRead stores every kind of value (and the encodings the
// fast decoder leaves to proto.Unmarshal) by hand, with and without event
// timestamps and with absent fields, and checks that ReadRaw lends exactly
// what Read decodes: the same found flags and event times, and bytes that
// online.UnmarshalValue decodes to Read's values. Values that do not
// decode make Read fail and ReadRaw lend their bytes unchanged.
func TestReadRawLikeRead(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{})
	project := testenv.UniqueName("raw")
	fv := onlinetest.View(testenv.UniqueName("fv"), model.Field{Name: "a", Type: model.Double}, model.Field{Name: "b", Type: model.Double})
	t.Cleanup(func() { s.Teardown(ctx, project, []*model.FeatureView{fv}) })
	raw := rawClient(t)
	fa, fb := string(online.RedisFieldHash(fv.Name, "a")), string(online.RedisFieldHash(fv.Name, "b"))
	var good, bad [][]byte // keys of decodable and undecodable values
	for i, val := range everyKind(t) {
		key := onlinetest.DriverKey(t, int64(i))
		args := []string{"HSET", string(Key(key, project)), fa, string(val)}
		if i%3 != 0 {
			ts, _ := proto.Marshal(timestamppb.New(time.Unix(1_700_000_000+int64(i), int64(i)*1000).UTC()))
			args = append(args, TimestampField(fv.Name), string(ts))
		}
		if i%2 == 0 {
			args = append(args, fb, "")
		}
		raw.do(args...)
		if online.UnmarshalValue(val, &types.Value{}) == nil {
			good = append(good, key)
		} else {
			bad = append(bad, key)
		}
	}
	if len(good) < 20 || len(bad) < 3 {
		t.Fatalf("%d decodable and %d undecodable samples: the generator changed", len(good), len(bad))
	}
	absent := onlinetest.DriverKey(t, 1_000_000)
	keys := append(append([][]byte{absent}, good...), good[0])
	reqs := []online.ReadRequest{
		{Project: project, View: fv, Features: []string{"b", "a"}, EntityKeys: keys},
		{Project: project, View: fv, Features: []string{"a"}, EntityKeys: keys[:3]},
		{Project: project, View: fv, Features: []string{"a"}},
	}
	want, err := s.Read(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readRaw(t, s, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("ReadRaw lent %d requests, Read returned %d", len(got), len(want))
	}
	for r := range want {
		for e := range want[r] {
			for f, w := range want[r][e] {
				g := got[r][e][f]
				if g.found != w.Found {
					t.Fatalf("request %d entity %d feature %d: ReadRaw found %v, Read %v", r, e, f, g.found, w.Found)
				}
				if !w.Found {
					continue
				}
				if !g.ts.Equal(w.EventTS) || g.ts.IsZero() != w.EventTS.IsZero() {
					t.Fatalf("request %d entity %d: ReadRaw event time %v, Read %v", r, e, g.ts, w.EventTS)
				}
				v := &types.Value{}
				if err := online.UnmarshalValue(g.b, v); err != nil {
					t.Fatalf("request %d entity %d feature %d: lent bytes % x do not decode: %v", r, e, f, g.b, err)
				}
				gb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(v)
				wb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(w.Value)
				if !bytes.Equal(gb, wb) {
					t.Fatalf("request %d entity %d feature %d: lent bytes decode to %v, Read gave %v", r, e, f, v, w.Value)
				}
			}
		}
	}
	for _, key := range bad {
		req := []online.ReadRequest{{Project: project, View: fv, Features: []string{"a"}, EntityKeys: [][]byte{key}}}
		if _, err := s.Read(ctx, req); err == nil {
			t.Fatalf("Read of an undecodable value succeeded")
		}
		got, err := readRaw(t, s, req)
		if err != nil {
			t.Fatalf("ReadRaw of an undecodable value: %v (its bytes are lent, not decoded)", err)
		}
		stored := raw.do("HGET", string(Key(key, project)), fa)
		sb, _ := stored.AsBytes()
		if !got[0][0][0].found || !bytes.Equal(got[0][0][0].b, sb) {
			t.Fatalf("ReadRaw lent % x, stored % x", got[0][0][0].b, sb)
		}
	}
	// A malformed event timestamp fails both, with the same error.
	key := onlinetest.DriverKey(t, 2_000_000)
	raw.do("HSET", string(Key(key, project)), fa, "", TimestampField(fv.Name), "\x08")
	req := []online.ReadRequest{{Project: project, View: fv, Features: []string{"a"}, EntityKeys: [][]byte{key}}}
	_, rerr := s.Read(ctx, req)
	_, werr := readRaw(t, s, req)
	if rerr == nil || werr == nil || rerr.Error() != werr.Error() {
		t.Fatalf("malformed _ts: Read error %v, ReadRaw error %v; want the same error", rerr, werr)
	}
}
