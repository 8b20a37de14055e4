// Command soak runs the feature server the way production does for a long
// time and reports whether it stays healthy: mixed traffic for -duration
// (default 10 minutes) against `feast serve` with its default flags on a
// Redis of its own, while `feast apply` changes the registry every
// -apply-every (so the server's background refresh picks up new snapshots)
// and the Redis is stopped once midway and started again after
// -outage. It is not part of CI.
//
// Traffic (closed loop, -clients each): online reads of 1 entity and of 100
// entities (10 features), and pushes of one row. Every -window it prints
// requests, errors by class, p50 and p99 latency per kind of request, and
// the server's RSS. At the end it checks the two promises: every error
// falls in the outage window (from the stop to -grace after the restart),
// and RSS after warm-up stays flat (the last window within -rss-slack of the
// first window after warm-up).
//
//	make build && go run ./bench/soak                     # 10 minutes
//	go run ./bench/soak -duration 2m -apply-every 30s     # a quick look
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	feastBin := flag.String("feast", "bin/feast", "the feast binary (make build)")
	duration := flag.Duration("duration", 10*time.Minute, "how long the traffic runs")
	window := flag.Duration("window", 30*time.Second, "reporting window")
	applyEvery := flag.Duration("apply-every", time.Minute, "how often feast apply changes the registry")
	outage := flag.Duration("outage", 5*time.Second, "how long Redis is down midway")
	grace := flag.Duration("grace", 5*time.Second, "errors this long after Redis is back still count as the outage's")
	clients := flag.Int("clients", 2, "closed-loop clients per kind of request")
	warmup := flag.Duration("warmup", 2*time.Minute, "RSS is compared from the first window after this")
	rssSlack := flag.Float64("rss-slack", 0.15, "allowed RSS growth after warm-up (fraction)")
	flag.Parse()
	if err := run(*feastBin, *duration, *window, *applyEvery, *outage, *grace, *clients, *warmup, *rssSlack); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// kinds of requests.
const (
	read1 = iota
	read100
	push
	nKinds
)

var kindNames = [nKinds]string{"read 1", "read 100", "push"}

type sample struct {
	kind int
	lat  time.Duration
	err  string // "" when the request succeeded; else its class
	at   time.Time
}

