package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/auth"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/server"
	st "github.com/feastgo/feast/server/servingtest"
	"github.com/feastgo/feast/ui"
	"github.com/feastgo/feast/values"
)

// definitions are the serving fixture's plus an owner, tags and a
// permission granting DESCRIBE and READ_ONLINE on driver objects to the
// role "driver-reader".
var definitions = strings.Replace(st.Definitions, "  - name: driver_stats\n    entities: [driver]\n",
	"  - name: driver_stats\n    entities: [driver]\n    owner: ride@example.com\n    tags: {team: risk, tier: gold}\n    description: Hourly driver statistics\n", 1) + `permissions:
  - name: driver_readers
    types: [FeatureView, OnDemandFeatureView, FeatureService]
    name_patterns: ["driver_.*", "all_driver"]
    actions: [DESCRIBE, READ_ONLINE]
    policy: {roles: [driver-reader]}
`

// newFixture applies the definitions, writes the standard rows and records
// a materialization of driver_stats that ended 2h before the fixture clock
// (its ttl is 1h: stale) and one of customer_profile (ttl 0: never stale).
func newFixture(t testing.TB) *st.Fixture {
	t.Helper()
	f := st.NewRepo(t, t.TempDir(), "serving", st.SQLite().Section(), definitions, false)
	f.WriteStandardRows(t)
	ctx := context.Background()
	reg := f.Store.Registry()
	if err := reg.ApplyMaterialization(ctx, "driver_stats", st.Now.Add(-26*time.Hour), st.Now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := reg.ApplyMaterialization(ctx, "customer_profile", st.Now.Add(-72*time.Hour), st.Now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	return f
}

func newUI(t testing.TB, f *st.Fixture, root string) *ui.UI {
	t.Helper()
	h, err := ui.New(f.Store, ui.Options{RootPath: root})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t testing.TB, h http.Handler, target string, header ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func getJSON(t testing.TB, h http.Handler, target string, v any) {
	t.Helper()
	code, body := get(t, h, target)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", target, err, body)
	}
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	h := newUI(t, f, "")
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/", []string{"Project serving", "Registry loaded at", `href="/feature-views"`, `class="stale"`, "driver_stats"}},
		{"/data-sources", []string{"driver_src", "customer_src", "req", "request"}},
		{"/entities", []string{"driver", "customer", "Int64"}},
		{"/feature-views", []string{"driver_stats", "customer_profile", "ride@example.com", "team:risk", "Hourly driver statistics"}},
		{"/on-demand-feature-views", []string{"conv_plus"}},
		{"/feature-services", []string{"driver_service", "all_driver"}},
		{"/features", []string{"driver_stats:conv_rate", "Float32", "conv_plus:trips_x2", `href="/feature-views/driver_stats#f-conv_rate"`}},
		{"/permissions", []string{"driver_readers", "roles: driver-reader"}},
		{"/data-sources/driver_src", []string{"data/driver.parquet", "event_timestamp", "Feature views reading it", `href="/feature-views/driver_stats"`, "type: file"}},
		{"/data-sources/req", []string{"val_to_add", "On-demand views reading it", "conv_plus"}},
		{"/entities/driver", []string{"driver_id", "Int64", "Feature views keyed by it"}},
		{"/feature-views/driver_stats", []string{"1h0m", "conv_rate", "Float32", "Feature services using it", "driver_service", "all_driver",
			"On-demand views reading it", "conv_plus", "name: driver_stats", "STALE", "lineage?focus=feature-views/driver_stats"}},
		{"/on-demand-feature-views/conv_plus", []string{"conv_rate &#43; val_to_add", "trips * 2", "driver_stats:conv_rate", "val_to_add", "driver_service"}},
		{"/feature-services/driver_service", []string{"ds", "rider_id", "conv_plus", "lookup?service=driver_service", "name: driver_service"}},
		{"/permissions/driver_readers", []string{"DESCRIBE", "READ_ONLINE", "driver_.*", "FeatureView"}},
		{"/lineage", []string{"<svg", `href="/data-sources/driver_src"`, `href="/feature-services/all_driver"`}},
		{"/lineage?focus=feature-views/customer_profile", []string{`class="node l1 focus"`, "customer_src", "driver_service"}},
		{"/freshness", []string{"driver_stats", "customer_profile", "STALE", "no ttl"}},
		{"/lookup", []string{"<form", "driver_service", "all_driver"}},
		{"/search?q=conv", []string{"driver_stats:conv_rate", "conv_plus"}},
		{"/static/ui.css", []string{"--bad"}},
		{"/static/ui.js", []string{"lineage-svg"}},
	} {
		code, body := get(t, h, c.path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", c.path, code, body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in\n%s", c.path, w, body)
			}
		}
	}
	// The focused lineage leaves out what is not connected.
	if _, body := get(t, h, "/lineage?focus=feature-views/customer_profile"); strings.Contains(body, `href="/data-sources/driver_src"`) {
		t.Error("focused lineage of customer_profile shows driver_src")
	}
	for _, p := range []string{"/feature-views/nope", "/nothing", "/lineage?focus=feature-views/nope"} {
		if code, body := get(t, h, p); code != http.StatusNotFound || !strings.Contains(body, "<html") {
			t.Errorf("GET %s: %d, want a 404 page", p, code)
		}
	}
	if code, _ := get(t, h, "/api/feature-views/nope"); code != http.StatusNotFound {
		t.Errorf("GET /api/feature-views/nope: %d", code)
	}
	// A feature's URL leads to its view's schema row.
	if code, _ := get(t, h, "/features/driver_stats:trips"); code != http.StatusFound {
		t.Errorf("GET /features/driver_stats:trips: %d, want a redirect", code)
	}
}

