// Package servingtest builds the feature repository the online serving
// tests and benchmarks run against: definitions applied to a file registry
// and rows written into a real online store (SQLite or Redis), with a fixed
// clock so statuses such as OUTSIDE_MAX_AGE are deterministic.
package servingtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
)

// Now is the fixture clock: every request is served as of this instant.
var Now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Definitions are the repository's feature definitions.
const Definitions = `entities:
  - name: driver
    join_keys: [driver_id]
    value_type: INT64
  - name: customer
    join_keys: [customer_id]
    value_type: STRING
data_sources:
  - name: driver_src
    type: file
    path: data/driver.parquet
    timestamp_field: event_timestamp
  - name: customer_src
    type: file
    path: data/customer.parquet
    timestamp_field: event_timestamp
  - name: req
    type: request
    schema:
      - {name: val_to_add, dtype: Int64}
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 1h
    source: driver_src
    online: true
    schema:
      - {name: conv_rate, dtype: Float32}
      - {name: acc_rate, dtype: Float64}
      - {name: trips, dtype: Int64}
      - {name: name, dtype: String}
  - name: customer_profile
    entities: [customer]
    ttl: 0s
    source: customer_src
    online: true
    schema:
      - {name: age, dtype: Int32}
      - {name: tier, dtype: String}
on_demand_feature_views:
  - name: conv_plus
    sources: [driver_stats, req]
    schema:
      - {name: conv_plus_val, dtype: Float64, expression: "conv_rate + val_to_add"}
      - {name: trips_x2, dtype: Int64, expression: "trips * 2"}
feature_services:
  - name: driver_service
    features:
      - {view: driver_stats, features: [conv_rate, trips], alias: ds}
      - {view: customer_profile, features: [tier], join_key_map: {customer_id: rider_id}}
      - "conv_plus:conv_plus_val"
  - name: all_driver
    features: [driver_stats]
`

// Fixture is an applied repository with rows in its online store.
type Fixture struct {
	Store   *feast.FeatureStore
	Dir     string
	Project string
}

// Online selects the fixture's online store: "sqlite" or a Redis address.
type Online struct {
	// RedisAddr, when set, selects Redis at that address; else SQLite.
	RedisAddr string
}

// SQLite returns the SQLite selection.
func SQLite() Online { return Online{} }

// Redis returns a Redis selection at the test Redis (skipping when it is
// not running outside CI).
func Redis(t testing.TB) Online { return Online{RedisAddr: testenv.RedisAddr(t)} }

// New writes, opens and applies the repository and writes the standard
// rows (WriteStandardRows). The store is closed when the test ends.
func New(t testing.TB, o Online) *Fixture {
	t.Helper()
	f := NewEmpty(t, o)
	f.WriteStandardRows(t)
	return f
}

// NewEmpty is New without any rows.
func NewEmpty(t testing.TB, o Online) *Fixture {
	t.Helper()
	project := "serving"
	if o.Shared() {
		project = testenv.UniqueName("serving")
	}
	return NewRepo(t, t.TempDir(), project, o.Section(), Definitions, o.Shared())
}

// Section is the online_store section of feature_store.yaml for o.
func (o Online) Section() string {
	if o.RedisAddr != "" {
		return fmt.Sprintf("online_store:\n  type: redis\n  connection_string: %q\n", o.RedisAddr)
	}
	return "online_store:\n  type: sqlite\n  path: data/online.db\n"
}

// Shared reports whether the store outlives the test (Redis): its
// fixtures take unique project names and tear down what they applied.
func (o Online) Shared() bool { return o.RedisAddr != "" }

// NewRepo writes feature_store.yaml (project, file registry, the given
// online_store section, DuckDB offline) and definitions into dir, opens the
// store with the fixture clock and applies it. The store is closed when the
// test ends, after a teardown when teardown is set (shared stores).
func NewRepo(t testing.TB, dir, project, onlineYAML, definitions string, teardown bool) *Fixture {
	t.Helper()
	yaml := "project: " + project + "\nregistry: data/registry.db\nprovider: local\n" + onlineYAML +
		"offline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
	must(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(definitions), 0o644))
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir, Now: func() time.Time { return Now }})
	must(t, err)
	t.Cleanup(func() {
		if teardown {
			_ = fs.Teardown(context.Background())
		}
		fs.Close()
	})
	p, err := fs.Plan(ctx)
	must(t, err)
	must(t, fs.Apply(ctx, p))
	return &Fixture{Store: fs, Dir: dir, Project: project}
}

// Row is one entity's values for Write.
type Row struct {
	Key    *types.Value
	Values []*types.Value
	Age    time.Duration // event time is Now minus Age
}

// Write stores rows of one view (single join key) in the online store.
func (f *Fixture) Write(t testing.TB, view string, features []string, rows ...Row) {
	t.Helper()
	ctx := context.Background()
	fv, err := f.Store.FeatureView(ctx, view)
	must(t, err)
	s, err := f.Store.OnlineStore(ctx)
	must(t, err)
	b := online.WriteBatch{Project: f.Project, View: fv, Features: features}
	for _, r := range rows {
		key, err := online.SerializeEntityKey(fv.JoinKeys(), []*types.Value{r.Key})
		must(t, err)
		ts := Now.Add(-r.Age)
		b.Rows = append(b.Rows, online.Row{EntityKey: key, Values: r.Values, EventTS: ts, CreatedTS: ts})
	}
	_, err = s.Write(ctx, b)
	must(t, err)
}

// WriteStandardRows writes the rows the golden tests expect:
//
//	driver 1001: conv_rate 0.5, acc_rate 0.75, trips 10, name "alice", 10 minutes old
//	driver 1002: conv_rate 0.25, acc_rate 0.1, trips 20, name "bob", 2 hours old (ttl 1h)
//	driver 1004: conv_rate 0.125, acc_rate null, trips 30, name null, 5 minutes old
//	customer "c1": age 30, tier "gold", 48 hours old (ttl 0 = no limit)
//
// driver 1003 and customer "c2" are absent.
func (f *Fixture) WriteStandardRows(t testing.TB) {
	t.Helper()
	f.Write(t, "driver_stats", []string{"conv_rate", "acc_rate", "trips", "name"},
		Row{Key: I64(1001), Values: []*types.Value{F32(0.5), F64(0.75), I64(10), Str("alice")}, Age: 10 * time.Minute},
		Row{Key: I64(1002), Values: []*types.Value{F32(0.25), F64(0.1), I64(20), Str("bob")}, Age: 2 * time.Hour},
		Row{Key: I64(1004), Values: []*types.Value{F32(0.125), {}, I64(30), nil}, Age: 5 * time.Minute},
	)
	f.Write(t, "customer_profile", []string{"age", "tier"},
		Row{Key: Str("c1"), Values: []*types.Value{I32(30), Str("gold")}, Age: 48 * time.Hour},
	)
}

// I64 returns an int64 Value.
func I64(n int64) *types.Value { return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}} }

// I32 returns an int32 Value.
func I32(n int32) *types.Value { return &types.Value{Val: &types.Value_Int32Val{Int32Val: n}} }

// F32 returns a float Value.
func F32(f float32) *types.Value { return &types.Value{Val: &types.Value_FloatVal{FloatVal: f}} }

// F64 returns a double Value.
func F64(f float64) *types.Value { return &types.Value{Val: &types.Value_DoubleVal{DoubleVal: f}} }

// Str returns a string Value.
func Str(s string) *types.Value { return &types.Value{Val: &types.Value_StringVal{StringVal: s}} }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
