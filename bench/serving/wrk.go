package main

// The wrk mode: serving measured the way users and other benchmarks
// measure it. `feast serve` runs as built by `go build ./cmd/feast`, with
// its default flags (access log on; only --port is given so that the
// harness does not collide with a server on 6566), and wrk -t1 -c8 drives it
// with bench/serving/online.lua: 10 features, random driver ids. The floor
// proxy (serveFloor) is measured in the same run with the same script and
// body, so that the ratio between the two is what compares across
// machines.
//
// The online store is Redis by default. With -store sqlite the repository's
// online store is instead a SQLite file in the temporary repository (the
// same 10,000 entities × 50 features, written by the store itself; no Redis
// is needed), and the floor is serveSQLiteFloor: the store's SELECT on the
// same file behind fasthttp. Then the server's CPU per request includes
// SQLite's, which runs in its process, and there is no Redis column.
//
// wrk comes from the distribution: apt-get install -y wrk (Debian, Ubuntu)
// or brew install wrk.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/rueidis"
)

// wrkOptions configure runWrk.
type wrkOptions struct {
	store       string // "redis" or "sqlite"
	redisAddr   string // with store redis
	feastBin    string // "" builds ./cmd/feast
	script      string // path of online.lua
	entities    []int
	features    int
	connections int
	warmup      time.Duration
	window      time.Duration
	runs        int
	port        int
	floorAddr   string
	extraArgs   []string // appended to "feast serve" (for comparisons; none by default)
	baseline    string   // a second feast binary measured in the same run ("" for none), on port+1
	baselineEnv []string // extra environment of the baseline (GOGC=400, ...)
}

// wrkTarget is a server under load: its process (for CPU), URL, request
// path for a number of entities and log file.
type wrkTarget struct {
	name string
	pid  int
	url  string
	path func(ne int) string
	log  string
}

// wrkResult is one measured window of one target.
type wrkResult struct {
	target     string
	entities   int
	requests   int64
	seconds    float64
	non2xx     int64
	errors     int64
	p50, p99   time.Duration
	serverCPU  float64 // seconds over the window
	redisCPU   float64
	serverPerR time.Duration
}

