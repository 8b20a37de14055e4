package push_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/push"
	"github.com/feastgo/feast/registry"
)

// pushDefs declares a push source over a folder file source, a view fed by
// it and an on-demand view written on push.
const pushDefs = `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - name: stats_source
    type: file
    path: data/stats/
    timestamp_field: event_timestamp
    created_timestamp_column: created
  - name: stats_push
    type: push
    batch_source: stats_source
  - name: other_source
    type: file
    path: data/other.parquet
    timestamp_field: event_timestamp
  - name: vals
    type: request
    schema: [{name: val_to_add, dtype: Int64}]
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 0s
    source: stats_push
    online: true
    schema:
      - {name: conv_rate, dtype: Float32}
      - {name: acc_rate, dtype: Float32}
      - {name: avg_daily_trips, dtype: Int64}
on_demand_feature_views:
  - name: conv_doubled
    sources: [driver_stats]
    write_to_online_store: true
    schema:
      - {name: conv_rate_x2, dtype: Float64, expression: "double(conv_rate) * 2.0"}
  - name: conv_plus_request
    sources: [driver_stats, vals]
    schema:
      - {name: conv_plus_val, dtype: Float64, expression: "double(conv_rate) + double(val_to_add)"}
`

// pushRepo writes and applies a repository with pushDefs; online is the
// online_store section of feature_store.yaml.
func pushRepo(t testing.TB, online string) (*feast.FeatureStore, string) {
	t.Helper()
	dir := t.TempDir()
	project := strings.ReplaceAll(testenv.UniqueName("push"), "-", "_")
	cfg := "project: " + project + "\nregistry: data/registry.db\nprovider: local\nonline_store:\n" + online +
		"offline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(pushDefs), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	p, err := fs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	return fs, dir
}

const sqliteOnline = "  type: sqlite\n  path: data/online.db\n"

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// goodColumns is a valid push of two drivers.
func goodColumns() map[string][]any {
	return map[string][]any{
		"driver_id":       {int64(1001), int64(1002)},
		"event_timestamp": {t0, t0.Add(time.Minute)},
		"created":         {t0, t0},
		"conv_rate":       {0.5, 0.25},
		"acc_rate":        {0.9, 0.8},
		"avg_daily_trips": {10, 20},
	}
}

// readOnline reads features of view for driver ids; a missing row is nil.
func readOnline(t testing.TB, fs *feast.FeatureStore, view *model.FeatureView, ids ...int64) [][]online.FeatureValue {
	t.Helper()
	ctx := context.Background()
	store, err := fs.OnlineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := online.ReadRequest{Project: fs.Project(), View: view}
	for _, f := range view.Features {
		req.Features = append(req.Features, f.Name)
	}
	for _, id := range ids {
		k, err := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{{Val: &types.Value_Int64Val{Int64Val: id}}})
		if err != nil {
			t.Fatal(err)
		}
		req.EntityKeys = append(req.EntityKeys, k)
	}
	res, err := store.Read(ctx, []online.ReadRequest{req})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func statsView(t testing.TB, fs *feast.FeatureStore) *model.FeatureView {
	t.Helper()
	fv, err := fs.FeatureView(context.Background(), "driver_stats")
	if err != nil {
		t.Fatal(err)
	}
	return fv
}

// odfvView is how an on-demand view written on push is stored online.
func odfvView(fs *feast.FeatureStore) *model.FeatureView {
	return &model.FeatureView{
		Name: "conv_doubled", Entities: []string{"driver"},
		EntityColumns: []model.Field{{Name: "driver_id", Type: model.Int64}},
		Features:      []model.Field{{Name: "conv_rate_x2", Type: model.Double}}, Online: true,
	}
}

// pushedFiles lists the Parquet files in the push source's folder.
func pushedFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "data", "stats", "*"))
	return files
}

