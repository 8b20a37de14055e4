package server

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/feastgo/feast/offline/objstore/fakes3"
	st "github.com/feastgo/feast/server/servingtest"
)

// pushDefs is a push source over a folder file source feeding one view,
// and an on-demand view transformed on write.
const pushDefs = `
entities:
  - {name: driver, join_keys: [driver_id], value_type: INT64}
data_sources:
  - name: stats_source
    type: file
    path: data/stats/
    timestamp_field: event_timestamp
  - name: stats_push
    type: push
    batch_source: stats_source
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 0s
    source: stats_push
    online: true
    schema:
      - {name: conv_rate, dtype: Float32}
      - {name: trips, dtype: Int64}
on_demand_feature_views:
  - name: conv_doubled
    sources: [driver_stats]
    write_to_online_store: true
    schema:
      - {name: conv_rate_x2, dtype: Float64, expression: "double(conv_rate) * 2.0"}
`

// pushServer applies pushDefs with a SQLite online store and serves it.
func pushServer(t testing.TB, opts Options) (*Server, string) {
	return pushServerWith(t, "pushsrv", st.SQLite().Section(), opts)
}

func pushServerWith(t testing.TB, project, onlineYAML string, opts Options) (*Server, string) {
	t.Helper()
	f := st.NewRepo(t, t.TempDir(), project, onlineYAML, pushDefs, false)
	return newServer(t, f, opts), f.Dir
}

func TestPushEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, dir := pushServer(t, Options{Registerer: reg})
	h := s.Handler()

	// Feast's documented example shape: timestamps as strings, to=online.
	code, body := do(t, h, "POST", "/push", `{"push_source_name":"stats_push",
		"df":{"driver_id":[1001,1002],"event_timestamp":["2024-05-01 10:59:42+00:00","2024-05-01T11:00:00Z"],
		"conv_rate":[0.5,0.25],"trips":[10,20]},"to":"online"}`)
	if code != 200 || body != "null" {
		t.Fatalf("push: %d %s", code, body)
	}
	read := `{"features":["driver_stats:conv_rate","driver_stats:trips","conv_doubled:conv_rate_x2"],"entities":{"driver_id":[1001,1002,1003]}}`
	code, body = do(t, h, "POST", "/get-online-features", read)
	if code != 200 {
		t.Fatalf("read: %d %s", code, body)
	}
	for _, want := range []string{`"values":[0.5,0.25,null]`, `"values":[10,20,null]`, `"values":[1.0,0.5,null]`} {
		if !strings.Contains(body, want) {
			t.Errorf("read after push: missing %s in %s", want, body)
		}
	}

	// An older row for 1001 does not overwrite the newer one.
	code, body = do(t, h, "POST", "/push", `{"push_source_name":"stats_push",
		"df":{"driver_id":[1001],"event_timestamp":["2024-05-01T09:00:00Z"],"conv_rate":[9.0],"trips":[99]}}`)
	if code != 200 {
		t.Fatalf("old push: %d %s", code, body)
	}
	if _, body = do(t, h, "POST", "/get-online-features", read); !strings.Contains(body, `"values":[10,20,null]`) {
		t.Errorf("an older pushed row overwrote a newer one: %s", body)
	}

	// Offline: a new Parquet file lands in the batch source's folder.
	code, body = do(t, h, "POST", "/push", `{"push_source_name":"stats_push","to":"offline",
		"df":{"driver_id":[1003],"event_timestamp":["2024-05-01T11:30:00Z"],"conv_rate":[0.75],"trips":[30]}}`)
	if code != 200 {
		t.Fatalf("offline push: %d %s", code, body)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "stats", "*.parquet"))
	if len(files) != 1 {
		t.Errorf("offline push wrote %d parquet files, want 1: %v", len(files), files)
	}
	// ...and not online.
	if _, body = do(t, h, "POST", "/get-online-features", read); !strings.Contains(body, `"values":[0.5,0.25,null]`) {
		t.Errorf("offline push reached the online store: %s", body)
	}

	// write-to-online-store writes one view directly.
	code, body = do(t, h, "POST", "/write-to-online-store", `{"feature_view_name":"driver_stats",
		"df":{"driver_id":[1003],"event_timestamp":["2024-05-01T11:45:00Z"],"conv_rate":[0.125],"trips":[3]}}`)
	if code != 200 || body != "null" {
		t.Fatalf("write-to-online-store: %d %s", code, body)
	}
	if _, body = do(t, h, "POST", "/get-online-features", read); !strings.Contains(body, `"values":[0.5,0.25,0.125]`) {
		t.Errorf("write-to-online-store not visible: %s", body)
	}

	_, metrics := do(t, h, "GET", "/metrics", "")
	for _, want := range []string{
		`feast_push_rows_total{mode="online",source="stats_push"} 3`,
		`feast_push_rows_total{mode="offline",source="stats_push"} 1`,
		`feast_push_rows_total{mode="online",source="driver_stats"} 1`,
		`feast_http_requests_total{endpoint="/push",status="200"} 3`,
		`feast_push_freshness_seconds_count{source="stats_push"} 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestPushEndpointRejects(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, dir := pushServer(t, Options{Registerer: reg})
	h := s.Handler()
	good := `"driver_id":[1001],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5],"trips":[10]`
	cases := []struct {
		path, body string
		code       int
		want       string
	}{
		{"/push", `{"push_source_name":"stats_psh","df":{` + good + `}}`, 422, `not found in project \"pushsrv\" (did you mean \"stats_push\"?)`},
		{"/push", `{"push_source_name":"stats_push","df":{"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5],"trips":[10]}}`, 422, `driver_id`},
		{"/push", `{"push_source_name":"stats_push","df":{"driver_id":[1001],"conv_rate":[0.5],"trips":[10]}}`, 422, `event_timestamp`},
		{"/push", `{"push_source_name":"stats_push","df":{` + good + `,"bogus":[1]}}`, 422, `bogus`},
		{"/push", `{"push_source_name":"stats_push","df":{"driver_id":[1001,1002],"event_timestamp":["2024-05-01T11:00:00Z","2024-05-01T11:00:00Z"],"conv_rate":[0.5,"fast"],"trips":[10,11]}}`, 422, `conv_rate`},
		{"/push", `{"push_source_name":"stats_push","df":[1,2]}`, 422, `df must be a JSON object of columns`},
		{"/push", `{"push_source_name":"stats_push","df":{` + good + `},"to":"sideways"}`, 422, `unknown push mode \"sideways\": use online, offline or online_and_offline`},
		{"/push", `{"df":{` + good + `}}`, 400, `push_source_name is required`},
		{"/push", `{"push_source_name":"stats_push"}`, 400, `df is required`},
		{"/push", `{"push_source_name":`, 400, `malformed request body`},
		{"/push", ``, 400, `empty body`},
		{"/write-to-online-store", `{"feature_view_name":"driver_stat","df":{` + good + `}}`, 404, `driver_stat`},
		{"/write-to-online-store", `{"df":{` + good + `}}`, 400, `feature_view_name is required`},
	}
	for _, c := range cases {
		code, body := do(t, h, "POST", c.path, c.body)
		if code != c.code || !strings.Contains(body, c.want) || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.path, c.body, code, body, c.code, c.want)
		}
	}
	// Nothing was written by any rejected push.
	read := `{"features":["driver_stats:conv_rate"],"entities":{"driver_id":[1001,1002]}}`
	if _, body := do(t, h, "POST", "/get-online-features", read); !strings.Contains(body, `"values":[null,null]`) {
		t.Errorf("a rejected push wrote rows: %s", body)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "data", "stats", "*")); len(files) != 0 {
		t.Errorf("a rejected push wrote offline files: %v", files)
	}
	if _, m := do(t, h, "GET", "/metrics", ""); !strings.Contains(m, `feast_push_rejected_rows_total{source="stats_push"}`) {
		t.Errorf("rejected rows not counted:\n%s", m)
	}
}

