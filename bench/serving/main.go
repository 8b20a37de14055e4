// Command serving benchmarks online serving against a real Redis: the
// feature server over HTTP and gRPC, and, in the same run, the raw Redis
// baseline (the HMGET pipeline a request needs, issued directly with the
// server's Redis client, rueidis) as the limit: "redis" with rueidis's
// auto-pipelining, "redispool" with a connection per request.
//
// It applies a repository with one view of 50 features, writes 10,000
// entities into Redis, starts the server as a child process (so its CPU
// time is its own) and runs closed-loop clients for each combination of
// protocol, features per request (10, 50), entities per request (1, 10,
// 100) and concurrency. For each it prints requests/s, p50 and p99
// latency, and the CPU time per request of the server, of Redis and of the
// load generator itself (user+system from /proc/<pid>/stat, deltas over
// the run): on a small machine the three share the cores, so a heavy client
// lowers every throughput it measures.
//
// The "http" clients are as lean as the Redis client of the baseline: each
// holds one keep-alive connection, writes a prebuilt request and reads the
// response in the calling goroutine. "httpstd" uses net/http's Transport
// instead (two goroutine hand-offs and a dozen allocations per request), to
// show what a typical Go client costs.
//
//	go run ./bench/serving                          # 3s per case, 1 and 8 clients
//	go run ./bench/serving -duration 5s -clients 1,16
//	FEAST_TEST_REDIS=10.0.0.5:6379 go run ./bench/serving
//
// With -wrk it measures instead the way users do: `feast serve` with its
// default flags, driven by wrk -t1 -c8 and online.lua, against the floor
// proxy in the same run (wrk.go; wrk must be installed: apt-get install -y
// wrk):
//
//	go run -tags duckdb_arrow ./bench/serving -wrk                 # 1 and 100 entities, 10 features, 3 runs
//	go run -tags duckdb_arrow ./bench/serving -wrk -feast ./feast -entities 100 -wrk-runs 5
//
// The wrk mode measures Redis by default; -store sqlite measures the SQLite
// online store instead (a file in the temporary repository, no Redis), with
// a floor proxy running the store's SELECT on that file (sqlitefloor.go):
//
//	go run -tags duckdb_arrow ./bench/serving -wrk -store sqlite
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/rueidis"
	"github.com/valyala/fasthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/redis"
	"github.com/feastgo/feast/proto/feast/serving"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/server"
)

const (
	view      = "stats"
	nFeatures = 50
	nEntities = 10_000
)