// offlineRows reads every row of driver_stats from the offline store.
func offlineRows(t testing.TB, fs *feast.FeatureStore) map[int64][]any {
	t.Helper()
	ctx := context.Background()
	off, err := fs.OfflineStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := off.PullAll(ctx, statsView(t, fs), t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	out := map[int64][]any{}
	for rr.Next() {
		rec := rr.RecordBatch()
		idx := func(n string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(n)[0]) }
		for i := 0; i < int(rec.NumRows()); i++ {
			id := idx("driver_id").(*array.Int64).Value(i)
			ts := idx("event_timestamp").(*array.Timestamp)
			unit := ts.DataType().(*arrow.TimestampType).Unit
			out[id] = []any{ts.Value(i).ToTime(unit).UTC(), idx("conv_rate").(*array.Float32).Value(i), idx("avg_daily_trips").(*array.Int64).Value(i)}
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func floatOf(v online.FeatureValue) float64 {
	switch x := v.Value.GetVal().(type) {
	case *types.Value_FloatVal:
		return float64(x.FloatVal)
	case *types.Value_DoubleVal:
		return x.DoubleVal
	}
	return -1
}

func TestPushOnline(t *testing.T) {
	fs, dir := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	res, err := fs.Push(ctx, "stats_push", push.Records{Columns: goodColumns()}, push.Online)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 || len(res.Views) != 2 || res.Views[0].View != "driver_stats" || res.Views[0].Written != 2 || res.Views[1].View != "conv_doubled" || len(res.OfflineSources) != 0 {
		t.Fatalf("result %+v", res)
	}
	got := readOnline(t, fs, statsView(t, fs), 1001, 1002, 1003)
	if !got[0][0].Found || floatOf(got[0][0]) != 0.5 || floatOf(got[1][0]) != 0.25 || got[1][2].Value.GetInt64Val() != 20 || got[2][0].Found {
		t.Fatalf("online values %v", got)
	}
	if !got[1][0].EventTS.Equal(t0.Add(time.Minute)) {
		t.Fatalf("event ts %v", got[1][0].EventTS)
	}
	// The on-demand view was computed on write.
	od := readOnline(t, fs, odfvView(fs), 1001, 1002)
	if !od[0][0].Found || floatOf(od[0][0]) != 1.0 || floatOf(od[1][0]) != 0.5 {
		t.Fatalf("odfv values %v", od)
	}
	if files := pushedFiles(t, dir); len(files) != 0 {
		t.Fatalf("online push wrote offline files %v", files)
	}
}

func TestPushOffline(t *testing.T) {
	fs, dir := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	res, err := fs.Push(ctx, "stats_push", push.Records{Columns: goodColumns()}, push.Offline)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Views) != 0 || len(res.OfflineSources) != 1 || res.OfflineSources[0] != "stats_source" {
		t.Fatalf("result %+v", res)
	}
	files := pushedFiles(t, dir)
	if len(files) != 1 || !strings.HasSuffix(files[0], ".parquet") {
		t.Fatalf("files %v", files)
	}
	rows := offlineRows(t, fs)
	if len(rows) != 2 || rows[1002][1].(float32) != 0.25 || rows[1002][2].(int64) != 20 || !rows[1002][0].(time.Time).Equal(t0.Add(time.Minute)) {
		t.Fatalf("offline rows %v", rows)
	}
	if got := readOnline(t, fs, statsView(t, fs), 1001); got[0][0].Found {
		t.Fatal("offline push wrote online")
	}
	// A second push appends a second file; history sees both.
	cols := goodColumns()
	cols["driver_id"] = []any{int64(1003), int64(1004)}
	if _, err := fs.Push(ctx, "stats_push", push.Records{Columns: cols}, push.Offline); err != nil {
		t.Fatal(err)
	}
	if rows := offlineRows(t, fs); len(rows) != 4 {
		t.Fatalf("after second push %d rows", len(rows))
	}
}

func TestPushOnlineAndOfflineJSON(t *testing.T) {
	fs, dir := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	// Feast's documented request body, with a naive created timestamp.
	body := `{"driver_id":[1001],"event_timestamp":["2024-05-01 12:00:00+00:00"],"created":["2024-05-01 12:00:00"],"conv_rate":[1.0],"acc_rate":[1.0],"avg_daily_trips":[1000]}`
	recs, err := push.RecordsFromJSON(json.RawMessage(body))
	if err != nil {
		t.Fatal(err)
	}
	mode, err := push.ParseMode("online_and_offline")
	if err != nil || mode != push.OnlineAndOffline || int(mode) != 3 {
		t.Fatalf("mode %v %v", mode, err)
	}
	if _, err := fs.Push(ctx, "stats_push", recs, mode); err != nil {
		t.Fatal(err)
	}
	if got := readOnline(t, fs, statsView(t, fs), 1001); floatOf(got[0][0]) != 1 || got[0][2].Value.GetInt64Val() != 1000 || !got[0][0].EventTS.Equal(t0) {
		t.Fatalf("online %v", got)
	}
	if len(pushedFiles(t, dir)) != 1 {
		t.Fatal("no offline file")
	}
	if rows := offlineRows(t, fs); len(rows) != 1 || rows[1001][2].(int64) != 1000 {
		t.Fatalf("offline %v", rows)
	}
}

func TestParsePushMode(t *testing.T) {
	for s, want := range map[string]push.Mode{"": push.Online, "online": 1, "OFFLINE": 2, "online_and_offline": 3} {
		if got, err := push.ParseMode(s); err != nil || got != want {
			t.Errorf("ParsePushMode(%q) = %v, %v", s, got, err)
		}
	}
	var ipe *push.InvalidError
	if _, err := push.ParseMode("both"); !errors.As(err, &ipe) {
		t.Errorf("bad mode: %v", err)
	}
}

func TestPushValidation(t *testing.T) {
	fs, dir := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	with := func(f func(map[string][]any)) push.Records {
		c := goodColumns()
		f(c)
		return push.Records{Columns: c}
	}
	jsonRecs := func(body string) push.Records {
		r, err := push.RecordsFromJSON(json.RawMessage(body))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name    string
		recs    push.Records
		column  string // "" when the error is not about a column
		contain string
	}{
		{"missing join key", with(func(c map[string][]any) { delete(c, "driver_id") }), "driver_id", "missing join key column"},
		{"missing timestamp", with(func(c map[string][]any) { delete(c, "event_timestamp") }), "event_timestamp", "missing event timestamp column"},
		{"missing feature", with(func(c map[string][]any) { delete(c, "acc_rate") }), "acc_rate", "missing feature column"},
		{"unknown column", with(func(c map[string][]any) { c["conv_rat"] = []any{1.0, 2.0} }), "conv_rat", `did you mean "conv_rate"`},
		{"wrong type", with(func(c map[string][]any) { c["avg_daily_trips"] = []any{10, "many"} }), "avg_daily_trips", "row 1"},
		{"wrong key type", with(func(c map[string][]any) { c["driver_id"] = []any{"a", "b"} }), "driver_id", "expected INT64"},
		{"null join key", with(func(c map[string][]any) { c["driver_id"] = []any{int64(1), nil} }), "driver_id", "null join key"},
		{"null timestamp", with(func(c map[string][]any) { c["event_timestamp"] = []any{t0, nil} }), "event_timestamp", "null event timestamp"},
		{"bad timestamp", with(func(c map[string][]any) { c["event_timestamp"] = []any{t0, "yesterday"} }), "event_timestamp", "yesterday"},
		{"length mismatch", with(func(c map[string][]any) { c["conv_rate"] = []any{0.5} }), "", "rows"},
		{"json wrong type", jsonRecs(`{"driver_id":[1001],"event_timestamp":["2024-05-01T12:00:00Z"],"conv_rate":["high"],"acc_rate":[1],"avg_daily_trips":[1]}`), "conv_rate", "expected FLOAT"},
		{"json not array", jsonRecs(`{"driver_id":1001,"event_timestamp":["2024-05-01T12:00:00Z"],"conv_rate":[1],"acc_rate":[1],"avg_daily_trips":[1]}`), "driver_id", "expected INT64"},
		{"two inputs", push.Records{Columns: goodColumns(), Values: map[string][]*types.Value{}}, "", "exactly one"},
	}
	for _, mode := range []push.Mode{push.Online, push.Offline, push.OnlineAndOffline} {
		for _, c := range cases {
			t.Run(mode.String()+"/"+c.name, func(t *testing.T) {
				_, err := fs.Push(ctx, "stats_push", c.recs, mode)
				var ipe *push.InvalidError
				if !errors.As(err, &ipe) {
					t.Fatalf("want *push.InvalidError, got %T %v", err, err)
				}
				if ipe.Source != "stats_push" || !strings.Contains(err.Error(), "stats_push") || !strings.Contains(err.Error(), c.contain) {
					t.Fatalf("error %q does not name the source or %q", err, c.contain)
				}
				if c.column != "" && (ipe.Column != c.column || !strings.Contains(err.Error(), "column "+c.column)) {
					t.Fatalf("error %q names column %q, want %q", err, ipe.Column, c.column)
				}
			})
		}
	}
	// Nothing was written by any rejected push.
	if files := pushedFiles(t, dir); len(files) != 0 {
		t.Fatalf("rejected pushes wrote %v", files)
	}
	for _, v := range readOnline(t, fs, statsView(t, fs), 1, 1001, 1002) {
		if v[0].Found {
			t.Fatalf("rejected pushes wrote online: %v", v)
		}
	}

	// Unknown and non-push sources.
	_, err := fs.Push(ctx, "stats_psh", push.Records{Columns: goodColumns()}, push.Online)
	var nf *push.SourceNotFoundError
	if !errors.As(err, &nf) || len(nf.Suggestions) != 1 || nf.Suggestions[0] != "stats_push" || !strings.Contains(err.Error(), `did you mean "stats_push"`) {
		t.Fatalf("unknown source: %v", err)
	}
	if _, err := fs.Push(ctx, "stats_source", push.Records{Columns: goodColumns()}, push.Online); !errors.As(err, &nf) || !strings.Contains(err.Error(), "only push sources") {
		t.Fatalf("file source: %v", err)
	}
}

func TestPushEmptyIsNoop(t *testing.T) {
	fs, dir := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	for _, recs := range []push.Records{
		{Columns: map[string][]any{}},
		{Columns: map[string][]any{"driver_id": {}, "event_timestamp": {}}},
		{JSON: map[string]json.RawMessage{"driver_id": json.RawMessage(`[]`)}},
	} {
		res, err := fs.Push(ctx, "stats_push", recs, push.OnlineAndOffline)
		if err != nil || res.Warning == "" || res.Rows != 0 {
			t.Fatalf("empty push: %+v %v", res, err)
		}
	}
	// Every feature null: also a no-op with a warning.
	c := goodColumns()
	for _, f := range []string{"conv_rate", "acc_rate", "avg_daily_trips"} {
		c[f] = []any{nil, nil}
	}
	res, err := fs.Push(ctx, "stats_push", push.Records{Columns: c}, push.OnlineAndOffline)
	if err != nil || !strings.Contains(res.Warning, "null") {
		t.Fatalf("all-null push: %+v %v", res, err)
	}
	if len(pushedFiles(t, dir)) != 0 || readOnline(t, fs, statsView(t, fs), 1001)[0][0].Found {
		t.Fatal("no-op push wrote something")
	}
}

func TestPushOutOfOrder(t *testing.T) {
	fs, _ := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	push := func(ts time.Time, rate float64) push.Result {
		t.Helper()
		res, err := fs.Push(ctx, "stats_push", push.Records{Columns: map[string][]any{
			"driver_id": {int64(7)}, "event_timestamp": {ts}, "conv_rate": {rate}, "acc_rate": {rate}, "avg_daily_trips": {1},
		}}, push.Online)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	push(t0.Add(time.Hour), 0.9)
	if res := push(t0, 0.1); res.Views[0].Skipped != 1 || res.Views[0].Written != 0 {
		t.Fatalf("older push: %+v", res.Views)
	}
	if res := push(t0.Add(time.Hour), 0.2); res.Views[0].Skipped != 1 {
		t.Fatalf("equal timestamp push: %+v", res.Views)
	}
	if res := push(t0.Add(time.Hour+time.Second), 0.3); res.Views[0].Written != 1 {
		t.Fatalf("newer push: %+v", res.Views)
	}
	if got := readOnline(t, fs, statsView(t, fs), 7); floatOf(got[0][0]) != float64(float32(0.3)) {
		t.Fatalf("online value %v", floatOf(got[0][0]))
	}
}

func TestPushArrowRecords(t *testing.T) {
	fs, _ := pushRepo(t, sqliteOnline)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
		{Name: "conv_rate", Type: arrow.PrimitiveTypes.Float32},
		{Name: "acc_rate", Type: arrow.PrimitiveTypes.Float32},
		{Name: "avg_daily_trips", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	for i := 0; i < 3; i++ {
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixNano()))
	}
	b.Field(2).(*array.Float32Builder).AppendValues([]float32{0.1, 0.2, 0.3}, nil)
	b.Field(3).(*array.Float32Builder).AppendValues([]float32{1, 1, 1}, nil)
	b.Field(4).(*array.Int64Builder).AppendValues([]int64{5, 6, 7}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	res, err := fs.Push(context.Background(), "stats_push", push.Records{Arrow: rec}, push.Online)
	if err != nil || res.Views[0].Written != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := readOnline(t, fs, statsView(t, fs), 3); got[0][2].Value.GetInt64Val() != 7 {
		t.Fatalf("online %v", got)
	}
}

func TestWriteToOnlineStore(t *testing.T) {
	fs, dir := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	res, err := fs.WriteToOnlineStore(ctx, "driver_stats", push.Records{Columns: goodColumns()})
	if err != nil || len(res.Views) != 1 || res.Views[0].Written != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := readOnline(t, fs, statsView(t, fs), 1002); floatOf(got[0][0]) != 0.25 {
		t.Fatalf("online %v", got)
	}
	if len(pushedFiles(t, dir)) != 0 {
		t.Fatal("write to online store wrote offline")
	}
	// An on-demand view takes its inputs and is transformed on write.
	res, err = fs.WriteToOnlineStore(ctx, "conv_doubled", push.Records{Columns: map[string][]any{
		"driver_id": {int64(5)}, "event_timestamp": {t0}, "conv_rate": {0.75},
	}})
	if err != nil || res.Views[0].View != "conv_doubled" {
		t.Fatalf("%+v %v", res, err)
	}
	if got := readOnline(t, fs, odfvView(fs), 5); floatOf(got[0][0]) != 1.5 {
		t.Fatalf("odfv online %v", got)
	}
	// With NoTransform the output column is written as given.
	p, err := push.New(fs, push.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteToOnlineStore(ctx, push.WriteRequest{View: "conv_doubled", NoTransform: true, Records: push.Records{Columns: map[string][]any{
		"driver_id": {int64(6)}, "event_timestamp": {t0}, "conv_rate_x2": {4.0},
	}}}); err != nil {
		t.Fatal(err)
	}
	if got := readOnline(t, fs, odfvView(fs), 6); floatOf(got[0][0]) != 4 {
		t.Fatalf("raw odfv online %v", got)
	}
	// Unknown view: a registry not-found error with suggestions (HTTP 404).
	_, err = fs.WriteToOnlineStore(ctx, "driver_stat", push.Records{Columns: goodColumns()})
	var nf *registry.NotFoundError
	if !errors.As(err, &nf) || len(nf.Suggestions) == 0 || nf.Suggestions[0] != "driver_stats" {
		t.Fatalf("unknown view: %v", err)
	}
	// A read-time on-demand view cannot be written.
	var ipe *push.InvalidError
	if _, err := fs.WriteToOnlineStore(ctx, "conv_plus_request", push.Records{Columns: goodColumns()}); !errors.As(err, &ipe) {
		t.Fatalf("read-time odfv: %v", err)
	}
	// Validation names the view and the column.
	c := goodColumns()
	c["conv_rate"] = []any{"x", 1.0}
	if _, err := fs.WriteToOnlineStore(ctx, "driver_stats", push.Records{Columns: c}); !errors.As(err, &ipe) || ipe.Source != "driver_stats" || ipe.Column != "conv_rate" {
		t.Fatalf("bad type: %v", err)
	}
}

func TestPushOnlineFailureAfterOffline(t *testing.T) {
	_, dir := pushRepo(t, sqliteOnline)
	// Reopen the applied repository with a Redis that answers PING and
	// fails every other command: the store opens, every write fails.
	cfg, err := config.Load(config.Options{RepoPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnlineStore.Type = "redis"
	cfg.OnlineStore.Redis.ConnectionString = failingRedis(t)
	fs, err := feast.Open(context.Background(), feast.Options{RepoPath: dir, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	_, err = fs.Push(context.Background(), "stats_push", push.Records{Columns: goodColumns()}, push.OnlineAndOffline)
	var pe *push.PartialError
	if !errors.As(err, &pe) || pe.Written != push.Offline || pe.Source != "stats_push" || !strings.Contains(err.Error(), "retry with to=online") {
		t.Fatalf("want *push.PartialError, got %T %v", err, err)
	}
	if len(pushedFiles(t, dir)) != 1 {
		t.Fatalf("offline part: files %v", pushedFiles(t, dir))
	}
	// Online only: a plain error, nothing written offline.
	_, err = fs.Push(context.Background(), "stats_push", push.Records{Columns: goodColumns()}, push.Online)
	if err == nil || errors.As(err, &pe) || len(pushedFiles(t, dir)) != 1 {
		t.Fatalf("online push to failing redis: %v", err)
	}
}

// failingRedis serves a minimal RESP2 server that answers PING with PONG,
// SCRIPT LOAD with a digest, CLIENT with OK and every other command with an
// error. It returns its address.
func failingRedis(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
					var args []string
					for i := 0; i < n; i++ {
						hdr, err := r.ReadString('\n')
						if err != nil {
							return
						}
						l, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(hdr, "$")))
						buf := make([]byte, l+2)
						if _, err := io.ReadFull(r, buf); err != nil {
							return
						}
						args = append(args, string(buf[:l]))
					}
					reply := "-ERR injected failure\r\n"
					switch {
					case len(args) == 0:
					case strings.EqualFold(args[0], "HELLO"):
						// An old server: the client falls back to RESP2.
						reply = "-ERR unknown command 'HELLO'\r\n"
					case strings.EqualFold(args[0], "CLIENT"):
						reply = "+OK\r\n"
					case strings.EqualFold(args[0], "PING"):
						reply = "+PONG\r\n"
					case strings.EqualFold(args[0], "SCRIPT"):
						reply = "$40\r\n" + strings.Repeat("0", 40) + "\r\n"
					}
					if _, err := io.WriteString(c, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestPushRedis(t *testing.T) {
	addr := testenv.RedisAddr(t)
	fs, dir := pushRepo(t, "  type: redis\n  connection_string: "+addr+"\n")
	ctx := context.Background()
	t.Cleanup(func() { fs.Teardown(context.Background()) })
	reg := prometheus.NewRegistry()
	p, err := push.New(fs, push.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Push(ctx, push.Request{Source: "stats_push", Records: push.Records{Columns: goodColumns()}, Mode: push.OnlineAndOffline}); err != nil {
		t.Fatal(err)
	}
	got := readOnline(t, fs, statsView(t, fs), 1001, 1002)
	if floatOf(got[0][0]) != 0.5 || got[1][2].Value.GetInt64Val() != 20 {
		t.Fatalf("redis online %v", got)
	}
	if od := readOnline(t, fs, odfvView(fs), 1002); floatOf(od[0][0]) != 0.5 {
		t.Fatalf("redis odfv %v", od)
	}
	if len(pushedFiles(t, dir)) != 1 {
		t.Fatal("no offline file")
	}
	c := goodColumns()
	c["conv_rate"] = []any{"bad", 1}
	if _, err := p.Push(ctx, push.Request{Source: "stats_push", Records: push.Records{Columns: c}}); err == nil {
		t.Fatal("bad push accepted")
	}
	// A second pusher on the same registerer shares the metrics.
	p2, err := push.New(fs, push.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Push(ctx, push.Request{Source: "stats_push", Records: push.Records{Columns: goodColumns()}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"feast_push_rejected_rows_total", map[string]string{"source": "stats_push"}, 2},
		{"feast_push_rows_total", map[string]string{"source": "stats_push", "mode": "offline"}, 2},
		{"feast_push_rows_total", map[string]string{"source": "stats_push", "mode": "online"}, 4},
	} {
		if got := metricValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// metricValue returns the value of the counter, gauge or histogram count
// with exactly these labels, or -1 when there is none.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return metricNumber(m)
		}
	}
	return -1
}

func metricNumber(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

// TestMaterializeWritesOnDemandViews: materializing a view also writes the
// on-demand views with write_to_online_store computed from it alone, under
// their own name (so Feast's servers find them), and online reads return
// the stored values rather than recomputing them.
func TestMaterializeWritesOnDemandViews(t *testing.T) {
	fs, _ := pushRepo(t, sqliteOnline)
	ctx := context.Background()
	if _, err := fs.Push(ctx, "stats_push", push.Records{Columns: goodColumns()}, push.Offline); err != nil {
		t.Fatal(err)
	}
	res, err := fs.Materialize(ctx, t0.Add(-time.Hour), t0.Add(time.Hour), feast.MaterializeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Stats.RowsWritten != 2 {
		t.Fatalf("materialize %+v", res)
	}
	got := readOnline(t, fs, odfvView(fs), 1001, 1002)
	if !got[0][0].Found || floatOf(got[0][0]) != 1.0 || floatOf(got[1][0]) != 0.5 || !got[1][0].EventTS.Equal(t0.Add(time.Minute)) {
		t.Fatalf("stored on demand rows after materialize: %+v", got)
	}

	// Store a value the transformation would not produce: reads return it.
	p, _ := push.New(fs, push.Options{})
	if _, err := p.WriteToOnlineStore(ctx, push.WriteRequest{View: "conv_doubled", NoTransform: true, Records: push.Records{Columns: map[string][]any{
		"driver_id": {int64(1001)}, "event_timestamp": {t0.Add(time.Hour)}, "conv_rate_x2": {42.0},
	}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := fs.GetOnlineFeatures(ctx, feast.OnlineRequest{
		Features:   []string{"driver_stats:conv_rate", "conv_doubled:conv_rate_x2"},
		EntityRows: []map[string]any{{"driver_id": 1001}, {"driver_id": 1002}, {"driver_id": 9}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := resp.ToMap()
	if x := m["conv_rate_x2"]; len(x) != 3 || x[0] != 42.0 || x[1] != 0.5 || x[2] != nil {
		t.Fatalf("conv_rate_x2 = %v, want the stored [42 0.5 nil]", x)
	}
	if st := resp.Results[2].Statuses[2]; st.String() != "NOT_FOUND" {
		t.Errorf("missing entity status %s", st)
	}

	// Teardown removes the on-demand view's rows too.
	if err := fs.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readOnline(t, fs, odfvView(fs), 1001); got[0][0].Found {
		t.Error("teardown left the on-demand view's rows")
	}
}