func TestJSON(t *testing.T) {
	f := newFixture(t)
	h := newUI(t, f, "")
	var ov struct {
		Project string
		Counts  []struct {
			Kind  string
			Count int
		}
		Stale []string `json:"stale_views"`
	}
	getJSON(t, h, "/api/", &ov)
	counts := map[string]int{}
	for _, c := range ov.Counts {
		counts[c.Kind] = c.Count
	}
	want := map[string]int{"data-sources": 3, "entities": 2, "feature-views": 2, "on-demand-feature-views": 1, "feature-services": 2, "features": 8, "permissions": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("overview count of %s = %d, want %d", k, counts[k], n)
		}
	}
	if ov.Project != "serving" || len(ov.Stale) != 1 || ov.Stale[0] != "driver_stats" {
		t.Errorf("overview = %+v", ov)
	}
	var det struct {
		Item struct{ Name, Owner string }
		YAML string
	}
	getJSON(t, h, "/api/feature-views/driver_stats", &det)
	if det.Item.Owner != "ride@example.com" || !strings.Contains(det.YAML, "owner: ride@example.com") {
		t.Errorf("detail = %+v", det)
	}
	var lin struct {
		Nodes []struct {
			ID  string
			Out []string
		}
	}
	getJSON(t, h, "/api/lineage", &lin)
	edges := map[string]bool{}
	for _, n := range lin.Nodes {
		for _, o := range n.Out {
			edges[n.ID+" -> "+o] = true
		}
	}
	for _, e := range []string{"data-sources/driver_src -> feature-views/driver_stats", "feature-views/driver_stats -> on-demand-feature-views/conv_plus",
		"data-sources/req -> on-demand-feature-views/conv_plus", "on-demand-feature-views/conv_plus -> feature-services/driver_service",
		"feature-views/customer_profile -> feature-services/driver_service"} {
		if !edges[e] {
			t.Errorf("lineage has no edge %s (has %v)", e, edges)
		}
	}
}

type listJSON struct {
	Items []struct {
		Name, Kind, View, Type, Owner string
		Path                          string
	}
	Page struct{ Page, Pages, Total, From, To int }
}

func names(l listJSON) string {
	var s []string
	for _, it := range l.Items {
		s = append(s, it.Name)
	}
	return strings.Join(s, ",")
}