func main() {
	child := flag.String("child", "", "internal: serve the repository in this directory")
	floor := flag.String("floor", "", "internal: serve the floor proxy for this project")
	cpuProfile := flag.String("cpuprofile", "", "write the server's CPU profile to this file")
	httpAddr := flag.String("http", "127.0.0.1:16570", "server HTTP address")
	grpcAddr := flag.String("grpc", "127.0.0.1:16571", "server gRPC address")
	redisAddr := flag.String("redis", envOr("FEAST_TEST_REDIS", "127.0.0.1:6379"), "Redis address")
	duration := flag.Duration("duration", 3*time.Second, "measured time per case")
	clients := flag.String("clients", "1,8", "comma-separated client concurrencies")
	protos := flag.String("protos", "redis,redispool,floor,http,grpc", "comma-separated protocols: redis, redispool (raw baselines), floor (the cheapest HTTP server making the same Redis calls), grpcfloor (the same with grpc-go), http, httpstd, grpc")
	featureCounts := flag.String("features", "10,50", "comma-separated features per request")
	entityCounts := flag.String("entities", "1,10,100", "comma-separated entities per request")
	floorAddr := flag.String("floor-http", "127.0.0.1:16572", "floor proxy HTTP address")
	floorGRPCAddr := flag.String("floor-grpc", "127.0.0.1:16573", "gRPC floor address (served by the floor process)")
	wrkMode := flag.Bool("wrk", false, "measure `feast serve` (default flags) and the floor proxy with wrk -t1 (see wrk.go)")
	feastBin := flag.String("feast", "", "with -wrk: the feast binary (default: go build -tags duckdb_arrow ./cmd/feast)")
	wrkScript := flag.String("wrk-script", "bench/serving/online.lua", "with -wrk: the wrk Lua script")
	wrkConns := flag.Int("wrk-connections", 8, "with -wrk: wrk connections (-c)")
	wrkRuns := flag.Int("wrk-runs", 3, "with -wrk: measured runs of every case")
	wrkWarmup := flag.Duration("wrk-warmup", 2*time.Second, "with -wrk: warm-up before each measured window")
	wrkWindow := flag.Duration("wrk-window", 6*time.Second, "with -wrk: measured window (server CPU from /proc over it)")
	wrkPort := flag.Int("wrk-port", 16580, "with -wrk: the --port of feast serve")
	wrkServeArgs := flag.String("wrk-serve-args", "", "with -wrk: extra flags for feast serve, space-separated (none by default)")
	wrkBaseline := flag.String("wrk-baseline", "", "with -wrk: another feast binary (an earlier build) measured in the same run, interleaved")
	wrkBaselineEnv := flag.String("wrk-baseline-env", "", "with -wrk-baseline: its extra environment, space-separated (GOGC=400 ...)")
	store := flag.String("store", "redis", "with -wrk: the online store, redis or sqlite (a file in the temporary repository; Redis is not needed)")
	floorDB := flag.String("floor-db", "", "internal: with -floor -store sqlite, the database file")
	flag.Parse()
	if *store != "redis" && *store != "sqlite" {
		fmt.Fprintf(os.Stderr, "error: -store %q: use redis or sqlite\n", *store)
		os.Exit(2)
	}
	if *store == "sqlite" && !*wrkMode && *floor == "" {
		fmt.Fprintln(os.Stderr, "error: -store sqlite is measured only with -wrk (go run -tags duckdb_arrow ./bench/serving -wrk -store sqlite)")
		os.Exit(2)
	}
	if *wrkMode {
		ents := ints(*entityCounts)
		if !isFlagSet("entities") {
			ents = []int{1, 100}
		}
		nf := ints(*featureCounts)[0]
		if !isFlagSet("features") {
			nf = 10
		}
		err := runWrk(wrkOptions{redisAddr: *redisAddr, feastBin: *feastBin, script: *wrkScript, entities: ents, features: nf,
			store: *store, connections: *wrkConns, warmup: *wrkWarmup, window: *wrkWindow, runs: *wrkRuns, port: *wrkPort,
			floorAddr: *floorAddr, extraArgs: strings.Fields(*wrkServeArgs), baseline: *wrkBaseline, baselineEnv: strings.Fields(*wrkBaselineEnv)})
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		return
	}
	if *floor != "" && *store == "sqlite" {
		if err := serveSQLiteFloor(*floor, *httpAddr, *floorDB); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		return
	}
	if *floor != "" {
		if err := serveFloor(*floor, *httpAddr, *floorGRPCAddr, *redisAddr); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		return
	}
	if *child != "" {
		if err := serve(*child, *httpAddr, *grpcAddr, *cpuProfile); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*redisAddr, *httpAddr, *grpcAddr, *floorAddr, *floorGRPCAddr, *cpuProfile, *duration, ints(*clients), strings.Split(*protos, ","), ints(*featureCounts), ints(*entityCounts)); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func ints(s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

// serve is the child process: the feature server on the repository.
func serve(dir, httpAddr, grpcAddr, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir, Logger: logger})
	if err != nil {
		return err
	}
	defer fs.Close()
	srv, err := server.New(fs, server.Options{NoAccessLog: true, Logger: logger})
	if err != nil {
		return err
	}
	return srv.Serve(ctx, server.ListenConfig{HTTPAddr: httpAddr, GRPCAddr: grpcAddr})
}

func featureNames() []string {
	out := make([]string, nFeatures)
	for i := range out {
		out[i] = fmt.Sprintf("f%02d", i)
	}
	return out
}

// redisOnlineStore is the online_store section of feature_store.yaml for
// Redis at addr.
func redisOnlineStore(addr string) string {
	return fmt.Sprintf("online_store:\n  type: redis\n  connection_string: %q\n", addr)
}

