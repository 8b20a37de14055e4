package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
)

// BenchmarkPushPeakRSS measures the process's peak resident memory while
// four pushes of the largest allowed size (feature_server.max_push_rows,
// default 100,000 rows) run at once through the /push handler into SQLite
// (FEAST_BENCH_PUSH_STORE=redis: the test Redis), as the write-concurrency
// limit admits them. FEAST_BENCH_PUSH_ROWS sets another size (the limit is
// raised to match). Linux only: the peak is
// VmHWM, reset through /proc/self/clear_refs before each round.
//
//	go test -tags duckdb_arrow -run '^$' -bench BenchmarkPushPeakRSS -benchtime 3x ./server
func BenchmarkPushPeakRSS(b *testing.B) {
	rows := config.DefaultMaxPushRows
	if s := os.Getenv("FEAST_BENCH_PUSH_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	const pushes = 4
	store := "online_store:\n  type: sqlite\n  path: data/online.db\n"
	project := "pushrss"
	if os.Getenv("FEAST_BENCH_PUSH_STORE") == "redis" {
		store = "online_store:\n  type: redis\n  connection_string: \"" + testenv.RedisAddr(b) + "\"\n"
		project = strings.ReplaceAll(testenv.UniqueName("pushrss"), "-", "_")
	}
	fsYAML := store + fmt.Sprintf("feature_server:\n  max_push_rows: %d\n  max_concurrent_writes: %d\n", rows, pushes)
	s, _ := pushServerWith(b, project, fsYAML, Options{NoAccessLog: true, MaxBodyBytes: 1 << 30})
	b.Cleanup(func() { s.fs.Teardown(context.Background()) })
	h := s.Handler()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	body := func(p, round int) []byte {
		var buf bytes.Buffer
		ts := strconv.Quote(t0.Add(time.Duration(round) * time.Second).Format(time.RFC3339))
		buf.WriteString(`{"push_source_name":"stats_push","df":{"driver_id":[`)
		for i := range rows {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(p*rows + i))
		}
		buf.WriteString(`],"event_timestamp":[`)
		for i := range rows {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(ts)
		}
		buf.WriteString(`],"conv_rate":[`)
		for i := range rows {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.FormatFloat(float64(i%1000)/1000, 'g', -1, 64))
		}
		buf.WriteString(`],"trips":[`)
		for i := range rows {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(i))
		}
		buf.WriteString(`]}}`)
		return buf.Bytes()
	}
	var peak, base, bodyBytes int64
	for round := 0; round < b.N; round++ {
		b.StopTimer()
		bodies := make([][]byte, pushes)
		for p := range bodies {
			bodies[p] = body(p, round)
		}
		bodyBytes = int64(len(bodies[0]))
		runtime.GC()
		debug.FreeOSMemory()
		base = max(base, resetPeakRSS(b))
		b.StartTimer()
		var wg sync.WaitGroup
		for p := range pushes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", "/push", bytes.NewReader(bodies[p])))
				if rec.Code != 200 {
					b.Errorf("push: %d %s", rec.Code, rec.Body.String())
				}
			}()
		}
		wg.Wait()
		peak = max(peak, readPeakRSS(b))
	}
	b.ReportMetric(float64(rows), "rows/push")
	b.ReportMetric(float64(bodyBytes)/(1<<20), "body-MiB")
	b.ReportMetric(float64(base)/(1<<20), "before-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(float64(peak-base)/float64(pushes*bodyBytes), "peak/body")
}

// resetPeakRSS resets VmHWM to the current RSS and returns it.
func resetPeakRSS(b *testing.B) int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("reset peak RSS: %v", err)
	}
	return procStatus(b, "VmRSS:")
}

func readPeakRSS(b *testing.B) int64 { return procStatus(b, "VmHWM:") }

// procStatus reads a kB field of /proc/self/status, in bytes.
func procStatus(b *testing.B, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("read /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Skipf("%s not in /proc/self/status", field)
	return 0
}