func run(feastBin string, duration, window, applyEvery, outage, grace time.Duration, clients int, warmup time.Duration, rssSlack float64) error {
	bin, err := filepath.Abs(feastBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (run make build first, or pass -feast)", bin, err)
	}
	dir, err := os.MkdirTemp("", "feast-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	redisPort, err := freePort()
	if err != nil {
		return err
	}
	rds := &redisProc{port: redisPort, dir: dir}
	if err := rds.start(); err != nil {
		return err
	}
	defer rds.stop()

	repo := filepath.Join(dir, "repo")
	if err := feast(bin, dir, "init", repo); err != nil {
		return err
	}
	cfgPath := filepath.Join(repo, "feature_store.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return err
	}
	cfg = bytes.Replace(cfg, []byte("online_store:\n  type: sqlite\n  path: data/online.db\n"),
		[]byte(fmt.Sprintf("online_store:\n  type: redis\n  connection_string: 127.0.0.1:%d\n", redisPort)), 1)
	cfg = bytes.Replace(cfg, []byte("registry: data/registry.db\n"), []byte("registry:\n  path: data/registry.db\n  cache_ttl_seconds: 5\n"), 1)
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"apply"}, {"materialize-incremental", "now"}} {
		if err := feast(bin, repo, args...); err != nil {
			return err
		}
	}
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	logW := &lockedWriter{w: &bytes.Buffer{}}
	srv := exec.Command(bin, "serve", "--port", strconv.Itoa(httpPort))
	srv.Dir = repo
	srv.Stdout, srv.Stderr = io.Discard, logW
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	if err := waitHealthy(base, 30*time.Second); err != nil {
		return err
	}
	fmt.Printf("soak: feast serve pid %d on %s, redis on :%d, %s of traffic\n", srv.Process.Pid, base, redisPort, duration)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	samples := make(chan sample, 4096)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	for k := 0; k < nKinds; k++ {
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(k), uint64(c)))
				for ctx.Err() == nil {
					path, body := request(k, r)
					start := time.Now()
					class := do(client, base+path, body)
					if ctx.Err() != nil && class != "" {
						return // cut short by the end of the run
					}
					samples <- sample{kind: k, lat: time.Since(start), err: class, at: start}
				}
			}(k)
		}
	}

	// Registry changes and the Redis outage.
	start := time.Now()
	var outageStart, outageEnd atomic.Int64
	var applies atomic.Int64
	// Apply failures by start time: one during the outage is expected
	// (apply updates the online store), any other fails the soak.
	var applyMu sync.Mutex
	var applyFailures []time.Time
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.NewTicker(applyEvery)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				at := time.Now()
				err := applyRevision(repo, i, func() error { return feast(bin, repo, "apply") })
				applies.Add(1)
				if err != nil {
					applyMu.Lock()
					applyFailures = append(applyFailures, at)
					applyMu.Unlock()
					fmt.Println("soak: apply:", err)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			return
		case <-time.After(duration / 2):
		}
		outageStart.Store(time.Now().UnixNano())
		fmt.Printf("soak: %s stopping redis for %s\n", time.Since(start).Round(time.Second), outage)
		rds.stop()
		time.Sleep(outage)
		if err := rds.start(); err != nil {
			fmt.Println("soak: restart redis:", err)
		}
		outageEnd.Store(time.Now().UnixNano())
		fmt.Printf("soak: %s redis is back\n", time.Since(start).Round(time.Second))
	}()
	go func() { wg.Wait(); close(samples) }()

	// Collect per window.
	type windowStats struct {
		from   time.Duration
		lats   [nKinds][]time.Duration
		errors map[string]int
		rss    int64
	}
	var windows []*windowStats
	cur := &windowStats{errors: map[string]int{}}
	var all []sample
	tick := time.NewTicker(window)
	defer tick.Stop()
	fmt.Printf("%-8s %-10s %9s %9s %9s  %-24s %-24s %-24s  %s\n", "from", "rss MiB", "read1/s", "read100/s", "push/s",
		"read 1 p50/p99", "read 100 p50/p99", "push p50/p99", "errors")
	flush := func() {
		cur.rss = rssOf(srv.Process.Pid)
		windows = append(windows, cur)
		secs := max(time.Since(start)-cur.from, time.Millisecond).Seconds()
		line := fmt.Sprintf("%-8s %-10.1f %9.0f %9.0f %9.0f ", cur.from.Round(time.Second), float64(cur.rss)/(1<<20),
			float64(len(cur.lats[read1]))/secs, float64(len(cur.lats[read100]))/secs, float64(len(cur.lats[push]))/secs)
		for k := 0; k < nKinds; k++ {
			p50, p99 := percentiles(cur.lats[k])
			line += fmt.Sprintf(" %-24s", p50.Round(10*time.Microsecond).String()+"/"+p99.Round(10*time.Microsecond).String())
		}
		fmt.Println(line, " ", formatErrors(cur.errors))
		cur = &windowStats{from: time.Since(start), errors: map[string]int{}}
	}
	for done := false; !done; {
		select {
		case s, ok := <-samples:
			if !ok {
				done = true
				break
			}
			all = append(all, s)
			if s.err != "" {
				cur.errors[kindNames[s.kind]+": "+s.err]++
			} else {
				cur.lats[s.kind] = append(cur.lats[s.kind], s.lat)
			}
		case <-tick.C:
			flush()
		}
	}
	flush()

	// Verdict.
	os0, os1 := time.Unix(0, outageStart.Load()), time.Unix(0, outageEnd.Load()).Add(grace)
	inOutage, outside := map[string]int{}, map[string]int{}
	for _, s := range all {
		if s.err == "" {
			continue
		}
		if outageStart.Load() != 0 && !s.at.Before(os0.Add(-time.Second)) && (outageEnd.Load() == 0 || s.at.Before(os1)) {
			inOutage[kindNames[s.kind]+": "+s.err]++
		} else {
			outside[kindNames[s.kind]+": "+s.err]++
		}
	}
	applyMu.Lock()
	for _, at := range applyFailures {
		if outageStart.Load() != 0 && !at.Before(os0.Add(-time.Second)) && (outageEnd.Load() == 0 || at.Before(os1)) {
			inOutage["apply: failed"]++
		} else {
			outside["apply: failed"]++
		}
	}
	fmt.Printf("\nsoak: %d requests, %d applies (%d failed)\n", len(all), applies.Load(), len(applyFailures))
	applyMu.Unlock()
	fmt.Printf("soak: errors in the outage window: %s\n", formatErrors(inOutage))
	fmt.Printf("soak: errors outside it:          %s\n", formatErrors(outside))
	var first *windowStats
	for _, w := range windows {
		if w.from >= warmup {
			first = w
			break
		}
	}
	ok := len(outside) == 0
	if first != nil {
		last := windows[len(windows)-1]
		growth := float64(last.rss-first.rss) / float64(first.rss)
		fmt.Printf("soak: RSS after warm-up %.1f MiB at %s, %.1f MiB at the end (%+.1f%%, allowed %+.0f%%)\n",
			float64(first.rss)/(1<<20), first.from.Round(time.Second), float64(last.rss)/(1<<20), 100*growth, 100*rssSlack)
		ok = ok && growth <= rssSlack
	}
	if !ok {
		if log := logW.String(); strings.TrimSpace(log) != "" {
			fmt.Fprintf(os.Stderr, "soak: last lines of the server log:\n%s\n", tail(log, 20))
		}
		return errors.New("FAILED: errors (requests or applies) outside the outage window, or RSS growth (see above)")
	}
	fmt.Println("soak: PASSED")
	return nil
}