func TestPushTransformOnWriteFalse(t *testing.T) {
	s, _ := pushServer(t, Options{})
	h := s.Handler()
	// With transform_on_write false, write-to-online-store of the on-demand
	// view stores its output columns as given.
	code, body := do(t, h, "POST", "/write-to-online-store", `{"feature_view_name":"conv_doubled","transform_on_write":false,
		"df":{"driver_id":[1001],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate_x2":[42.0]}}`)
	if code != 200 {
		t.Fatalf("write raw odfv: %d %s", code, body)
	}
	// allow_registry_cache false refreshes the registry first and still works.
	code, body = do(t, h, "POST", "/push", `{"push_source_name":"stats_push","allow_registry_cache":false,
		"df":{"driver_id":[1002],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5],"trips":[1]}}`)
	if code != 200 {
		t.Fatalf("push without registry cache: %d %s", code, body)
	}
	// Both are read back: 42 as stored (not conv_rate * 2), and 1002's
	// pushed row with its transformed on-demand value.
	_, body = do(t, h, "POST", "/get-online-features", `{"features":["driver_stats:conv_rate","conv_doubled:conv_rate_x2"],"entities":{"driver_id":[1001,1002]}}`)
	for _, want := range []string{`"values":[null,0.5]`, `"values":[42.0,1.0]`} {
		if !strings.Contains(body, want) {
			t.Errorf("read back: missing %s in %s", want, body)
		}
	}
}

func TestPushEndpointReadOnlyAndAuth(t *testing.T) {
	s, _ := pushServer(t, Options{AuthTokens: []string{"s3cret"}})
	forEachTransport(t, s, func(t *testing.T, call caller) {
		body := `{"push_source_name":"stats_push","df":{"driver_id":[1001],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5],"trips":[10]}}`
		if code, _ := call(t, "POST", "/push", body); code != 401 {
			t.Errorf("push without token: %d, want 401", code)
		}
		if code, resp := call(t, "POST", "/push", body, "Authorization", "Bearer s3cret"); code != 200 {
			t.Errorf("push with token: %d %s", code, resp)
		}
	})
}

// TestPushOfflineToObjectStore pushes to a source in an S3 bucket (the
// stand-in): every push lands as a new Parquet object in the bucket, none
// in a local folder named after the URL (as a path-only writer once did).
func TestPushOfflineToObjectStore(t *testing.T) {
	srv := fakes3.Start(t, "bucket")
	defs := strings.Replace(pushDefs, "path: data/stats/", "path: \""+srv.URL("bucket", "stats/")+"\"", 1)
	f := st.NewRepo(t, t.TempDir(), "pushs3", st.SQLite().Section(), defs, false)
	s := newServer(t, f, Options{})
	for i, to := range []string{"offline", "online_and_offline"} {
		code, body := do(t, s.Handler(), "POST", "/push", `{"push_source_name":"stats_push","to":"`+to+`",
			"df":{"driver_id":[1001],"event_timestamp":["2024-05-01T11:00:00Z"],"conv_rate":[0.5],"trips":[10]}}`)
		if code != 200 {
			t.Fatalf("to=%s: %d %s", to, code, body)
		}
		list, err := srv.Backend.ListBucket("bucket", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Contents) != i+1 || !strings.HasPrefix(list.Contents[i].Key, "stats/push-") || !strings.HasSuffix(list.Contents[i].Key, ".parquet") {
			t.Errorf("to=%s: bucket holds %+v", to, list.Contents)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(f.Dir, "*:")); len(entries) > 0 {
		t.Errorf("wrote locally: %v", entries)
	}
}
