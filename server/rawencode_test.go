package server

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/online"
	redisstore "github.com/feastgo/feast/online/redis"
	"github.com/feastgo/feast/proto/feast/types"

	st "github.com/feastgo/feast/server/servingtest"
)

// rawDefinitions has a view with every scalar kind the raw path renders
// (and a list, which it renders through a decoded Value), a view without
// ttl under a string join key, and a feature service with an alias and a
// join-key map.
const rawDefinitions = `entities:
  - name: driver
    join_keys: [driver_id]
    value_type: INT64
  - name: customer
    join_keys: [customer_id]
    value_type: STRING
data_sources:
  - name: src
    type: file
    path: data/src.parquet
    timestamp_field: event_timestamp
feature_views:
  - name: kinds
    entities: [driver]
    ttl: 1h
    source: src
    online: true
    schema:
      - {name: i32, dtype: Int32}
      - {name: i64, dtype: Int64}
      - {name: f32, dtype: Float32}
      - {name: f64, dtype: Float64}
      - {name: flag, dtype: Bool}
      - {name: str, dtype: String}
      - {name: blob, dtype: Bytes}
      - {name: ts, dtype: UnixTimestamp}
      - {name: list, dtype: Array(Int64)}
  - name: profile
    entities: [customer]
    ttl: 0s
    source: src
    online: true
    schema:
      - {name: tier, dtype: String}
      - {name: score, dtype: Float64}
feature_services:
  - name: svc
    features:
      - {view: kinds, features: [f64, str, i64], alias: k}
      - {view: profile, features: [tier], join_key_map: {customer_id: rider_id}}
`

var kindFeatures = []string{"i32", "i64", "f32", "f64", "flag", "str", "blob", "ts", "list"}

// rawStores are the online stores with a raw read path (online.RawReader).
var rawStores = []struct {
	name   string
	online func(testing.TB) st.Online
}{
	{"redis", st.Redis},
	{"sqlite", func(testing.TB) st.Online { return st.SQLite() }},
}

func newRawFixture(t *testing.T, o st.Online) (*st.Fixture, *Server) {
	t.Helper()
	f := st.NewRepo(t, t.TempDir(), strings.ReplaceAll(testenv.UniqueName("rawjson"), "-", "_"), o.Section(), rawDefinitions, o.Shared())
	return f, newServer(t, f, Options{NoAccessLog: true})
}

// forRawStores runs test on each store of rawStores.
func forRawStores(t *testing.T, test func(t *testing.T, o st.Online)) {
	for _, store := range rawStores {
		t.Run(store.name, func(t *testing.T) { test(t, store.online(t)) })
	}
}

// serveBoth serves body through the raw path and through plan.Read with
// appendOnlineResponse, and fails unless both give the same bytes (or the
// same error). wantRaw requires the raw path to serve the request.
func serveBoth(t *testing.T, s *Server, body string, wantRaw bool) string {
	t.Helper()
	ctx := context.Background()
	plan, req, err := s.onlineRequest(ctx, []byte(body))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	raw, ok, rerr := s.serveRaw(ctx, plan, req, []byte("prefix"))
	resp, derr := s.read(ctx, plan, req)
	if rerr != nil {
		if derr == nil || rerr.Error() != derr.Error() {
			t.Fatalf("%s:\nraw error %v\nRead error %v", body, rerr, derr)
		}
		return ""
	}
	if ok != wantRaw {
		t.Fatalf("%s: served by the raw path: %v, want %v", body, ok, wantRaw)
	}
	if !ok {
		if string(raw) != "prefix" {
			t.Fatalf("%s: a request left to Read kept raw output %q", body, raw)
		}
		return ""
	}
	if derr != nil {
		t.Fatalf("%s: raw path served, Read failed: %v", body, derr)
	}
	want := string(appendOnlineResponse([]byte("prefix"), resp))
	if string(raw) != want {
		t.Fatalf("%s:\nraw  %s\nRead %s", body, raw, want)
	}
	// And through the handler, which takes the raw path.
	code, got := do(t, s.Handler(), "POST", "/get-online-features", body)
	if code != 200 || got != want[len("prefix"):] {
		t.Fatalf("%s: handler %d %s, want %s", body, code, got, want[len("prefix"):])
	}
	return want[len("prefix"):]
}

