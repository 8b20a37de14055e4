package redis

import (
	"bytes"
	"context"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

func openStore(t testing.TB, cfg config.RedisOnlineConfig) *Store {
	t.Helper()
	cfg.ConnectionString = testenv.RedisAddr(t)
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawRedis issues commands directly, to check and prepare stored bytes.
type rawRedis struct {
	t testing.TB
	c rueidis.Client
}

func rawClient(t testing.TB) *rawRedis {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testenv.RedisAddr(t)}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &rawRedis{t: t, c: c}
}

func (r *rawRedis) do(args ...string) rueidis.RedisResult {
	r.t.Helper()
	res := r.c.Do(context.Background(), r.c.B().Arbitrary(args[0]).Args(args[1:]...).Build())
	if err := res.Error(); err != nil && !rueidis.IsRedisNil(err) {
		r.t.Fatalf("%s: %v", args[0], err)
	}
	return res
}

func (r *rawRedis) hgetall(key string) map[string]string {
	m, _ := r.do("HGETALL", key).AsStrMap()
	return m
}

// ttl is the key's remaining time to live; -1s without one.
func (r *rawRedis) ttl(key string) time.Duration {
	n, _ := r.do("TTL", key).AsInt64()
	return time.Duration(n) * time.Second
}

func (r *rawRedis) exists(key string) int64 {
	n, _ := r.do("EXISTS", key).AsInt64()
	return n
}

func TestConformance(t *testing.T) {
	onlinetest.Run(t, func(t *testing.T) online.Store { return openStore(t, config.RedisOnlineConfig{}) })
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFeastLayout reads the stored bytes with a raw client and compares them
// with Feast's layout for the worked example of feast-formats.md §3.1/§3.2.
func TestFeastLayout(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{})
	project := testenv.UniqueName("my_project")
	fv := onlinetest.View("driver_hourly_stats",
		model.Field{Name: "conv_rate", Type: model.Float},
		model.Field{Name: "avg_daily_trips", Type: model.Int64},
		model.Field{Name: "note", Type: model.String})
	t.Cleanup(func() { s.Teardown(ctx, project, []*model.FeatureView{fv}) })
	key := onlinetest.DriverKey(t, 1001)
	ts := time.Unix(1_700_000_000, 500).UTC()
	_, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"conv_rate", "avg_daily_trips", "note"},
		Rows: []online.Row{{EntityKey: key, EventTS: ts, Values: []*types.Value{
			{Val: &types.Value_FloatVal{FloatVal: 0.5}}, onlinetest.Int64(300), nil}}}})
	if err != nil {
		t.Fatal(err)
	}

	wantKey := append(mustHex(t, "01000000 02000000 09000000 6472697665725f6964 04000000 08000000 e903000000000000"), project...)
	got := rawClient(t).hgetall(string(wantKey))
	tsBytes, _ := proto.Marshal(timestamppb.New(ts))
	if want := mustHex(t, "08 80 e2 cf aa 06 10 f4 03"); !bytes.Equal(tsBytes, want) {
		t.Fatalf("timestamp reference bytes %x, want %x", tsBytes, want)
	}
	want := map[string]string{
		string(mustHex(t, "6160e3da")):                            string(mustHex(t, "35 0000003f")), // float_val 0.5
		string(online.RedisFieldHash(fv.Name, "avg_daily_trips")): string(mustHex(t, "20 ac02")),     // int64_val 300
		string(online.RedisFieldHash(fv.Name, "note")):            "",                                // null
		"_ts:driver_hourly_stats":                                 string(tsBytes),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hash %q\nwant %q", got, want)
	}
	if ttl := rawClient(t).ttl(string(wantKey)); ttl != -time.Second {
		t.Fatalf("ttl %v without key_ttl_seconds, want none", ttl)
	}
}

// TestReadsFeastWrittenData reads a hash written the way Feast's Python
// store writes it.
func TestReadsFeastWrittenData(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{})
	project := testenv.UniqueName("feast")
	fv := onlinetest.View(testenv.UniqueName("fv"), model.Field{Name: "a", Type: model.Double}, model.Field{Name: "b", Type: model.Double})
	t.Cleanup(func() { s.Teardown(ctx, project, []*model.FeatureView{fv}) })
	key := onlinetest.DriverKey(t, 5)
	ts := time.Unix(1_600_000_000, 123_000_000).UTC()
	tsBytes, _ := proto.Marshal(timestamppb.New(ts))
	val, _ := proto.Marshal(onlinetest.Float64(2.5))
	rawClient(t).do("HSET", string(Key(key, project)), string(online.RedisFieldHash(fv.Name, "a")), string(val), TimestampField(fv.Name), string(tsBytes))
	res, err := s.Read(ctx, []online.ReadRequest{{Project: project, View: fv, Features: []string{"b", "a"}, EntityKeys: [][]byte{key}}})
	if err != nil {
		t.Fatal(err)
	}
	if b := res[0][0][0]; b.Found {
		t.Fatalf("b = %+v, want not found", b)
	}
	if a := res[0][0][1]; !a.Found || a.Value.GetDoubleVal() != 2.5 || !a.EventTS.Equal(ts) {
		t.Fatalf("a = %+v, want 2.5 at %v", a, ts)
	}
	// The nanosecond timestamp is honoured when writing next.
	st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"a"},
		Rows: []online.Row{{EntityKey: key, EventTS: ts.Add(-time.Nanosecond), Values: []*types.Value{onlinetest.Float64(1)}}}})
	if err != nil || st.Skipped != 1 {
		t.Fatalf("write 1ns older: %+v %v, want skipped", st, err)
	}
	st, err = s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"a"},
		Rows: []online.Row{{EntityKey: key, EventTS: ts.Add(time.Nanosecond), Values: []*types.Value{onlinetest.Float64(1)}}}})
	if err != nil || st.Written != 1 {
		t.Fatalf("write 1ns newer: %+v %v, want written", st, err)
	}
}

