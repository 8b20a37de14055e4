package feast_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/registry"
	st "github.com/feastgo/feast/server/servingtest"
	"github.com/feastgo/feast/values"
)

// renderOnline prints a response one column per line: name, then per row
// value, status and event time ("-" for the zero time).
func renderOnline(r *feast.OnlineResponse) string {
	var sb strings.Builder
	for i, name := range r.FeatureNames {
		fmt.Fprintf(&sb, "%s:", name)
		res := r.Results[i]
		for j, v := range res.Values {
			ts := "-"
			if !res.EventTimestamps[j].IsZero() {
				ts = res.EventTimestamps[j].UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(&sb, " %v/%s/%s", values.ToGo(v), res.Statuses[j], ts)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func ints(xs ...int64) []*types.Value {
	out := make([]*types.Value, len(xs))
	for i, x := range xs {
		out[i] = st.I64(x)
	}
	return out
}

func onlineCases(t *testing.T, o st.Online) {
	f := st.New(t, o)
	ctx := context.Background()
	get := func(t *testing.T, req feast.OnlineRequest) string {
		t.Helper()
		resp, err := f.Store.GetOnlineFeatures(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return renderOnline(resp)
	}
	check := func(t *testing.T, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
	}

	t.Run("statuses", func(t *testing.T) {
		got := get(t, feast.OnlineRequest{
			Features: []string{"driver_stats:conv_rate", "driver_stats:acc_rate", "driver_stats:name"},
			Entities: map[string][]*types.Value{"driver_id": ints(1001, 1002, 1003, 1004)},
		})
		check(t, got, `driver_id: 1001/PRESENT/- 1002/PRESENT/- 1003/PRESENT/- 1004/PRESENT/-
conv_rate: 0.5/PRESENT/2024-05-01T11:50:00Z 0.25/OUTSIDE_MAX_AGE/2024-05-01T10:00:00Z <nil>/NOT_FOUND/- 0.125/PRESENT/2024-05-01T11:55:00Z
acc_rate: 0.75/PRESENT/2024-05-01T11:50:00Z 0.1/OUTSIDE_MAX_AGE/2024-05-01T10:00:00Z <nil>/NOT_FOUND/- <nil>/NULL_VALUE/2024-05-01T11:55:00Z
name: alice/PRESENT/2024-05-01T11:50:00Z bob/OUTSIDE_MAX_AGE/2024-05-01T10:00:00Z <nil>/NOT_FOUND/- <nil>/NULL_VALUE/2024-05-01T11:55:00Z
`)
	})

	t.Run("two views full names and no ttl", func(t *testing.T) {
		got := get(t, feast.OnlineRequest{
			Features:         []string{"customer_profile:tier", "driver_stats:trips", "customer_profile:age"},
			Entities:         map[string][]*types.Value{"driver_id": ints(1001, 1003), "customer_id": {st.Str("c1"), st.Str("c2")}},
			FullFeatureNames: true,
		})
		check(t, got, `customer_id: c1/PRESENT/- c2/PRESENT/-
driver_id: 1001/PRESENT/- 1003/PRESENT/-
customer_profile__tier: gold/PRESENT/2024-04-29T12:00:00Z <nil>/NOT_FOUND/-
driver_stats__trips: 10/PRESENT/2024-05-01T11:50:00Z <nil>/NOT_FOUND/-
customer_profile__age: 30/PRESENT/2024-04-29T12:00:00Z <nil>/NOT_FOUND/-
`)
	})

	t.Run("int32 entity values are widened to the declared INT64", func(t *testing.T) {
		got := get(t, feast.OnlineRequest{
			Features: []string{"driver_stats:trips"},
			Entities: map[string][]*types.Value{"driver_id": {st.I32(1001)}},
		})
		check(t, got, "driver_id: 1001/PRESENT/-\ntrips: 10/PRESENT/2024-05-01T11:50:00Z\n")
	})

	t.Run("feature service with alias, join key map and on demand feature", func(t *testing.T) {
		got := get(t, feast.OnlineRequest{
			FeatureService:   "driver_service",
			Entities:         map[string][]*types.Value{"driver_id": ints(1001, 1004), "rider_id": {st.Str("c1"), st.Str("c9")}},
			RequestContext:   map[string][]*types.Value{"val_to_add": ints(2, 3)},
			FullFeatureNames: true,
		})
		check(t, got, `driver_id: 1001/PRESENT/- 1004/PRESENT/-
rider_id: c1/PRESENT/- c9/PRESENT/-
ds__conv_rate: 0.5/PRESENT/2024-05-01T11:50:00Z 0.125/PRESENT/2024-05-01T11:55:00Z
ds__trips: 10/PRESENT/2024-05-01T11:50:00Z 30/PRESENT/2024-05-01T11:55:00Z
customer_profile__tier: gold/PRESENT/2024-04-29T12:00:00Z <nil>/NOT_FOUND/-
conv_plus__conv_plus_val: 2.5/PRESENT/- 3.125/PRESENT/-
`)
	})

	t.Run("on demand feature of a missing entity is null", func(t *testing.T) {
		got := get(t, feast.OnlineRequest{
			Features: []string{"conv_plus:conv_plus_val", "conv_plus:trips_x2"},
			Entities: map[string][]*types.Value{"driver_id": ints(1002, 1003), "val_to_add": ints(1, 1)},
		})
		check(t, got, `driver_id: 1002/PRESENT/- 1003/PRESENT/-
conv_plus_val: 1.25/PRESENT/- <nil>/NULL_VALUE/-
trips_x2: 40/PRESENT/- <nil>/NULL_VALUE/-
`)
	})

	t.Run("entity rows and ToMap", func(t *testing.T) {
		resp, err := f.Store.GetOnlineFeatures(ctx, feast.OnlineRequest{
			Features:   []string{"driver_stats:trips", "conv_plus:conv_plus_val"},
			EntityRows: []map[string]any{{"driver_id": 1001, "val_to_add": 1}, {"driver_id": int64(1003), "val_to_add": 2}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]any{
			"driver_id":     {int64(1001), int64(1003)},
			"trips":         {int64(10), nil},
			"conv_plus_val": {1.5, nil},
		}
		if got := resp.ToMap(); !reflect.DeepEqual(got, want) {
			t.Errorf("ToMap = %#v, want %#v", got, want)
		}
	})
}

func TestGetOnlineFeaturesSQLite(t *testing.T) { onlineCases(t, st.SQLite()) }

func TestGetOnlineFeaturesRedis(t *testing.T) { onlineCases(t, st.Redis(t)) }

func TestGetOnlineFeaturesErrors(t *testing.T) {
	f := st.New(t, st.SQLite())
	ctx := context.Background()
	cases := []struct {
		name     string
		req      feast.OnlineRequest
		notFound bool
		want     string
	}{
		{"unknown feature", feast.OnlineRequest{Features: []string{"driver_stats:conv_rat"}, Entities: map[string][]*types.Value{"driver_id": ints(1)}},
			true, `feature "driver_stats:conv_rat" not found in project "serving" (did you mean "driver_stats:conv_rate"`},
		{"unknown view", feast.OnlineRequest{Features: []string{"driver_stat:conv_rate"}, Entities: map[string][]*types.Value{"driver_id": ints(1)}},
			true, `feature view "driver_stat" not found in project "serving" (did you mean "driver_stats"`},
		{"unknown service", feast.OnlineRequest{FeatureService: "driver_servic", Entities: map[string][]*types.Value{"driver_id": ints(1)}},
			true, `feature service "driver_servic" not found in project "serving" (did you mean "driver_service"`},
		{"bad reference", feast.OnlineRequest{Features: []string{"conv_rate"}}, false, `feature reference "conv_rate" must be view:feature`},
		{"nothing requested", feast.OnlineRequest{}, false, "no features requested"},
		{"both", feast.OnlineRequest{Features: []string{"driver_stats:trips"}, FeatureService: "all_driver"}, false, "not both"},
		{"missing join key", feast.OnlineRequest{Features: []string{"driver_stats:trips"}, Entities: map[string][]*types.Value{"driver": ints(1)}},
			false, `unknown entity column "driver": the requested features need join keys "driver_id"`},
		{"missing join key only", feast.OnlineRequest{Features: []string{"driver_stats:trips", "customer_profile:age"}, Entities: map[string][]*types.Value{"driver_id": ints(1)}},
			false, `missing join key "customer_id"`},
		{"row counts differ", feast.OnlineRequest{Features: []string{"driver_stats:trips", "customer_profile:age"},
			Entities: map[string][]*types.Value{"driver_id": ints(1, 2), "customer_id": {st.Str("c1")}}},
			false, `entity column "driver_id" has 2 values but "customer_id" has 1`},
		{"wrong entity type", feast.OnlineRequest{Features: []string{"driver_stats:trips"}, Entities: map[string][]*types.Value{"driver_id": {st.I64(1), st.Str("1001")}}},
			false, `entity column "driver_id" row 1: type mismatch: expected INT64, got STRING`},
		{"missing request field", feast.OnlineRequest{Features: []string{"conv_plus:conv_plus_val"}, Entities: map[string][]*types.Value{"driver_id": ints(1)}},
			false, `missing request field "val_to_add"`},
		{"duplicate output name", feast.OnlineRequest{Features: []string{"driver_stats:trips", "driver_stats:trips"}, Entities: map[string][]*types.Value{"driver_id": ints(1)}},
			false, `feature "driver_stats:trips" is requested twice`},
		{"entity rows with unknown column", feast.OnlineRequest{Features: []string{"driver_stats:trips"}, EntityRows: []map[string]any{{"driver_id": 1, "x": 2}}},
			false, `entity row 0: unknown column "x"`},
		{"extra join key in some entity rows only", feast.OnlineRequest{Features: []string{"driver_stats:trips"},
			EntityRows: []map[string]any{{"driver_id": 1, "customer_id": "c1"}, {"driver_id": 2}}},
			false, `entity row 1: missing join key "customer_id"`},
		{"entity rows with a wrong type", feast.OnlineRequest{Features: []string{"driver_stats:trips"}, EntityRows: []map[string]any{{"driver_id": "a"}}},
			false, `entity row 0 column "driver_id": expected INT64`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.Store.GetOnlineFeatures(ctx, c.req)
			if err == nil {
				t.Fatal("no error")
			}
			var nf *registry.NotFoundError
			if got := errors.As(err, &nf); got != c.notFound {
				t.Errorf("NotFoundError = %v for %v", got, err)
			}
			if !c.notFound && !errors.Is(err, feast.ErrInvalidRequest) {
				t.Errorf("not ErrInvalidRequest: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestResolveOnlineCachesPerSnapshot(t *testing.T) {
	f := st.New(t, st.SQLite())
	ctx := context.Background()
	snap, err := f.Store.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	feats := []string{"driver_stats:trips", "conv_plus:conv_plus_val"}
	p1, err := f.Store.ResolveOnline(snap, feats, "", false)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := f.Store.ResolveOnline(snap, feats, "", false)
	if p1 != p2 {
		t.Error("same selection on the same snapshot resolved twice")
	}
	if p3, _ := f.Store.ResolveOnline(snap, feats, "", true); p3 == p1 {
		t.Error("full feature names share the short-name plan")
	}
	if got := p1.JoinKeys(); !reflect.DeepEqual(got, []string{"driver_id"}) {
		t.Errorf("JoinKeys = %v", got)
	}
	if vt, isKey, ok := p1.ColumnType("val_to_add"); !ok || isKey || vt != types.ValueType_INT64 {
		t.Errorf("ColumnType(val_to_add) = %v %v %v", vt, isKey, ok)
	}
	snap2, err := f.Store.Registry().Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p4, _ := f.Store.ResolveOnline(snap2, feats, "", false)
	if p4 == p1 || p4.Snapshot() != snap2 {
		t.Error("a new snapshot reused the old plan")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.Store.ResolveOnline(snap2, feats, "", false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("cached resolution allocates %v times", allocs)
	}
}