func rawBody(features []string, service string, full bool, cols ...string) string {
	var b strings.Builder
	b.WriteString("{")
	if service != "" {
		b.WriteString(`"feature_service":` + strconv.Quote(service))
	} else {
		b.WriteString(`"features":[`)
		for i, f := range features {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(f))
		}
		b.WriteString("]")
	}
	b.WriteString(`,"entities":{`)
	for i := 0; i+1 < len(cols); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(cols[i]) + ":[" + cols[i+1] + "]")
	}
	b.WriteString("}")
	if full {
		b.WriteString(`,"full_feature_names":true`)
	}
	b.WriteString("}")
	return b.String()
}

func refs(view string, fs ...string) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = view + ":" + f
	}
	return out
}

func i32(n int32) *types.Value   { return st.I32(n) }
func i64(n int64) *types.Value   { return st.I64(n) }
func f32(f float32) *types.Value { return st.F32(f) }
func f64(f float64) *types.Value { return st.F64(f) }
func str(s string) *types.Value  { return st.Str(s) }
func boolv(b bool) *types.Value  { return &types.Value{Val: &types.Value_BoolVal{BoolVal: b}} }
func blob(b []byte) *types.Value { return &types.Value{Val: &types.Value_BytesVal{BytesVal: b}} }
func unix(n int64) *types.Value {
	return &types.Value{Val: &types.Value_UnixTimestampVal{UnixTimestampVal: n}}
}
func list(xs ...int64) *types.Value {
	return &types.Value{Val: &types.Value_Int64ListVal{Int64ListVal: &types.Int64List{Val: xs}}}
}

// TestRawJSONLikeRead serves the edges of every kind, nulls, absent
// entities, expired rows, several views, duplicated rows, full feature
// names and a feature service through both paths.
func TestRawJSONLikeRead(t *testing.T) { forRawStores(t, testRawJSONLikeRead) }

func testRawJSONLikeRead(t *testing.T, o st.Online) {
	f, s := newRawFixture(t, o)
	negZero := math.Copysign(0, -1)
	f.Write(t, "kinds", kindFeatures,
		st.Row{Key: i64(1), Values: []*types.Value{i32(math.MinInt32), i64(math.MinInt64), f32(float32(math.NaN())), f64(math.Inf(1)), boolv(true), str("a\"b\\c\n\t\u2028é\x01"), blob([]byte{0, 0xff, 1}), unix(-1), list(1, -2)}, Age: time.Minute},
		st.Row{Key: i64(2), Values: []*types.Value{i32(math.MaxInt32), i64(math.MaxInt64), f32(float32(math.Inf(-1))), f64(negZero), boolv(false), str(""), blob(nil), unix(1 << 40), list()}, Age: 2 * time.Hour},
		st.Row{Key: i64(3), Values: []*types.Value{{}, nil, f32(0.1), f64(1e16), {}, nil, {}, nil, {}}, Age: 30*time.Minute + 500*time.Millisecond},
		st.Row{Key: i64(4), Values: []*types.Value{i32(0), i64(-1), f32(1e-5), f64(0.1 + 0.2), boolv(true), str("日本"), blob([]byte("x")), unix(0), list(math.MaxInt64)}, Age: time.Hour + time.Nanosecond},
		st.Row{Key: i64(7), Values: []*types.Value{i32(1), i64(7), f32(1), f64(1), boolv(true), str("ttl"), blob(nil), unix(7), list(7)}, Age: time.Hour}, // exactly the ttl: PRESENT
		st.Row{Key: i64(5), Values: []*types.Value{i32(7), i64(1 << 53), f32(3.4028235e38), f64(5e-324), boolv(false), str("x"), blob([]byte{}), unix(1_700_000_000), nil}, Age: 1500 * time.Microsecond},
	)
	f.Write(t, "profile", []string{"tier", "score"},
		st.Row{Key: str("c1"), Values: []*types.Value{str("gold"), f64(math.NaN())}, Age: 48 * time.Hour},
		st.Row{Key: str("c2"), Values: []*types.Value{nil, f64(-1.5)}, Age: 1},
	)
	drivers := "1,2,3,4,5,6,1,4,7"
	customers := `"c1","c2","c3","c1","c2","c3","c1","c2","c1"`
	all := append(refs("kinds", kindFeatures...), refs("profile", "tier", "score")...)
	for _, c := range []struct {
		name string
		body string
	}{
		{"one view", rawBody(refs("kinds", kindFeatures...), "", false, "driver_id", drivers)},
		{"two views", rawBody(all, "", false, "driver_id", drivers, "customer_id", customers)},
		{"full names", rawBody(all, "", true, "driver_id", drivers, "customer_id", customers)},
		{"reordered", rawBody([]string{"profile:score", "kinds:ts", "kinds:i32", "profile:tier"}, "", false, "customer_id", customers, "driver_id", drivers)},
		{"optional key echoed", rawBody(refs("kinds", "f64"), "", false, "driver_id", "1,9", "customer_id", `"c1","zz"`)},
		{"one entity", rawBody(refs("kinds", "str"), "", false, "driver_id", "3")},
		{"all absent", rawBody(refs("kinds", "f32", "i64"), "", false, "driver_id", "100,101")},
		{"service", rawBody(nil, "svc", false, "driver_id", drivers, "rider_id", customers)},
		{"service full names", rawBody(nil, "svc", true, "driver_id", drivers, "rider_id", customers)},
	} {
		t.Run(c.name, func(t *testing.T) { serveBoth(t, s, c.body, true) })
	}
	// Statuses, spelled out once for driver 1..4 and the absent 6 (on
	// Redis: SQLite keeps whole seconds, so driver 7 at exactly the ttl is
	// past it there, on both paths).
	got := serveBoth(t, s, rawBody(refs("kinds", "i64"), "", false, "driver_id", "1,2,3,4,6,7"), true)
	if o.RedisAddr != "" && !strings.Contains(got, `"values":[-9223372036854775808,9223372036854775807,null,-1,null,7],"statuses":["PRESENT","OUTSIDE_MAX_AGE","NULL_VALUE","OUTSIDE_MAX_AGE","NOT_FOUND","PRESENT"]`) {
		t.Fatalf("statuses of drivers 1, 2, 3, 4, 6, 7: %s", got)
	}
	// On-demand views and empty requests stay on the decoding path.
	serveBoth(t, s, rawBody(refs("kinds", "f64"), "", false, "driver_id", ""), false)
}

