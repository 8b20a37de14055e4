package server

import (
	"net/http/httptest"
	"strings"
	"testing"

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