// sqliteOnlineStore is the online_store section for a SQLite file.
func sqliteOnlineStore(path string) string {
	return fmt.Sprintf("online_store:\n  type: sqlite\n  path: %q\n", path)
}

// setup writes and applies the repository, with onlineStore as the
// online_store section of feature_store.yaml, and fills the online store
// through its own Write.
func setup(ctx context.Context, dir, onlineStore, project string) error {
	var defs strings.Builder
	defs.WriteString("entities:\n  - {name: driver, join_keys: [driver_id], value_type: INT64}\n")
	defs.WriteString("data_sources:\n  - {name: src, type: file, path: data/src.parquet, timestamp_field: event_timestamp}\n")
	defs.WriteString("feature_views:\n  - name: " + view + "\n    entities: [driver]\n    ttl: 1d\n    source: src\n    schema:\n")
	for i, f := range featureNames() {
		dtype := "Float32"
		if i%2 == 1 {
			dtype = "Int64"
		}
		fmt.Fprintf(&defs, "      - {name: %s, dtype: %s}\n", f, dtype)
	}
	yaml := fmt.Sprintf("project: %s\nregistry: data/registry.db\nprovider: local\n%sentity_key_serialization_version: 3\n", project, onlineStore)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "feature_store.yaml"), []byte(yaml), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(defs.String()), 0o644); err != nil {
		return err
	}
	fs, err := feast.Open(ctx, feast.Options{RepoPath: dir})
	if err != nil {
		return err
	}
	defer fs.Close()
	p, err := fs.Plan(ctx)
	if err != nil {
		return err
	}
	if err := fs.Apply(ctx, p); err != nil {
		return err
	}
	fv, err := fs.FeatureView(ctx, view)
	if err != nil {
		return err
	}
	st, err := fs.OnlineStore(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	b := online.WriteBatch{Project: project, View: fv, Features: featureNames()}
	for e := 0; e < nEntities; e++ {
		key, _ := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{i64(int64(e))})
		vals := make([]*types.Value, nFeatures)
		for i := range vals {
			if i%2 == 0 {
				vals[i] = &types.Value{Val: &types.Value_FloatVal{FloatVal: rand.Float32()}}
			} else {
				vals[i] = i64(rand.Int64N(1000))
			}
		}
		b.Rows = append(b.Rows, online.Row{EntityKey: key, Values: vals, EventTS: now, CreatedTS: now})
	}
	_, err = st.Write(ctx, b)
	return err
}

func i64(n int64) *types.Value { return &types.Value{Val: &types.Value_Int64Val{Int64Val: n}} }

// teardown removes the project's data from the online store (its keys in
// Redis, its table in SQLite).
func teardown(dir string) {
	fs, err := feast.Open(context.Background(), feast.Options{RepoPath: dir})
	if err != nil {
		return
	}
	defer fs.Close()
	_ = fs.Teardown(context.Background())
}

// cpuSeconds returns user+system CPU seconds of pid.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may contain spaces).
	s := string(data[bytes.LastIndexByte(data, ')')+2:])
	f := strings.Fields(s)
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

func redisPID(ctx context.Context, c rueidis.Client) int {
	info, err := c.Do(ctx, c.B().Info().Section("server").Build()).ToString()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			n, _ := strconv.Atoi(v)
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", n)); err == nil {
				return n
			}
		}
	}
	return 0
}

type result struct {
	requests  int64
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
}