func TestFiltersAndPagination(t *testing.T) {
	f := newFixture(t)
	h := newUI(t, f, "")
	for _, c := range []struct{ q, want string }{
		{"/api/features?n=3", "conv_plus:conv_plus_val,conv_plus:trips_x2,customer_profile:age"},
		{"/api/features?n=3&page=3", "driver_stats:name,driver_stats:trips"},
		{"/api/features?q=RATE", "driver_stats:acc_rate,driver_stats:conv_rate"},
		{"/api/feature-views?tag=team:risk", "driver_stats"},
		{"/api/feature-views?tag=team", "driver_stats"},
		{"/api/feature-views?tag=team:other", ""},
		{"/api/feature-views?owner=ride@", "driver_stats"},
		{"/api/feature-views?type=stream", ""},
		{"/api/feature-views?type=batch", "customer_profile,driver_stats"},
		{"/api/data-sources?q=src", "customer_src,driver_src"},
	} {
		var l listJSON
		getJSON(t, h, c.q, &l)
		if got := names(l); got != c.want {
			t.Errorf("%s = %q, want %q", c.q, got, c.want)
		}
	}
	var l listJSON
	getJSON(t, h, "/api/features?n=3&page=2", &l)
	if l.Page.Total != 8 || l.Page.Pages != 3 || l.Page.From != 3 || l.Page.To != 6 {
		t.Errorf("page 2 of 3 = %+v", l.Page)
	}
	_, body := get(t, h, "/features?n=3&page=2")
	for _, w := range []string{`rel="prev" href="/features?n=3&amp;page=1"`, `rel="next" href="/features?n=3&amp;page=3"`, "4–6 of 8"} {
		if !strings.Contains(body, w) {
			t.Errorf("page 2 has no %q:\n%s", w, body)
		}
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	h := newUI(t, f, "")
	type hits struct {
		Hits []struct{ Kind, Name string }
		Page struct{ Total int }
	}
	search := func(q string) []string {
		var r hits
		getJSON(t, h, "/api/search?q="+url.QueryEscape(q), &r)
		var out []string
		for _, x := range r.Hits {
			out = append(out, x.Kind+"/"+x.Name)
		}
		return out
	}
	// A name first, then what mentions it (a view holding the column, an
	// on-demand view's expression).
	got := search("conv_rate")
	if len(got) < 3 || got[0] != "features/driver_stats:conv_rate" {
		t.Errorf("search conv_rate = %v", got)
	}
	for _, w := range []string{"feature-views/driver_stats", "on-demand-feature-views/conv_plus"} {
		if !strings.Contains(strings.Join(got, " "), w) {
			t.Errorf("search conv_rate = %v, want %s", got, w)
		}
	}
	if got := search("team:risk"); strings.Join(got, " ") != "feature-views/driver_stats" {
		t.Errorf("search by tag = %v", got)
	}
	if got := search("hourly statistics"); strings.Join(got, " ") != "feature-views/driver_stats" {
		t.Errorf("search by description words = %v", got)
	}
	if got := search("tier"); strings.Join(got, " ") != "features/customer_profile:tier feature-views/customer_profile feature-views/driver_stats" {
		t.Errorf("search tier = %v (the column, its view, and the view tagged tier:gold)", got)
	}
	if got := search("zzz"); len(got) != 0 {
		t.Errorf("search zzz = %v", got)
	}
	var r hits
	getJSON(t, h, "/api/search?q=driver&kind=feature-services", &r)
	if r.Page.Total != 2 {
		t.Errorf("search driver in services = %+v", r)
	}
	if code, _ := get(t, h, "/api/search?q=x&kind=bogus"); code != http.StatusBadRequest {
		t.Errorf("search with a bad kind: %d", code)
	}
}

func TestStaleHighlight(t *testing.T) {
	f := newFixture(t)
	h := newUI(t, f, "")
	var fr struct {
		Views []struct {
			View        string `json:"feature_view"`
			Status      string
			Stale       bool
			AgeSeconds  float64 `json:"age_seconds"`
			NewestEvent string  `json:"newest_online_event"`
			LastEnd     string  `json:"last_interval_end"`
		}
		Stale int
	}
	getJSON(t, h, "/api/freshness", &fr)
	if fr.Stale != 1 || len(fr.Views) != 2 {
		t.Fatalf("freshness = %+v", fr)
	}
	// The same report feast status prints.
	sts, err := f.Store.Status(context.Background(), feast.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range fr.Views {
		s := sts[i]
		if v.View != s.View || v.Status != string(s.Freshness) || v.Stale != (s.Freshness == feast.Stale) || v.AgeSeconds != s.Age.Seconds() {
			t.Errorf("view %d = %+v, feast status says %+v", i, v, s)
		}
		if s.NewestEventKnown && v.NewestEvent != s.NewestEvent.UTC().Format(time.RFC3339) {
			t.Errorf("newest event of %s = %q, want %s", v.View, v.NewestEvent, s.NewestEvent)
		}
	}
	if fr.Views[1].View != "driver_stats" || !fr.Views[1].Stale || fr.Views[1].LastEnd != "2024-05-01T10:00:00Z" {
		t.Errorf("driver_stats = %+v", fr.Views[1])
	}
	_, body := get(t, h, "/freshness")
	if !regexp.MustCompile(`<tr class="stale" data-view="driver_stats">`).MatchString(body) {
		t.Errorf("driver_stats is not highlighted stale:\n%s", body)
	}
	if strings.Contains(body, `<tr class="stale" data-view="customer_profile">`) {
		t.Error("customer_profile (ttl 0) highlighted stale")
	}
	_, body = get(t, h, "/feature-views/driver_stats")
	if !strings.Contains(body, `class="props freshness stale"`) || !strings.Contains(body, "last materialization 2h0m ago, older than the ttl 1h0m") {
		t.Errorf("detail page has no stale highlight:\n%s", body)
	}
	// The list shows the badge once a report exists.
	_, body = get(t, h, "/feature-views")
	if !strings.Contains(body, `<td class="fresh-stale">STALE</td>`) {
		t.Errorf("list has no stale badge:\n%s", body)
	}
}

func TestRootPath(t *testing.T) {
	f := newFixture(t)
	h := newUI(t, f, "/feast/")
	attr := regexp.MustCompile(`(?:href|src|action)="([^"]*)"`)
	for _, p := range []string{"/feast/", "/feast/feature-views/driver_stats", "/feast/lineage", "/feast/search?q=driver", "/feast/features?n=2", "/feast/lookup?service=all_driver&entities=driver_id%3D1001"} {
		code, body := get(t, h, p)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, code)
		}
		links := attr.FindAllStringSubmatch(body, -1)
		if len(links) < 5 {
			t.Fatalf("GET %s: %d links", p, len(links))
		}
		for _, m := range links {
			u := m[1]
			if u == "" || strings.HasPrefix(u, "#") || strings.HasPrefix(u, "?") {
				continue
			}
			if !strings.HasPrefix(u, "/feast/") && u != "/feast" {
				t.Errorf("GET %s: link %q is not under /feast/", p, u)
			}
		}
	}
	// A proxy that strips the prefix reaches the same pages.
	if code, body := get(t, h, "/feature-views"); code != http.StatusOK || !strings.Contains(body, `href="/feast/feature-views/driver_stats"`) {
		t.Errorf("GET without the prefix: %d", code)
	}
	if code, _ := get(t, h, "/feast"); code != http.StatusFound {
		t.Errorf("GET /feast: %d, want a redirect to /feast/", code)
	}
	if code, _ := get(t, h, "/feast/static/ui.css"); code != http.StatusOK {
		t.Errorf("asset under the prefix: %d", code)
	}
	if _, err := ui.New(f.Store, ui.Options{RootPath: "feast"}); err == nil {
		t.Error("a root path without a leading slash was accepted")
	}
}