// TestRawJSONStoredEncodings stores values the raw decoder leaves to
// online.UnmarshalValue (non-minimal varints, null_val, unknown fields,
// two fields) by hand: the raw path renders them through a decoded Value,
// with the statuses Read gives. A value that does not decode at all makes
// the raw path step aside and Read report the error.
func TestRawJSONStoredEncodings(t *testing.T) {
	f, s := newRawFixture(t, st.Redis(t))
	f.Write(t, "kinds", kindFeatures,
		st.Row{Key: i64(1), Values: []*types.Value{i32(1), i64(1), f32(1), f64(1), boolv(true), str("s"), blob([]byte("b")), unix(1), list(1)}, Age: time.Minute},
	)
	ctx := context.Background()
	store, err := f.Store.OnlineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := store.(online.RawReader); !ok {
		t.Fatalf("the Redis store %T is not an online.RawReader", store)
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testenv.RedisAddr(t)}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fv, err := f.Store.FeatureView(ctx, "kinds")
	if err != nil {
		t.Fatal(err)
	}
	ek, err := online.SerializeEntityKey(fv.JoinKeys(), []*types.Value{i64(1)})
	if err != nil {
		t.Fatal(err)
	}
	key := string(redisstore.Key(ek, f.Project))
	set := func(feature string, b []byte) {
		t.Helper()
		if err := c.Do(ctx, c.B().Hset().Key(key).FieldValue().FieldValue(string(online.RedisFieldHash("kinds", feature)), string(b)).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	set("i64", []byte{4 << 3, 0x85, 0x80, 0x00})    // non-minimal varint: 5
	set("i32", []byte{0x98, 0x01, 0})               // null_val (field 19): NULL_VALUE
	set("f64", []byte{0xc0, 0x3e, 1})               // only an unknown field (1000): null
	set("str", []byte{4 << 3, 1, 2<<3 | 2, 1, 'z'}) // two fields: the string
	set("flag", []byte{7<<3 | 0x80, 0x00, 1})       // two-byte tag: true
	body := rawBody(refs("kinds", kindFeatures...), "", false, "driver_id", "1,2,1")
	got := serveBoth(t, s, body, true)
	for _, want := range []string{`"values":[5,null,5]`, `"values":[null,null,null],"statuses":["NULL_VALUE","NOT_FOUND","NULL_VALUE"]`, `"values":["z",null,"z"]`, `"values":[true,null,true]`} {
		if !strings.Contains(got, want) {
			t.Fatalf("response lacks %s: %s", want, got)
		}
	}
	set("f32", []byte{6<<3 | 5, 0, 0}) // truncated: does not decode
	serveBoth(t, s, body, false)
	if code, out := do(t, s.Handler(), "POST", "/get-online-features", body); code != 500 || !strings.Contains(out, "decode f32") {
		t.Fatalf("undecodable value: %d %s, want Read's decode error", code, out)
	}
}

// TestRawJSONRandom writes random values of every kind (with random nulls,
// absences and ages) and serves random selections through both paths.
func TestRawJSONRandom(t *testing.T) { forRawStores(t, testRawJSONRandom) }

func testRawJSONRandom(t *testing.T, o st.Online) {
	f, s := newRawFixture(t, o)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	floats := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1e-4, 1e-5, 1e15, 1e16, 0.1, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, -2.5}
	randFloat := func() float64 {
		if rng.Intn(2) == 0 {
			return floats[rng.Intn(len(floats))]
		}
		return math.Float64frombits(rng.Uint64())
	}
	randInt := func() int64 {
		switch rng.Intn(3) {
		case 0:
			return int64(rng.Uint64())
		case 1:
			return rng.Int63n(2000) - 1000
		}
		return []int64{math.MinInt64, math.MaxInt64, 0, -1, math.MinInt32, math.MaxInt32}[rng.Intn(6)]
	}
	randStr := func() string {
		runes := []rune{'a', 'é', '"', '\\', '\n', '\x00', '\u2028', '日', '<', '&', 0x1F600}
		var b strings.Builder
		for range rng.Intn(6) {
			b.WriteRune(runes[rng.Intn(len(runes))])
		}
		return b.String()
	}
	gen := []func() *types.Value{
		func() *types.Value { return i32(int32(randInt())) },
		func() *types.Value { return i64(randInt()) },
		func() *types.Value { return f32(float32(randFloat())) },
		func() *types.Value { return f64(randFloat()) },
		func() *types.Value { return boolv(rng.Intn(2) == 0) },
		func() *types.Value { return str(randStr()) },
		func() *types.Value { return blob([]byte(randStr())) },
		func() *types.Value { return unix(randInt()) },
		func() *types.Value { return list(randInt(), randInt()) },
	}
	const nDrivers = 40
	for round := 0; round < 3; round++ {
		var rows []st.Row
		for d := range nDrivers {
			if rng.Intn(6) == 0 {
				continue // absent (or left from the last round)
			}
			vals := make([]*types.Value, len(kindFeatures))
			for i := range vals {
				if rng.Intn(8) > 0 {
					vals[i] = gen[i]()
				}
			}
			age := time.Duration(rng.Int63n(int64(2 * time.Hour)))
			// Every round writes its own drivers: a stored row is only
			// replaced by a newer one.
			rows = append(rows, st.Row{Key: i64(int64(round*1000 + d)), Values: vals, Age: age})
		}
		f.Write(t, "kinds", kindFeatures, rows...)
		custs := make([]string, 0, 10)
		var prows []st.Row
		for c := range 10 {
			custs = append(custs, strconv.Quote(fmt.Sprintf("c%d", c)))
			if rng.Intn(3) > 0 {
				prows = append(prows, st.Row{Key: str(fmt.Sprintf("c%d", c)), Values: []*types.Value{str(randStr()), f64(randFloat())}, Age: -time.Duration(round) * time.Hour}) // newer each round
			}
		}
		f.Write(t, "profile", []string{"tier", "score"}, prows...)
		for range 20 {
			n := 1 + rng.Intn(60)
			var ds, cs []string
			for range n {
				ds = append(ds, strconv.Itoa(round*1000+rng.Intn(nDrivers+5)))
				cs = append(cs, custs[rng.Intn(len(custs))])
			}
			var feats []string
			for _, i := range rng.Perm(len(kindFeatures))[:1+rng.Intn(len(kindFeatures))] {
				feats = append(feats, "kinds:"+kindFeatures[i])
			}
			cols := []string{"driver_id", strings.Join(ds, ",")}
			if rng.Intn(2) == 0 {
				feats = append(feats, "profile:tier", "profile:score")
				cols = append(cols, "customer_id", strings.Join(cs, ","))
			}
			serveBoth(t, s, rawBody(feats, "", rng.Intn(2) == 0, cols...), true)
		}
	}
}
