package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a private redis-server process a test starts, kills,
// freezes and restarts to see how the code under test meets an outage.
// It is not safe for concurrent use.
type RedisServer struct {
	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	out  bytes.Buffer
}

// StartRedis starts redis-server (from PATH) on a free loopback port, with
// persistence off, and stops it when the test ends. Without the binary the
// test is skipped, or fails under CI=true.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not on PATH; install Redis to run the outage tests"
		if InCI() {
			t.Fatalf("CI=true: %s", msg)
		}
		t.Skipf("integration test skipped: %s", msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &RedisServer{t: t, bin: bin, port: port}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// Addr is the server's host:port; it stays the same across restarts.
func (r *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Start starts the server (again, after Kill) and waits until it accepts
// connections.
func (r *RedisServer) Start() {
	r.t.Helper()
	if r.cmd != nil {
		r.t.Fatal("redis-server is already running")
	}
	r.out.Reset()
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", r.t.TempDir())
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.Kill()
			r.t.Fatalf("redis-server on %s did not start: %v\n%s", r.Addr(), err, r.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the server (SIGKILL, as a crash or an OOM kill would) and
// waits for it to exit. Killing a stopped server does nothing.
func (r *RedisServer) Kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// Freeze stops the server process (SIGSTOP): connections stay open but
// nothing is answered, as with a hung server or a network partition.
func (r *RedisServer) Freeze() { r.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (r *RedisServer) Thaw() { r.signal(syscall.SIGCONT) }

func (r *RedisServer) signal(sig syscall.Signal) {
	r.t.Helper()
	if r.cmd == nil {
		r.t.Fatal("redis-server is not running")
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(fmt.Errorf("signal redis-server: %w", err))
	}
}