func TestLookup(t *testing.T) {
	f := newFixture(t)
	h := newUI(t, f, "")
	type result struct {
		Metadata struct {
			FeatureNames []string `json:"feature_names"`
		}
		Results []struct {
			Values          []json.RawMessage
			Statuses        []string
			EventTimestamps []string `json:"event_timestamps"`
		}
	}
	check := func(q string, req feast.OnlineRequest) {
		t.Helper()
		var got result
		getJSON(t, h, "/api/lookup?"+q, &got)
		want, err := f.Store.GetOnlineFeatures(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got.Metadata.FeatureNames, ",") != strings.Join(want.FeatureNames, ",") {
			t.Fatalf("names = %v, want %v", got.Metadata.FeatureNames, want.FeatureNames)
		}
		for i, col := range want.Results {
			for j, v := range col.Values {
				if g, w := string(got.Results[i].Values[j]), string(values.AppendJSON(nil, v)); g != w {
					t.Errorf("%s row %d = %s, want %s", want.FeatureNames[i], j, g, w)
				}
				if i >= want.EntityColumns {
					if g, w := got.Results[i].Statuses[j], col.Statuses[j].String(); g != w {
						t.Errorf("%s row %d status = %s, want %s", want.FeatureNames[i], j, g, w)
					}
					if ts := col.EventTimestamps[j]; !ts.IsZero() && got.Results[i].EventTimestamps[j] != ts.UTC().Format(time.RFC3339) {
						t.Errorf("%s row %d event time = %s, want %s", want.FeatureNames[i], j, got.Results[i].EventTimestamps[j], ts)
					}
				}
			}
		}
	}
	ids := []*types.Value{st.I64(1001), st.I64(1002), st.I64(1003)}
	check(url.Values{"features": {"driver_stats:conv_rate, driver_stats:trips\ndriver_stats:name"}, "entities": {"driver_id=1001\ndriver_id=1002\ndriver_id=1003"}}.Encode(),
		feast.OnlineRequest{Features: []string{"driver_stats:conv_rate", "driver_stats:trips", "driver_stats:name"}, Entities: map[string][]*types.Value{"driver_id": ids}})
	check(url.Values{"service": {"all_driver"}, "full": {"on"}, "entities": {"driver_id=1004"}}.Encode(),
		feast.OnlineRequest{FeatureService: "all_driver", FullFeatureNames: true, Entities: map[string][]*types.Value{"driver_id": {st.I64(1004)}}})
	check(url.Values{"features": {"conv_plus:conv_plus_val"}, "entities": {"driver_id=1001, val_to_add=2"}}.Encode(),
		feast.OnlineRequest{Features: []string{"conv_plus:conv_plus_val"}, Entities: map[string][]*types.Value{"driver_id": {st.I64(1001)}, "val_to_add": {st.I64(2)}}})

	// The page shows values, statuses and event times.
	code, body := get(t, h, "/lookup?"+url.Values{"features": {"driver_stats:conv_rate"}, "entities": {"driver_id=1001\ndriver_id=1002\ndriver_id=1003"}}.Encode())
	if code != http.StatusOK {
		t.Fatalf("lookup page: %d", code)
	}
	for _, w := range []string{`id="lookup-result"`, "0.5", "PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND", "2024-05-01T11:50:00Z"} {
		if !strings.Contains(body, w) {
			t.Errorf("lookup page has no %q:\n%s", w, body)
		}
	}
	// Mistakes are explained on the form (400), never a 500.
	for _, q := range []string{"features=driver_stats:nope&entities=driver_id%3D1", "features=driver_stats:trips&entities=driver_id%3Dabc",
		"features=driver_stats:trips&entities=rider%3D1", "features=driver_stats:trips"} {
		code, body := get(t, h, "/lookup?"+q)
		if code != http.StatusBadRequest || !strings.Contains(body, `id="lookup-error"`) {
			t.Errorf("lookup %s: %d\n%s", q, code, body)
		}
		if code, _ := get(t, h, "/api/lookup?"+q); code != http.StatusBadRequest {
			t.Errorf("api lookup %s: %d", q, code)
		}
	}
}