func runWrk(o wrkOptions) error {
	wrkBin, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk not found in PATH: install it with `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk` (macOS), then run again")
	}
	if _, err := os.Stat(o.script); err != nil {
		return fmt.Errorf("wrk script %s: %w (run from the repository root or pass -wrk-script)", o.script, err)
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "feast-bench-wrk")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	feastBin := o.feastBin
	if feastBin == "" {
		feastBin = filepath.Join(dir, "feast")
		fmt.Fprintln(os.Stderr, "building ./cmd/feast (go build -tags duckdb_arrow) ...")
		build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", feastBin, "./cmd/feast")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build feast: %w (run from the repository root or pass -feast)", err)
		}
	}
	repo := filepath.Join(dir, "repo")
	project := fmt.Sprintf("benchwrk_%d", os.Getpid())
	sqlitePath := filepath.Join(repo, "data", "online.db")
	onlineStore := redisOnlineStore(o.redisAddr)
	if o.store == "sqlite" {
		onlineStore = sqliteOnlineStore(sqlitePath)
	}
	if err := setup(ctx, repo, onlineStore, project); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer teardown(repo)
	var stops []func()

	// feast serve with its default flags; its log (the access log, one line
	// per request) goes to a file, as a deployment's log collector would
	// take it.
	type served struct {
		name, addr, log string
		pid             int
		args            []string
	}
	start := func(name, bin string, port int, logName string, env []string) (served, error) {
		logFile, err := os.Create(filepath.Join(dir, logName))
		if err != nil {
			return served{}, err
		}
		defer logFile.Close()
		args := append([]string{"serve", "--port", strconv.Itoa(port)}, o.extraArgs...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return served{}, err
		}
		stops = append(stops, func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitHealthy("http://" + addr + "/health"); err != nil {
			return served{}, fmt.Errorf("%s: %w (log: %s)", name, err, tail(logFile.Name()))
		}
		return served{name: name, addr: addr, log: logFile.Name(), pid: cmd.Process.Pid, args: append(append(env[:len(env):len(env)], bin), args...)}, nil
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	servers := []served{}
	srv, err := start("feast serve", feastBin, o.port, "serve.log", nil)
	if err != nil {
		return err
	}
	servers = append(servers, srv)
	if o.baseline != "" {
		b, err := start("baseline", o.baseline, o.port+1, "baseline.log", o.baselineEnv)
		if err != nil {
			return err
		}
		servers = append(servers, b)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	floor := exec.Command(exe, "-floor", project, "-http", o.floorAddr, "-redis", o.redisAddr)
	if o.store == "sqlite" {
		floor = exec.Command(exe, "-floor", project, "-http", o.floorAddr, "-store", "sqlite", "-floor-db", sqlitePath)
	}
	floor.Stdout, floor.Stderr = os.Stderr, os.Stderr
	if err := floor.Start(); err != nil {
		return err
	}
	defer func() {
		floor.Process.Signal(syscall.SIGTERM)
		floor.Wait()
	}()
	if err := waitHealthy("http://" + o.floorAddr + "/health"); err != nil {
		return fmt.Errorf("floor proxy: %w", err)
	}
	rpid := 0
	if o.store == "redis" {
		rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{o.redisAddr}, DisableCache: true, ForceSingleClient: true})
		if err != nil {
			return err
		}
		rpid = redisPID(ctx, rdb)
		rdb.Close()
	}
	floorPath := func(ne int) string { return fmt.Sprintf("/floor?nf=%d&ne=%d", o.features, ne) }
	if err := checkFound(servers[0].addr, o.floorAddr, floorPath(1), o.features); err != nil {
		return err
	}

	fmt.Printf("# wrk -t1 -c%d, %d features, random ids of %d entities; %v warm-up, then %v measured; %d runs; %d cores\n",
		o.connections, o.features, nEntities, o.warmup, o.window, o.runs, runtimeCPUs())
	if o.store == "sqlite" {
		fmt.Printf("# online store: sqlite %s (%d entities × %d features); floor: fasthttp + the store's prepared SELECT (database/sql, mattn/go-sqlite3, read-only)\n",
			sqlitePath, nEntities, nFeatures)
	}
	for _, sv := range servers {
		fmt.Printf("# %s: %s (in %s)\n", sv.name, strings.Join(sv.args, " "), repo)
	}
	fmt.Println()
	if o.store == "sqlite" {
		fmt.Println("| run | target | entities | req/s | p50 | p99 | server CPU/req | non-2xx | errors |")
		fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	} else {
		fmt.Println("| run | target | entities | req/s | p50 | p99 | server CPU/req | redis CPU/req | non-2xx | errors |")
		fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	}
	type key struct {
		target   string
		entities int
	}
	all := map[key][]wrkResult{}
	var targets []wrkTarget
	for _, sv := range servers {
		targets = append(targets, wrkTarget{sv.name, sv.pid, "http://" + sv.addr, func(int) string { return "/get-online-features" }, sv.log})
	}
	targets = append(targets, wrkTarget{"floor", floor.Process.Pid, "http://" + o.floorAddr, floorPath, ""})
	for run := 1; run <= o.runs; run++ {
		for _, ne := range o.entities {
			for _, t := range targets {
				wargs := func(d time.Duration) []string {
					return []string{"-t1", "-c" + strconv.Itoa(o.connections), "-d" + wrkDuration(d), "-s", o.script, t.url,
						"--", strconv.Itoa(ne), strconv.Itoa(o.features), view, strconv.Itoa(nEntities), t.path(ne)}
				}
				if _, err := wrkRun(wrkBin, wargs(o.warmup)); err != nil {
					return fmt.Errorf("%s warm-up: %w", t.name, err)
				}
				s0, r0 := cpuSeconds(t.pid), cpuSeconds(rpid)
				res, err := wrkRun(wrkBin, wargs(o.window))
				if err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
				s1, r1 := cpuSeconds(t.pid), cpuSeconds(rpid)
				res.target, res.entities = t.name, ne
				res.serverCPU, res.redisCPU = s1-s0, r1-r0
				if res.requests > 0 {
					res.serverPerR = time.Duration(res.serverCPU / float64(res.requests) * 1e9)
				}
				redisCPU := "-"
				if rpid != 0 && res.requests > 0 {
					redisCPU = fmtDur(time.Duration(res.redisCPU / float64(res.requests) * 1e9))
				}
				if o.store == "sqlite" {
					fmt.Printf("| %d | %s | %d | %.0f | %s | %s | %s | %d | %d |\n", run, t.name, ne, float64(res.requests)/res.seconds,
						fmtDur(res.p50), fmtDur(res.p99), fmtDur(res.serverPerR), res.non2xx, res.errors)
				} else {
					fmt.Printf("| %d | %s | %d | %.0f | %s | %s | %s | %s | %d | %d |\n", run, t.name, ne, float64(res.requests)/res.seconds,
						fmtDur(res.p50), fmtDur(res.p99), fmtDur(res.serverPerR), redisCPU, res.non2xx, res.errors)
				}
				if res.non2xx > 0 {
					return fmt.Errorf("%s answered %d requests with a status other than 2xx (log: %s)", t.name, res.non2xx, tail(t.log))
				}
				all[key{t.name, ne}] = append(all[key{t.name, ne}], res)
			}
		}
	}
	fmt.Println()
	fmt.Println("| entities | target | CPU/req (median, range) | floor CPU/req (median, range) | ratio of medians |")
	fmt.Println("|---:|---|---:|---:|---:|")
	for _, ne := range o.entities {
		fm, fmin, fmax := cpuStats(all[key{"floor", ne}])
		for _, sv := range servers {
			sm, smin, smax := cpuStats(all[key{sv.name, ne}])
			fmt.Printf("| %d | %s | %s (%s–%s) | %s (%s–%s) | %.2fx |\n", ne, sv.name, fmtDur(sm), fmtDur(smin), fmtDur(smax),
				fmtDur(fm), fmtDur(fmin), fmtDur(fmax), float64(sm)/float64(fm))
		}
	}
	return nil
}