// request builds one request of kind k.
func request(k int, r *rand.Rand) (string, []byte) {
	id := func() int { return 1001 + r.IntN(5) }
	switch k {
	case read1:
		return "/get-online-features", fmt.Appendf(nil, `{"feature_service":"driver_activity_v2","entities":{"driver_id":[%d]}}`, id())
	case read100:
		b := []byte(`{"features":["driver_hourly_stats:conv_rate","driver_hourly_stats:acc_rate","driver_hourly_stats:avg_daily_trips"],"entities":{"driver_id":[`)
		for i := 0; i < 100; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(1001+r.IntN(200)), 10)
		}
		return "/get-online-features", append(b, "]}}"...)
	default:
		now := time.Now().UTC().Format(time.RFC3339Nano)
		return "/push", fmt.Appendf(nil, `{"push_source_name":"driver_stats_push_source","to":"online",`+
			`"df":{"driver_id":[%d],"event_timestamp":["%s"],"created":["%s"],"conv_rate":[%.3f],"acc_rate":[%.3f],"avg_daily_trips":[%d]}}`,
			id(), now, now, r.Float64(), r.Float64(), r.IntN(1000))
	}
}

// do sends one request; it returns "" on a 200, else the error's class:
// the status code and the start of the error message.
func do(c *http.Client, url string, body []byte) string {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "client timeout"
		}
		return "transport: " + firstWords(err.Error(), 4)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 {
		return ""
	}
	return strconv.Itoa(resp.StatusCode) + " " + firstWords(string(data), 5)
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

func formatErrors(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d× %s", m[k], k)
	}
	return strings.Join(parts, "; ")
}

func percentiles(xs []time.Duration) (p50, p99 time.Duration) {
	if len(xs) == 0 {
		return 0, 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs[len(xs)/2], xs[min(len(xs)-1, len(xs)*99/100)]
}

// bumpDescription changes the entity's description so apply has something
// to commit.
// applyRevision writes revision i into the repository's features.yaml and
// runs apply, returning the first error of the two.
func applyRevision(repo string, i int, apply func() error) error {
	if err := bumpDescription(filepath.Join(repo, "features.yaml"), i); err != nil {
		return err
	}
	return apply()
}

func bumpDescription(path string, i int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	for j, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "description: A driver") {
			lines[j] = fmt.Sprintf("    description: A driver of the ride-hailing service (soak revision %d)", i)
		}
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

func feast(bin, dir string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("feast %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func waitHealthy(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("feast serve did not answer %s/health within %s", base, limit)
}

// rssOf is the resident set size of pid in bytes, from /proc.
func rssOf(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// redisProc is a redis-server of the soak's own, so that stopping it
// disturbs nothing else.
type redisProc struct {
	port int
	dir  string
	cmd  *exec.Cmd
}

func (r *redisProc) start() error {
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port), "--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server (is it installed?): %w", err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("redis-server did not start")
}

func (r *redisProc) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 {
		l.w.Reset()
	}
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