// tokenUsers authenticates "reader" as a user with the driver-reader role
// and "nobody" as a user without roles.
type tokenUsers struct{}

func (tokenUsers) Authenticate(_ context.Context, tok string) (*auth.User, error) {
	switch tok {
	case "reader":
		return auth.NewUser("reader", []string{"driver-reader"}, nil, nil), nil
	case "nobody":
		return auth.NewUser("nobody", nil, nil, nil), nil
	}
	return nil, &auth.Error{Msg: "invalid bearer token"}
}

// mounted serves the fixture's UI at /ui/ of a feature server, as feast
// serve --ui does; with auth, the server authenticates tokenUsers and
// enforces permissions. The server is closed when the test ends.
func mounted(t testing.TB, f *st.Fixture, signIn string, withAuth bool) http.Handler {
	t.Helper()
	h, err := ui.New(f.Store, ui.Options{RootPath: "/ui", SignIn: signIn})
	if err != nil {
		t.Fatal(err)
	}
	opts := server.Options{NoAccessLog: true, Mounts: map[string]http.Handler{"/ui/": h}}
	if withAuth {
		opts.Authenticator, opts.EnforcePermissions = tokenUsers{}, true
	}
	srv, err := server.New(f.Store, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.Handler()
}

func TestServerMountPermissions(t *testing.T) {
	f := newFixture(t)
	sh := mounted(t, f, "", true)
	if code, _ := get(t, sh, "/ui/"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	var l listJSON
	code, body := get(t, sh, "/ui/api/feature-views", "Authorization", "Bearer reader")
	if code != http.StatusOK || json.Unmarshal([]byte(body), &l) != nil || names(l) != "driver_stats" {
		t.Errorf("reader's feature views: %d %s", code, body)
	}
	code, body = get(t, sh, "/ui/api/feature-views", "Authorization", "Bearer nobody")
	if code != http.StatusOK || json.Unmarshal([]byte(body), &l) != nil || len(l.Items) != 0 {
		t.Errorf("nobody's feature views: %d %s", code, body)
	}
	for _, c := range []struct{ path, tok string }{
		{"/ui/feature-views/customer_profile", "reader"},
		{"/ui/entities/driver", "reader"},
		{"/ui/feature-views/driver_stats", "nobody"},
	} {
		if code, _ := get(t, sh, c.path, "Authorization", "Bearer "+c.tok); code != http.StatusNotFound {
			t.Errorf("%s as %s: %d, want 404", c.path, c.tok, code)
		}
	}
	_, body = get(t, sh, "/ui/search?q=tier", "Authorization", "Bearer reader")
	if strings.Contains(body, "customer_profile") || !strings.Contains(body, "driver_stats") {
		t.Errorf("reader's search shows hidden objects or misses visible ones:\n%s", body)
	}
	_, body = get(t, sh, "/ui/lineage", "Authorization", "Bearer reader")
	if strings.Contains(body, "customer_profile") || strings.Contains(body, "driver_src") || !strings.Contains(body, `href="/ui/feature-views/driver_stats"`) {
		t.Errorf("reader's lineage:\n%s", body)
	}
	var ov struct {
		Stale []string `json:"stale_views"`
	}
	_, body = get(t, sh, "/ui/api/", "Authorization", "Bearer nobody")
	if json.Unmarshal([]byte(body), &ov) != nil || len(ov.Stale) != 0 {
		t.Errorf("nobody sees stale views: %s", body)
	}
	// READ_ONLINE decides lookups.
	q := "/ui/api/lookup?features=driver_stats:trips&entities=driver_id%3D1001"
	if code, body := get(t, sh, q, "Authorization", "Bearer reader"); code != http.StatusOK {
		t.Errorf("reader's lookup: %d %s", code, body)
	}
	if code, _ := get(t, sh, q, "Authorization", "Bearer nobody"); code != http.StatusForbidden {
		t.Errorf("nobody's lookup: %d, want 403", code)
	}
	// The feature server's own endpoints are unchanged.
	if code, _ := get(t, sh, "/health"); code != http.StatusOK {
		t.Errorf("/health: %d", code)
	}
}

func do(t testing.TB, h http.Handler, method, target, body string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestSignIn covers the browser login: pages without a token answer the
// sign-in form (401), the form stores the token in an HttpOnly cookie
// scoped to the UI, the cookie authenticates the UI (and only the UI), a
// token the server rejects comes back to the form, redirects stay on the
// site, and signing out forgets the token.
func TestSignIn(t *testing.T) {
	f := newFixture(t)
	sh := mounted(t, f, "token", true)

	resp := do(t, sh, "GET", "/ui/feature-views?q=driver", "")
	body := readBody(resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `id="token"`) || !strings.Contains(body, `value="/ui/feature-views?q=driver"`) ||
		!strings.Contains(body, "auth.tokens") || strings.Contains(body, "driver_stats") {
		t.Fatalf("page without a token: %d\n%s", resp.StatusCode, body)
	}
	if resp := do(t, sh, "GET", "/ui/api/feature-views", ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Errorf("API without a token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/ui/login", "/ui/static/ui.css"} {
		if resp := do(t, sh, "GET", p, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("%s without a token: %d", p, resp.StatusCode)
		}
	}

	resp = do(t, sh, "POST", "/ui/login", url.Values{"token": {"Bearer reader"}, "next": {"/ui/feature-views?q=driver"}}.Encode())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/feature-views?q=driver" {
		t.Fatalf("sign in: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.TokenCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != "reader" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/ui/" {
		t.Fatalf("sign-in cookie = %+v", cookie)
	}
	var l listJSON
	resp = do(t, sh, "GET", "/ui/api/feature-views", "", "Cookie", "feast_token=reader")
	if body := readBody(resp); resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &l) != nil || names(l) != "driver_stats" {
		t.Errorf("signed-in reader's feature views: %d %s", resp.StatusCode, body)
	}
	resp = do(t, sh, "GET", "/ui/", "", "Cookie", "feast_token=reader")
	if body := readBody(resp); !strings.Contains(body, `id="signout"`) {
		t.Errorf("signed-in page has no sign-out button")
	}
	// The cookie is the UI's: the API endpoints still want the header.
	resp = do(t, sh, "POST", "/get-online-features", `{"features": ["driver_stats:trips"], "entities": {"driver_id": [1001]}}`, "Cookie", "feast_token=reader")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/get-online-features with only the UI cookie: %d, want 401", resp.StatusCode)
	}
	// A rejected token returns to the form with the reason.
	resp = do(t, sh, "GET", "/ui/", "", "Cookie", "feast_token=stolen")
	if body := readBody(resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "did not accept your token") {
		t.Errorf("rejected token: %d\n%s", resp.StatusCode, body)
	}
	// Redirects never leave the UI; junk is explained.
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/get-online-features", "/ui/login", `/ui\evil`} {
		resp := do(t, sh, "POST", "/ui/login", url.Values{"token": {"reader"}, "next": {next}}.Encode())
		if loc := resp.Header.Get("Location"); loc != "/ui/" {
			t.Errorf("sign in with next=%s redirects to %q, want /ui/", next, loc)
		}
	}
	for _, tok := range []string{"", "two words", `quo"te`} {
		resp := do(t, sh, "POST", "/ui/login", url.Values{"token": {tok}}.Encode())
		if body := readBody(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="login-error"`) {
			t.Errorf("sign in with %q: %d", tok, resp.StatusCode)
		}
	}
	resp = do(t, sh, "POST", "/ui/logout", "", "Cookie", "feast_token=reader")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign out: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	if resp := do(t, sh, "GET", "/ui/logout", ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /ui/logout: %d", resp.StatusCode)
	}
	// Without auth the page says no token is needed.
	open := newUI(t, f, "")
	if code, body := get(t, open, "/login"); code != http.StatusOK || !strings.Contains(body, "does not ask for a token") {
		t.Errorf("login page without auth: %d\n%s", code, body)
	}
}

// writeDriverParquet writes n rows of driver data to the fixture's
// driver_src file: conv_rate is null on every 4th row, name cycles through
// three values.
func writeDriverParquet(t testing.TB, f *st.Fixture, n int) {
	t.Helper()
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "driver_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "conv_rate", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "event_timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(1000 + i))
		if i%4 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Float32Builder).Append(float32(i) / 10)
		}
		b.Field(2).(*array.StringBuilder).Append([]string{"ann", "bob", "cy"}[i%3])
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(st.Now.Add(-time.Duration(i) * time.Hour).UnixMicro()))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if _, err := offline.WriteParquet(context.Background(), rr, filepath.Join(f.Dir, "data", "driver.parquet")); err != nil {
		t.Fatal(err)
	}
}

func TestPreview(t *testing.T) {
	f := newFixture(t)
	writeDriverParquet(t, f, 25)
	h := newUI(t, f, "")
	var got struct {
		Preview offline.Preview
	}
	getJSON(t, h, "/api/preview/driver_src?sample=10&rows=3", &got)
	p := got.Preview
	if p.SampleRows != 10 || p.SampleLimit != 10 || len(p.Rows) != 3 || len(p.Columns) != 4 {
		t.Fatalf("preview = %+v", p)
	}
	// The statistics of the first 10 rows, computed here independently.
	want := map[string]offline.ColumnProfile{
		"driver_id":       {Nulls: 0, Min: "1000", Max: "1009", Distinct: 10},
		"conv_rate":       {Nulls: 3, NullRate: 0.3, Min: "0.1", Max: "0.9", Distinct: 7},
		"name":            {Min: "ann", Max: "cy", Distinct: 3},
		"event_timestamp": {Min: "2024-05-01T03:00:00Z", Max: "2024-05-01T12:00:00Z", Distinct: 10},
	}
	for _, c := range p.Columns {
		w := want[c.Name]
		if c.Nulls != w.Nulls || c.NullRate != w.NullRate || c.Min != w.Min || c.Max != w.Max || c.Distinct != w.Distinct {
			t.Errorf("column %s = %+v, want %+v", c.Name, c, w)
		}
	}
	if r := p.Rows[0]; r[0] == nil || *r[0] != "1000" || r[1] != nil || *r[2] != "ann" {
		t.Errorf("first row = %v", r)
	}
	// The default sample covers the whole small file; the page renders it.
	code, body := get(t, h, "/preview/driver_src")
	if code != http.StatusOK || !strings.Contains(body, `id="preview-stats"`) || !strings.Contains(body, "first 25 rows") ||
		!strings.Contains(body, "the source has no more rows") || !strings.Contains(body, "28.0%") {
		t.Errorf("preview page: %d\n%s", code, body)
	}
	if _, body := get(t, h, "/data-sources/driver_src"); !strings.Contains(body, `href="/preview/driver_src"`) {
		t.Error("the source page has no preview link")
	}
	// Sources without rows, unknown sources.
	if code, _ := get(t, h, "/api/preview/req"); code != http.StatusUnprocessableEntity {
		t.Errorf("request source preview: %d, want 422", code)
	}
	if code, _ := get(t, h, "/preview/nope"); code != http.StatusNotFound {
		t.Errorf("unknown source preview: %d, want 404", code)
	}
	// A missing file is explained, not a 500 with SQL.
	code, body = get(t, h, "/api/preview/customer_src")
	if code == http.StatusOK || !strings.Contains(body, "customer_src") {
		t.Errorf("missing file: %d %s", code, body)
	}
}

// TestProjects lists the registry's projects (registry.ListProjects, as
// feast projects list does): a second project applied to the fixture's
// file registry shows beside the browsed one, and with permissions
// enforced a user sees only the projects they may DESCRIBE.
func TestProjects(t *testing.T) {
	f := newFixture(t)
	other := t.TempDir()
	yaml := "project: other_team\nregistry: " + filepath.Join(f.Dir, "data", "registry.db") + "\nprovider: local\n" +
		"online_store:\n  type: sqlite\n  path: data/online.db\noffline_store:\n  type: duckdb\nentity_key_serialization_version: 3\n"
	if err := os.WriteFile(filepath.Join(other, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "features.yaml"), []byte("entities:\n  - name: shop\n    join_keys: [shop_id]\n    value_type: INT64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ofs, err := feast.Open(ctx, feast.Options{RepoPath: other})
	if err != nil {
		t.Fatal(err)
	}
	defer ofs.Close()
	p, err := ofs.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ofs.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}

	var got struct {
		Current  string
		Projects []struct {
			Name    string
			Current bool
		}
	}
	getJSON(t, newUI(t, f, ""), "/api/projects", &got)
	if got.Current != "serving" || len(got.Projects) != 2 || got.Projects[0].Name != "other_team" || got.Projects[0].Current ||
		got.Projects[1].Name != "serving" || !got.Projects[1].Current {
		t.Errorf("projects = %+v", got)
	}
	if code, body := get(t, newUI(t, f, ""), "/projects"); code != http.StatusOK || !strings.Contains(body, "other_team") || !strings.Contains(body, "browsing") {
		t.Errorf("projects page: %d\n%s", code, body)
	}
	// No permission names projects: with enforcement a reader sees none.
	code, body := get(t, mounted(t, f, "", true), "/ui/api/projects", "Authorization", "Bearer reader")
	if code != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || len(got.Projects) != 0 {
		t.Errorf("reader's projects: %d %s", code, body)
	}
}
