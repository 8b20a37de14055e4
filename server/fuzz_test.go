package server

import (
	"testing"

	st "github.com/feastgo/feast/server/servingtest"
)

// FuzzOnlineRequest sends arbitrary bodies through the whole
// /get-online-features handler: it must never panic and never answer 5xx.
func FuzzOnlineRequest(f *testing.F) {
	for _, c := range onlineCases {
		f.Add(c.body)
	}
	f.Add(`{"features":["driver_stats:trips"],"entities":{"driver_id":[1e400]}}`)
	f.Add(`{"features":["customer_profile:age"],"entities":{"customer_id":["\ud800"]}}`)
	f.Add(`{"feature_service":"driver_service","entities":{"driver_id":[1],"rider_id":[null]},"request_context":{"val_to_add":[[1]]}}`)
	fx := st.New(f, st.SQLite())
	s, err := New(fx.Store, Options{Logger: discardLogger(), MaxEntities: 50})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		code, resp := do(t, h, "POST", "/get-online-features", body)
		if code >= 500 {
			t.Fatalf("status %d for %q: %s", code, body, resp)
		}
	})
}

// FuzzDecodeOnlineBody checks the scanner alone: no panics, and raw
// columns are always arrays.
func FuzzDecodeOnlineBody(f *testing.F) {
	for _, c := range onlineCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeOnlineBody(data)
		if err != nil {
			return
		}
		for _, c := range append(b.entities, b.requestContext...) {
			if len(c.raw) == 0 || c.raw[0] != '[' || c.raw[len(c.raw)-1] != ']' {
				t.Fatalf("column %q raw %q", c.name, c.raw)
			}
		}
	})
}