// load runs conc closed-loop clients calling do for d.
func load(conc int, d time.Duration, do func(worker int, i int) error) result {
	var wg sync.WaitGroup
	var errs atomic.Int64
	lats := make([][]time.Duration, conc)
	deadline := time.Now().Add(d)
	start := time.Now()
	var firstErr atomic.Value
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			l := make([]time.Duration, 0, 1<<16)
			for i := 0; ; i++ {
				t0 := time.Now()
				if t0.After(deadline) {
					break
				}
				if err := do(w, i); err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err)
					}
					continue
				}
				l = append(l, time.Since(t0))
			}
			lats[w] = l
		}(w)
	}
	wg.Wait()
	r := result{elapsed: time.Since(start), errors: errs.Load()}
	for _, l := range lats {
		r.latencies = append(r.latencies, l...)
	}
	r.requests = int64(len(r.latencies))
	if e := firstErr.Load(); e != nil {
		fmt.Fprintln(os.Stderr, "first error:", e)
	}
	return r
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func run(redisAddr, httpAddr, grpcAddr, floorAddr, floorGRPCAddr, cpuProfile string, d time.Duration, clients []int, protos []string, fcounts, ecounts []int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "feast-bench-serving")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	project := fmt.Sprintf("bench_%d", os.Getpid())
	if err := setup(ctx, dir, redisOnlineStore(redisAddr), project); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer teardown(dir)

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-child", dir, "-http", httpAddr, "-grpc", grpcAddr, "-cpuprofile", cpuProfile)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	if err := waitHealthy("http://" + httpAddr + "/health"); err != nil {
		return err
	}
	fcmd := exec.Command(exe, "-floor", project, "-http", floorAddr, "-floor-grpc", floorGRPCAddr, "-redis", redisAddr)
	fcmd.Stdout, fcmd.Stderr = os.Stderr, os.Stderr
	if err := fcmd.Start(); err != nil {
		return err
	}
	defer func() {
		fcmd.Process.Signal(syscall.SIGTERM)
		fcmd.Wait()
	}()
	if err := waitHealthy("http://" + floorAddr + "/health"); err != nil {
		return err
	}

	maxConc := 0
	for _, c := range clients {
		maxConc = max(maxConc, c)
	}
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: maxConc, MaxConnsPerHost: maxConc,
		DialContext: (&net.Dialer{}).DialContext, DisableCompression: true}}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	grpcClient := serving.NewServingServiceClient(conn)
	fconn, err := grpc.NewClient(floorGRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer fconn.Close()
	grpcFloorClient := serving.NewServingServiceClient(fconn)
	// The raw baseline uses the server's client, rueidis: "redis" with its
	// default auto-pipelining (concurrent clients share connections and
	// system calls), "redispool" with one pooled connection per request.
	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{redisAddr}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		return err
	}
	defer rdb.Close()
	rpool, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{redisAddr}, DisableCache: true, ForceSingleClient: true,
		DisableAutoPipelining: true, BlockingPoolSize: maxConc + 4})
	if err != nil {
		return err
	}
	defer rpool.Close()
	rpid := redisPID(ctx, rdb)
	spid := cmd.Process.Pid

	fmt.Printf("# Online serving benchmark: %d features in one view, %d entities in Redis %s, %v per case, GOMAXPROCS of this machine: %d cores\n\n",
		nFeatures, nEntities, redisAddr, d, runtimeCPUs())
	fmt.Println("| proto | features | entities | clients | req/s | p50 | p99 | server CPU/req | redis CPU/req | client CPU/req | errors |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	lean := &leanClients{addr: httpAddr, conns: make([]*leanConn, maxConc)}
	defer lean.close()
	leanFloor := &leanClients{addr: floorAddr, conns: make([]*leanConn, maxConc)}
	defer leanFloor.close()
	names := featureNames()
	for _, nf := range fcounts {
		for _, ne := range ecounts {
			for _, conc := range clients {
				for _, proto := range protos {
					cl := lean
					pid := spid
					gc := grpcClient
					switch proto {
					case "floor":
						cl, pid = leanFloor, fcmd.Process.Pid
					case "grpcfloor":
						gc, pid = grpcFloorClient, fcmd.Process.Pid
					}
					do, err := requester(proto, nf, ne, names, project, httpAddr, httpClient, cl, gc, rdb, rpool)
					if err != nil {
						return err
					}
					load(conc, d/10, do) // warm up
					s0, r0, c0 := cpuSeconds(pid), cpuSeconds(rpid), cpuSeconds(os.Getpid())
					res := load(conc, d, do)
					s1, r1, c1 := cpuSeconds(pid), cpuSeconds(rpid), cpuSeconds(os.Getpid())
					sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
					rps := float64(res.requests) / res.elapsed.Seconds()
					serverCPU := "-"
					if !strings.HasPrefix(proto, "redis") && res.requests > 0 {
						serverCPU = fmtDur(time.Duration((s1 - s0) / float64(res.requests) * 1e9))
					}
					redisCPU := "-"
					if rpid != 0 && res.requests > 0 {
						redisCPU = fmtDur(time.Duration((r1 - r0) / float64(res.requests) * 1e9))
					}
					clientCPU := "-"
					if res.requests > 0 {
						clientCPU = fmtDur(time.Duration((c1 - c0) / float64(res.requests) * 1e9))
					}
					fmt.Printf("| %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %d |\n", proto, nf, ne, conc, rps,
						fmtDur(pct(res.latencies, .5)), fmtDur(pct(res.latencies, .99)), serverCPU, redisCPU, clientCPU, res.errors)
				}
			}
		}
	}
	return nil
}