func TestPreEpochTimestamps(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{})
	project, views := onlinetest.Setup(t, s, 1, "v")
	fv := views[0]
	key := onlinetest.DriverKey(t, 1)
	for _, step := range []struct {
		ts      time.Time
		written int
	}{
		{time.Unix(-100, 0), 1},
		{time.Unix(-101, 0), 0},
		{time.Unix(-100, 0), 0},
		{time.Unix(-100, 1), 1},
		{time.Unix(-99, 0), 1},
		{time.Unix(-1, 999_999_999), 1},
		{time.Unix(0, 0), 1},
		{time.Unix(-5, 0), 0},
	} {
		st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"v"},
			Rows: []online.Row{{EntityKey: key, EventTS: step.ts, Values: []*types.Value{onlinetest.Int64(1)}}}})
		if err != nil || st.Written != step.written {
			t.Fatalf("write at %v: %+v %v, want written=%d", step.ts.UTC(), st, err, step.written)
		}
	}
}

func TestKeyTTL(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{KeyTTLSeconds: 3600})
	project, views := onlinetest.Setup(t, s, 1, "v")
	key := onlinetest.DriverKey(t, 1)
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: views[0], Features: []string{"v"},
		Rows: []online.Row{{EntityKey: key, EventTS: time.Now(), Values: []*types.Value{onlinetest.Int64(1)}}}}); err != nil {
		t.Fatal(err)
	}
	ttl := rawClient(t).ttl(string(Key(key, project)))
	if ttl <= 3500*time.Second || ttl > 3600*time.Second {
		t.Fatalf("ttl %v, want about 1h", ttl)
	}
}

func TestSkipDedup(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{SkipDedup: true, KeyTTLSeconds: 60})
	project, views := onlinetest.Setup(t, s, 1, "v")
	fv := views[0]
	key := onlinetest.DriverKey(t, 1)
	base := time.Unix(1_700_000_000, 0).UTC()
	for i, ts := range []time.Time{base, base.Add(-time.Hour)} {
		st, err := s.Write(ctx, online.WriteBatch{Project: project, View: fv, Features: []string{"v"},
			Rows: []online.Row{{EntityKey: key, EventTS: ts, Values: []*types.Value{onlinetest.Int64(int64(i))}}}})
		if err != nil || st.Written != 1 {
			t.Fatalf("write %d: %+v %v", i, st, err)
		}
	}
	res, err := s.Read(ctx, []online.ReadRequest{{Project: project, View: fv, Features: []string{"v"}, EntityKeys: [][]byte{key}}})
	if err != nil {
		t.Fatal(err)
	}
	if v := res[0][0][0]; v.Value.GetInt64Val() != 1 || !v.EventTS.Equal(base.Add(-time.Hour)) {
		t.Fatalf("skip_dedup: got %+v, want the last write", v)
	}
	if ttl := rawClient(t).ttl(string(Key(key, project))); ttl <= 0 {
		t.Fatalf("ttl %v, want set", ttl)
	}
}

// TestScriptReload checks that writes survive SCRIPT FLUSH.
func TestScriptReload(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{})
	project, views := onlinetest.Setup(t, s, 1, "v")
	rawClient(t).do("SCRIPT", "FLUSH")
	var rows []online.Row
	for i := range 3 {
		rows = append(rows, online.Row{EntityKey: onlinetest.DriverKey(t, int64(i)), EventTS: time.Unix(100, 0), Values: []*types.Value{onlinetest.Int64(1)}})
	}
	st, err := s.Write(ctx, online.WriteBatch{Project: project, View: views[0], Features: []string{"v"}, Rows: rows})
	if err != nil || st.Written != 3 {
		t.Fatalf("write after SCRIPT FLUSH: %+v %v", st, err)
	}
}

