package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"

	st "github.com/feastgo/feast/server/servingtest"
)

// BenchmarkOnlineHandler measures the /get-online-features handler alone
// (no network between client and server) against the real Redis.
func BenchmarkOnlineHandler(b *testing.B) {
	f := st.New(b, st.Redis(b))
	h := newServer(b, f, Options{NoAccessLog: true}).Handler()
	for _, c := range []struct{ name, body string }{
		{"1entity", `{"features":["driver_stats:conv_rate","driver_stats:acc_rate","driver_stats:trips","driver_stats:name"],"entities":{"driver_id":[1001]}}`},
		{"100entities", `{"features":["driver_stats:conv_rate","driver_stats:acc_rate","driver_stats:trips","driver_stats:name"],"entities":{"driver_id":[` + strings.Repeat("1001,", 99) + `1002]}}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/get-online-features", strings.NewReader(c.body))
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatal(rec.Code, rec.Body.String())
					}
				}
			})
		})
	}
}

// BenchmarkPushHTTP measures POST /push into the real Redis in batches of
// 1, 100 and 10,000 rows (each iteration pushes newer rows, so every row
// is written). Building the JSON body is included; it is small next to
// decoding, validating and writing it.
func BenchmarkPushHTTP(b *testing.B) {
	addr := testenv.RedisAddr(b)
	project := strings.ReplaceAll(testenv.UniqueName("pushbench"), "-", "_")
	s, _ := pushServerWith(b, project, "online_store:\n  type: redis\n  connection_string: \""+addr+"\"\n", Options{NoAccessLog: true})
	b.Cleanup(func() { s.fs.Teardown(context.Background()) })
	h := s.Handler()
	// seq advances across every run of every sub-benchmark, so each push is
	// newer than everything before it.
	t0, seq := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), 0
	for _, size := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
			var ids, rates, trips strings.Builder
			for i := range size {
				if i > 0 {
					ids.WriteByte(',')
					rates.WriteByte(',')
					trips.WriteByte(',')
				}
				fmt.Fprintf(&ids, "%d", i)
				fmt.Fprintf(&rates, "%g", float64(i)/float64(size))
				fmt.Fprintf(&trips, "%d", i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				seq++
				ts := `"` + t0.Add(time.Duration(seq)*time.Second).Format(time.RFC3339) + `"`
				tss := strings.Repeat(ts+",", size-1) + ts
				body := `{"push_source_name":"stats_push","df":{"driver_id":[` + ids.String() + `],"event_timestamp":[` + tss +
					`],"conv_rate":[` + rates.String() + `],"trips":[` + trips.String() + `]}}`
				req := httptest.NewRequest("POST", "/push", strings.NewReader(body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkOnlineAuthz measures what authentication and permission checks
// add to a /get-online-features request: the same request on the same
// SQLite store without auth, with a cached token and no permissions, and
// with a cached token and the team permissions (a cached decision).
func BenchmarkOnlineAuthz(b *testing.B) {
	f := st.NewRepo(b, b.TempDir(), "teams", st.SQLite().Section(), teamDefs, false)
	body := `{"features":["team_a_stats:conv_rate"],"entities":{"driver_id":[1]}}`
	for _, c := range []struct {
		name  string
		opts  Options
		perms bool
	}{
		{"no_auth", Options{}, false},
		{"token_no_permissions", Options{Authenticator: matrixUsers, EnforcePermissions: true}, false},
		{"token_permissions", Options{Authenticator: matrixUsers, EnforcePermissions: true}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.opts.NoAccessLog = true
			s := newServer(b, f, c.opts)
			var perms []*model.Permission
			if c.perms {
				perms = teamPermissions
			}
			setPermissionsTB(b, f, perms)
			h := s.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("POST", "/get-online-features", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer alice")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}

// BenchmarkAccessHotPath measures what the serving path pays per request
// for authentication and authorization once warm: a verified-token cache
// hit, the user in the context, and a cached permission decision.
func BenchmarkAccessHotPath(b *testing.B) {
	f := st.NewRepo(b, b.TempDir(), "teams", st.SQLite().Section(), teamDefs, false)
	s := newServer(b, f, Options{Authenticator: matrixUsers, EnforcePermissions: true, NoAccessLog: true})
	setPermissionsTB(b, f, teamPermissions)
	ctx := context.Background()
	snap, err := s.snapshot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := s.fs.ResolveOnline(snap, []string{"team_a_stats:conv_rate"}, "", false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u, err := s.access.authenticate(ctx, "Bearer alice")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.access.check(auth.WithUser(ctx, u), snap, plan, plan.AccessResources(), model.ActionReadOnline); err != nil {
			b.Fatal(err)
		}
	}
}

// fakeRaw is an online.RawReader over fixed bytes: every entity of every
// request holds the same stored values (one per feature, cycled from
// vals) and event time, so BenchmarkRawEncode measures the plan's cells
// and the JSON without a store.
type fakeRaw struct {
	online.Reader
	vals [][]byte
	ts   time.Time
}

func (f fakeRaw) ReadRaw(_ context.Context, reqs []online.ReadRequest, visit func(online.RawResult) error) error {
	return visit(fakeResult(f))
}

type fakeResult fakeRaw

func (f fakeResult) Value(r, e, i int) ([]byte, bool, error) { return f.vals[i%len(f.vals)], true, nil }
func (f fakeResult) EventTS(r, e, i int) time.Time           { return f.ts }

// BenchmarkRawEncode measures OnlinePlan.ReadRaw's cells and the JSON of
// appendRawOnlineResponse for 100 entities × 4 features (two floats, an
// int64 and a string) from stored bytes, without a store or a network.
func BenchmarkRawEncode(b *testing.B) {
	f := st.New(b, st.SQLite())
	ctx := context.Background()
	snap, err := f.Store.Snapshot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	features := []string{"driver_stats:conv_rate", "driver_stats:acc_rate", "driver_stats:trips", "driver_stats:name"}
	plan, err := f.Store.ResolveOnline(snap, features, "", false)
	if err != nil {
		b.Fatal(err)
	}
	enc := func(v *types.Value) []byte {
		out, err := proto.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	now := time.Now()
	reader := fakeRaw{ts: now.Add(-time.Minute), vals: [][]byte{
		enc(st.F32(0.734529)), enc(st.F32(12.5e-3)), enc(st.I64(1234567)), enc(st.Str("driver name")),
	}}
	ids := make([]*types.Value, 100)
	for i := range ids {
		ids[i] = st.I64(int64(1000 + i))
	}
	req := feast.OnlineRequest{Features: features, Entities: map[string][]*types.Value{"driver_id": ids}}
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		served, err := plan.ReadRaw(ctx, reader, req, now, func(r *feast.RawResponse) error {
			out, err = appendRawOnlineResponse(out[:0], r)
			return err
		})
		if err != nil || !served {
			b.Fatal(served, err)
		}
	}
	b.SetBytes(int64(len(out)))
}