func runtimeCPUs() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "processor\t:")
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	default:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
}

func waitHealthy(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("server did not become healthy")
}

// requester returns the per-request function of one case. Entity ids are
// drawn from a fixed pseudo-random sequence of 64 prebuilt requests.
func requester(proto string, nf, ne int, names []string, project, httpAddr string, hc *http.Client, lean *leanClients, gc serving.ServingServiceClient, rdb, rpool rueidis.Client) (func(int, int) error, error) {
	const variants = 64
	rng := rand.New(rand.NewPCG(uint64(nf), uint64(ne)))
	ids := make([][]int64, variants)
	for v := range ids {
		for e := 0; e < ne; e++ {
			ids[v] = append(ids[v], rng.Int64N(nEntities))
		}
	}
	refs := make([]string, nf)
	for i := range refs {
		refs[i] = view + ":" + names[i]
	}
	switch proto {
	case "http", "httpstd", "floor":
		bodies := make([][]byte, variants)
		for v := range bodies {
			var b strings.Builder
			b.WriteString(`{"features":["` + strings.Join(refs, `","`) + `"],"entities":{"driver_id":[`)
			for i, id := range ids[v] {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.FormatInt(id, 10))
			}
			b.WriteString("]}}")
			bodies[v] = []byte(b.String())
		}
		if proto != "httpstd" {
			path := "/get-online-features"
			if proto == "floor" {
				path = fmt.Sprintf("/floor?nf=%d&ne=%d", nf, ne)
			}
			reqs := make([][]byte, variants)
			for v, body := range bodies {
				reqs[v] = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, lean.addr, len(body), body)
			}
			return func(w, i int) error { return lean.post(w, reqs[(w*7+i)%variants]) }, nil
		}
		url := "http://" + httpAddr + "/get-online-features"
		return func(w, i int) error {
			resp, err := hc.Post(url, "application/json", bytes.NewReader(bodies[(w*7+i)%variants]))
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return err
		}, nil
	case "grpc", "grpcfloor":
		reqs := make([]*serving.GetOnlineFeaturesRequest, variants)
		for v := range reqs {
			vals := make([]*types.Value, ne)
			for i, id := range ids[v] {
				vals[i] = i64(id)
			}
			reqs[v] = &serving.GetOnlineFeaturesRequest{
				Kind:     &serving.GetOnlineFeaturesRequest_Features{Features: &serving.FeatureList{Val: refs}},
				Entities: map[string]*types.RepeatedValue{"driver_id": {Val: vals}},
			}
		}
		return func(w, i int) error {
			_, err := gc.GetOnlineFeatures(context.Background(), reqs[(w*7+i)%variants])
			return err
		}, nil
	case "redis", "redispool":
		// The same HMGETs the server issues: one per entity, all features
		// of the view plus its _ts field, in one pipeline.
		c := rdb
		if proto == "redispool" {
			c = rpool
		}
		fields := make([]string, 0, nf+1)
		for i := 0; i < nf; i++ {
			fields = append(fields, string(online.RedisFieldHash(view, names[i])))
		}
		fields = append(fields, redis.TimestampField(view))
		keys := make([][]string, variants)
		for v := range keys {
			for _, id := range ids[v] {
				ek, _ := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{i64(id)})
				keys[v] = append(keys[v], string(redis.Key(ek, project)))
			}
		}
		return func(w, i int) error {
			ks := keys[(w*7+i)%variants]
			cmds := make(rueidis.Commands, len(ks))
			for j, k := range ks {
				cmds[j] = c.B().Hmget().Key(k).Field(fields...).Build()
			}
			for _, r := range c.DoMulti(context.Background(), cmds...) {
				if err := r.Error(); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("unknown protocol %q", proto)
}

// leanClients holds one keep-alive HTTP/1.1 connection per load worker,
// dialled on first use. Worker w only ever uses conns[w].
type leanClients struct {
	addr  string
	conns []*leanConn
}

type leanConn struct {
	c  net.Conn
	br *bufio.Reader
}

func (l *leanClients) close() {
	for _, c := range l.conns {
		if c != nil {
			c.c.Close()
		}
	}
}

// post writes a prebuilt request on worker w's connection and reads the
// whole response; a status other than 200 is an error. A broken
// connection is dropped and redialled by the next call.
func (l *leanClients) post(w int, req []byte) error {
	c := l.conns[w]
	if c == nil {
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			return err
		}
		c = &leanConn{c: conn, br: bufio.NewReaderSize(conn, 64<<10)}
		l.conns[w] = c
	}
	err := c.roundTrip(req)
	if err != nil {
		c.c.Close()
		l.conns[w] = nil
	}
	return err
}