// TestTeardownScopedToProject checks that teardown leaves projects whose
// names end with the torn-down project's name, keys with glob
// metacharacters, and other join keys alone.
func TestTeardownScopedToProject(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, config.RedisOnlineConfig{})
	project := testenv.UniqueName("p")
	longer := "x" + project
	fv := onlinetest.View(testenv.UniqueName("fv"), model.Field{Name: "v", Type: model.Int64})
	t.Cleanup(func() { s.Teardown(ctx, longer, []*model.FeatureView{fv}) })
	strKey := func(v string) []byte {
		b, err := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{{Val: &types.Value_StringVal{StringVal: v}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A view with a string key and the same name would share the prefix
	// only if join keys matched; these keys contain * ? [ ] \.
	keys := [][]byte{onlinetest.DriverKey(t, 1), strKey(`a*b?[c]\`)}
	for _, p := range []string{project, longer} {
		var rows []online.Row
		for _, k := range keys {
			rows = append(rows, online.Row{EntityKey: k, EventTS: time.Unix(100, 0), Values: []*types.Value{onlinetest.Int64(7)}})
		}
		if _, err := s.Write(ctx, online.WriteBatch{Project: p, View: fv, Features: []string{"v"}, Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Teardown(ctx, project, []*model.FeatureView{fv}); err != nil {
		t.Fatal(err)
	}
	raw := rawClient(t)
	for _, k := range keys {
		if n := raw.exists(string(Key(k, project))); n != 0 {
			t.Fatalf("key %x of the torn-down project still exists", k)
		}
		if n := raw.exists(string(Key(k, longer))); n != 1 {
			t.Fatalf("key %x of project %s was deleted", k, longer)
		}
	}
}

func TestParseConnectionString(t *testing.T) {
	good := []struct {
		in   string
		want ConnOptions
	}{
		{"", ConnOptions{Addrs: []string{"localhost:6379"}}},
		{"redis1:6380", ConnOptions{Addrs: []string{"redis1:6380"}}},
		{"a:1,b:2,password=s3cr=t,db=3,ssl=true,username=u", ConnOptions{Addrs: []string{"a:1", "b:2"}, Password: "s3cr=t", DB: 3, TLS: true, Username: "u"}},
		{"[::1]:7000, ssl=True, ssl_cert_reqs=none", ConnOptions{Addrs: []string{"[::1]:7000"}, TLS: true, InsecureSkipVerify: true}},
		{"host", ConnOptions{Addrs: []string{"host:6379"}}},
		{`h:1,password="quoted"`, ConnOptions{Addrs: []string{"h:1"}, Password: "quoted"}},
		{"h:1,socket_timeout=0.25,socket_connect_timeout=2", ConnOptions{Addrs: []string{"h:1"}, ReadTimeout: 250 * time.Millisecond, DialTimeout: 2 * time.Second}},
	}
	for _, tt := range good {
		got, err := ParseConnectionString(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%q = %+v, want %+v", tt.in, *got, tt.want)
		}
	}
	bad := map[string]string{
		"h:1,db=x":                       "db=",
		"h:1,ssl=maybe":                  "ssl=",
		"h:1,socket=3":                   "unsupported option",
		"password=x":                     "names no host",
		"h:port":                         "bad server",
		"h:1,db=-1":                      "db=",
		"h:1,socket_timeout=0":           "socket_timeout=",
		"h:1,socket_timeout=none":        "socket_timeout=",
		"h:1,socket_connect_timeout=-1":  "socket_connect_timeout=",
		"h:1,socket_connect_timeout=NaN": "socket_connect_timeout=",
	}
	for in, want := range bad {
		if _, err := ParseConnectionString(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want it to mention %q", in, err, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, config.RedisOnlineConfig{RedisType: "memcached"}); err == nil || !strings.Contains(err.Error(), "memcached") {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := Open(ctx, config.RedisOnlineConfig{RedisType: TypeSentinel}); err == nil {
		t.Fatal("sentinel without master: want error")
	}
}

func TestTimestampCodec(t *testing.T) {
	for _, ts := range []time.Time{time.Unix(0, 0), time.Unix(1_700_000_000, 999_999_999), time.Unix(-62135596800, 0), time.Unix(-1, 5)} {
		b := appendTimestamp(nil, ts)
		want, _ := proto.Marshal(timestamppb.New(ts))
		if !bytes.Equal(b, want) {
			t.Fatalf("%v: %x, want %x", ts, b, want)
		}
		got, err := parseTimestamp(b)
		if err != nil || !got.Equal(ts) {
			t.Fatalf("%v: parsed %v %v", ts, got, err)
		}
	}
	if _, err := parseTimestamp([]byte{0x08}); err == nil {
		t.Fatal("truncated timestamp: want error")
	}
}

func TestGlobEscape(t *testing.T) {
	if got, want := globEscape([]byte("a*b?c[d]e\\f\x00")), `a\*b\?c\[d\]e\\f`+"\x00"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
