// Package testenv finds the real services integration tests run against.
//
// Each accessor checks that the service answers. When it does not, the test
// is skipped with a message naming the service, except under CI=true, where
// a missing service fails the test: CI must never silently skip them.
package testenv

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Defaults match the services of the development machine and CI; each can be
// overridden with an environment variable.
const (
	defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	defaultMySQL    = "root@tcp(127.0.0.1:3306)/test?parseTime=true&multiStatements=true"
	defaultRedis    = "127.0.0.1:6379"
)

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

func require(t testing.TB, service, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		conn.Close()
		return
	}
	msg := fmt.Sprintf("%s is not reachable at %s (%v); start it or set the FEAST_TEST_* variable", service, addr, err)
	if InCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skipf("integration test skipped: %s", msg)
}

// PostgresDSN returns a URL for the test PostgreSQL database
// (FEAST_TEST_POSTGRES), skipping or failing the test when it is down.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	dsn := getenv("FEAST_TEST_POSTGRES", defaultPostgres)
	require(t, "PostgreSQL", hostPort(dsn, "127.0.0.1:5432"))
	return dsn
}

// MySQLDSN returns a go-sql-driver DSN for the test MariaDB/MySQL database
// (FEAST_TEST_MYSQL).
func MySQLDSN(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	dsn := getenv("FEAST_TEST_MYSQL", defaultMySQL)
	addr := "127.0.0.1:3306"
	if i := strings.Index(dsn, "tcp("); i >= 0 {
		if j := strings.Index(dsn[i:], ")"); j > 0 {
			addr = dsn[i+4 : i+j]
		}
	}
	require(t, "MariaDB/MySQL", addr)
	return dsn
}

// RedisAddr returns host:port of the test Redis (FEAST_TEST_REDIS).
func RedisAddr(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	addr := getenv("FEAST_TEST_REDIS", defaultRedis)
	require(t, "Redis", addr)
	return addr
}

func hostPort(url, def string) string {
	s := url
	if i := strings.Index(s, "@"); i >= 0 {
		s = s[i+1:]
	} else if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return def
	}
	if !strings.Contains(s, ":") {
		s += ":5432"
	}
	return s
}

var counter atomic.Int64

// UniqueName returns a name unique to this process, for tables, schemas,
// projects and key prefixes that tests create on shared servers.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), counter.Add(1))
}