func (c *leanConn) roundTrip(req []byte) error {
	if _, err := c.c.Write(req); err != nil {
		return err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	status := 0
	if f := bytes.Fields(line); len(f) >= 2 {
		status, _ = strconv.Atoi(string(f[1]))
	}
	length, chunked := -1, false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(value))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	switch {
	case length >= 0:
		_, err = c.br.Discard(length)
	case chunked:
		_, err = io.Copy(io.Discard, httputil.NewChunkedReader(c.br))
		if err == nil {
			_, err = c.br.ReadSlice('\n') // the CRLF after the last chunk
		}
	default:
		err = errors.New("response without Content-Length or chunked body")
	}
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("status %d", status)
	}
	return nil
}

// serveFloor is the floor proxy: the cheapest HTTP server that makes the
// Redis calls of a request, to show what an HTTP hop in front of Redis
// costs on this machine by itself. On POST /floor?nf=N&ne=M it issues M
// HMGETs of N feature fields and the _ts field, in one pipeline, on
// entities 0..M-1, and answers with the raw values concatenated: it parses
// no JSON, resolves nothing, decodes and encodes nothing. GET /health
// answers 200.
func serveFloor(project, addr, grpcAddr, redisAddr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{redisAddr}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	names := featureNames()
	fields := make([]string, 0, nFeatures+1)
	for _, n := range names {
		fields = append(fields, string(online.RedisFieldHash(view, n)))
	}
	keys := make([]string, 100)
	for e := range keys {
		ek, _ := online.SerializeEntityKey([]string{"driver_id"}, []*types.Value{i64(int64(e))})
		keys[e] = string(redis.Key(ek, project))
	}
	ts := redis.TimestampField(view)
	gln, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return err
	}
	go serveGRPCFloor(ctx, gln, rc, fields, ts, keys)
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		if string(c.Path()) == "/health" {
			return
		}
		nf, ne := c.QueryArgs().GetUintOrZero("nf"), c.QueryArgs().GetUintOrZero("ne")
		if nf < 1 || nf > nFeatures || ne < 1 || ne > len(keys) {
			c.SetStatusCode(400)
			return
		}
		f := append(fields[:nf:nf], ts)
		cmds := make(rueidis.Commands, ne)
		for e := range cmds {
			cmds[e] = rc.B().Hmget().Key(keys[e]).Field(f...).Build()
		}
		out := c.Response.BodyWriter()
		for _, r := range rc.DoMulti(c, cmds...) {
			vals, err := r.ToArray()
			if err != nil {
				c.SetStatusCode(500)
				return
			}
			for _, v := range vals {
				if s, err := v.ToString(); err == nil {
					io.WriteString(out, s)
				}
			}
		}
	}}
	return serveUntilDone(ctx, srv, addr)
}

// serveUntilDone serves srv on addr until ctx ends (the floor processes stop
// on SIGTERM).
func serveUntilDone(ctx context.Context, srv *fasthttp.Server, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		srv.Shutdown()
	}()
	return srv.Serve(ln)
}
