package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/feastgo/feast/push"
)

// TestPushRowLimitIs413: a push or online write over
// feature_server.max_push_rows is refused with 413 and a message naming
// the limit; one at the limit is written.
func TestPushRowLimitIs413(t *testing.T) {
	s, _ := pushServerWith(t, "pushlimit", "online_store:\n  type: sqlite\n  path: data/online.db\nfeature_server:\n  max_push_rows: 2\n", Options{})
	h := s.Handler()
	df := func(n int) string {
		ids, ts, rates := make([]string, n), make([]string, n), make([]string, n)
		for i := range n {
			ids[i], ts[i], rates[i] = fmt.Sprint(1001+i), `"2024-05-01T12:00:00Z"`, "0.5"
		}
		return `{"driver_id":[` + strings.Join(ids, ",") + `],"event_timestamp":[` + strings.Join(ts, ",") +
			`],"conv_rate":[` + strings.Join(rates, ",") + `],"trips":[` + strings.Join(ids, ",") + `]}`
	}
	for _, path := range []string{"/push", "/write-to-online-store"} {
		body := `{"push_source_name":"stats_push","feature_view_name":"driver_stats","df":` + df(3) + `}`
		if code, msg := do(t, h, "POST", path, body); code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "3 rows, the limit is 2 (feature_server.max_push_rows)") {
			t.Fatalf("%s over the limit: %d %s", path, code, msg)
		}
	}
	if code, msg := do(t, h, "POST", "/push", `{"push_source_name":"stats_push","df":`+df(2)+`}`); code != 200 {
		t.Fatalf("at the limit: %d %s", code, msg)
	}
}

// TestSaturatedWriteIs429: a write refused because every write slot is
// taken is 429 with Retry-After.
func TestSaturatedWriteIs429(t *testing.T) {
	err := fmt.Errorf("push to s: %w: 4 are running", push.ErrWritesSaturated)
	rec := httptest.NewRecorder()
	if got := writeRefused(rec, err); got != err {
		t.Fatalf("writeRefused changed the error: %v", got)
	}
	if rec.Header().Get("Retry-After") != writeRetryAfter {
		t.Fatalf("Retry-After = %q", rec.Header().Get("Retry-After"))
	}
	if code, _ := classify(err); code != http.StatusTooManyRequests {
		t.Fatalf("status %d", code)
	}
	rec = httptest.NewRecorder()
	writeRefused(rec, fmt.Errorf("other"))
	if rec.Header().Get("Retry-After") != "" {
		t.Fatal("Retry-After on an unrelated error")
	}
}

// TestPushRejectsBadInputOverHTTP: a df naming a column twice, and event
// times out of range or too far ahead, are 422 naming column and row.
func TestPushRejectsBadInputOverHTTP(t *testing.T) {
	s, _ := pushServer(t, Options{})
	h := s.Handler()
	for _, c := range []struct{ body, want string }{
		{`{"push_source_name":"stats_push","df":{"driver_id":[1],"event_timestamp":[1714564800],"conv_rate":[0.5],"trips":[1],"trips":[2]}}`,
			"column trips: named twice in df"},
		{`{"push_source_name":"stats_push","df":{"driver_id":[1,2,3,4],"event_timestamp":[1714564800,1714564800,1714564800,1714564800123],"conv_rate":[0.5,0.5,0.5,0.5],"trips":[1,1,1,1]}}`,
			"column event_timestamp: row 3: timestamp 1714564800123 (epoch seconds) is outside 0001-01-01..9999-12-31 (epoch milliseconds? send epoch seconds or RFC 3339)"},
		{`{"push_source_name":"stats_push","df":{"driver_id":[1],"event_timestamp":[9223372036854775807],"conv_rate":[0.5],"trips":[1]}}`,
			"column event_timestamp: row 0: timestamp 9223372036854775807 (epoch seconds) is outside"},
		{`{"push_source_name":"stats_push","df":{"driver_id":[1],"event_timestamp":["2999-01-01T00:00:00Z"],"conv_rate":[0.5],"trips":[1]}}`,
			"column event_timestamp: row 0: event timestamp 2999-01-01T00:00:00Z is more than 24h0m0s ahead of the server clock"},
	} {
		if code, msg := do(t, h, "POST", "/push", c.body); code != http.StatusUnprocessableEntity || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %s", c.body, code, msg)
		}
	}
}

// TestNonFiniteFloatsRoundTrip: "NaN", "Infinity" and "-Infinity" pushed
// to a float feature read back as the same strings with status PRESENT
// (they used to read back as null, PRESENT).
func TestNonFiniteFloatsRoundTrip(t *testing.T) {
	s, _ := pushServer(t, Options{})
	h := s.Handler()
	code, body := do(t, h, "POST", "/push", `{"push_source_name":"stats_push","df":{"driver_id":[1,2,3],
		"event_timestamp":["2024-05-01T12:00:00Z","2024-05-01T12:00:00Z","2024-05-01T12:00:00Z"],
		"conv_rate":["NaN","Infinity","-Infinity"],"trips":[1,2,3]}}`)
	if code != 200 {
		t.Fatalf("push: %d %s", code, body)
	}
	code, body = do(t, h, "POST", "/get-online-features", `{"features":["driver_stats:conv_rate"],"entities":{"driver_id":[1,2,3]}}`)
	if code != 200 || !strings.Contains(body, `"values":["NaN","Infinity","-Infinity"],"statuses":["PRESENT","PRESENT","PRESENT"]`) {
		t.Fatalf("read: %d %s", code, body)
	}
}