// cpuStats returns the median, minimum and maximum server CPU per request.
func cpuStats(rs []wrkResult) (med, lo, hi time.Duration) {
	if len(rs) == 0 {
		return 0, 0, 0
	}
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = r.serverPerR
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[0], ds[len(ds)-1]
}

func wrkDuration(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

var wrkResultLine = regexp.MustCompile(`wrk-result requests=(\d+) duration_us=(\d+) non2xx=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+)`)

// wrkRun runs wrk and parses the "wrk-result" line of online.lua.
func wrkRun(bin string, args []string) (wrkResult, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	m := wrkResultLine.FindSubmatch(out)
	if m == nil {
		return wrkResult{}, fmt.Errorf("wrk printed no wrk-result line (is -s online.lua?):\n%s", out)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(string(m[i]), 10, 64); return v }
	return wrkResult{requests: n(1), seconds: float64(n(2)) / 1e6, non2xx: n(3), errors: n(4),
		p50: time.Duration(n(5)) * time.Microsecond, p99: time.Duration(n(6)) * time.Microsecond}, nil
}

// checkFound sends one request of nf features for driver 0 to feast serve
// at addr and to the floor at floorAddr, and fails unless the server finds
// the values and the floor answers some bytes: a run against an empty or
// misnamed store would otherwise measure the cost of finding nothing.
func checkFound(addr, floorAddr, floorPath string, nf int) error {
	refs := make([]string, nf)
	for i := range refs {
		refs[i] = fmt.Sprintf("%q", view+":"+featureNames()[i])
	}
	body := `{"features":[` + strings.Join(refs, ",") + `],"entities":{"driver_id":[0]}}`
	post := func(url string) ([]byte, error) {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d: %s", resp.StatusCode, data)
		}
		return data, err
	}
	data, err := post("http://" + addr + "/get-online-features")
	if err != nil {
		return fmt.Errorf("feast serve: check request: %w", err)
	}
	// The entity column is PRESENT too.
	if n := bytes.Count(data, []byte(`"PRESENT"`)); n != nf+1 {
		return fmt.Errorf("feast serve found %d of %d features of driver 0 (the store was not filled?): %.300s", n-1, nf, data)
	}
	data, err = post("http://" + floorAddr + floorPath)
	if err != nil {
		return fmt.Errorf("floor proxy: check request: %w", err)
	}
	if len(data) == 0 {
		return errors.New("the floor proxy read nothing for driver 0: does it read the table and keys feast serve reads?")
	}
	return nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}
