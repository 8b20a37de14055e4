package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
)

// proxy forwards a loopback port to the test PostgreSQL server; Stop closes
// the listener and every connection, as a server that went away does, and
// Start listens on the same port again.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

func (p *proxy) Start() {
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestOutageConnectionLost serves through a proxy that then goes away:
// reads and pings fail at once with ErrUnavailable, and the pool
// reconnects once the server is reachable again.
func TestOutageConnectionLost(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	i := strings.Index(dsn, "@")
	j := strings.IndexAny(dsn[i:], "/?")
	px := newProxy(t, dsn[i+1:i+j])
	schema := testenv.UniqueName("online")
	s, err := Open(ctx, config.PostgresConfig{DSN: dsn[:i+1] + px.addr + dsn[i+j:], DBSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
		s.Close()
	})
	project, views := onlinetest.Setup(t, s, 1, "conv_rate")
	reqs := []online.ReadRequest{{Project: project, View: views[0], Features: []string{"conv_rate"},
		EntityKeys: [][]byte{onlinetest.DriverKey(t, 1001)}}}
	if _, err := s.Read(ctx, reqs); err != nil {
		t.Fatal(err)
	}

	px.Stop()
	start := time.Now()
	_, err = s.Read(ctx, reqs)
	if !errors.Is(err, online.ErrUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("read with the server gone: %v after %v, want ErrUnavailable fast", err, time.Since(start))
	}
	t.Logf("read with the server gone: %v after %v", err, time.Since(start))
	// The pool's connections are gone now; a second read dials and is
	// refused.
	if _, err := s.Read(ctx, reqs); !errors.Is(err, online.ErrUnavailable) {
		t.Fatalf("second read with the server gone: %v", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, online.ErrUnavailable) {
		t.Fatalf("ping with the server gone: %v", err)
	}

	px.Start()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after the server is back: %v", err)
	}
	if _, err := s.Read(ctx, reqs); err != nil {
		t.Fatalf("read after the server is back: %v", err)
	}
}

// TestOpenUnreachable opens against a port nothing listens on, and against
// a listener that accepts but never answers (the startup message hangs):
// both fail with ErrUnavailable, the second after the connect timeout
// (1s by default) instead of never.
func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().String()
	l.Close()
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	for _, tt := range []struct {
		name string
		cfg  config.PostgresConfig
		max  time.Duration
	}{
		{"refused", config.PostgresConfig{DSN: "postgres://u@" + free + "/db?sslmode=disable"}, 500 * time.Millisecond},
		{"hung", config.PostgresConfig{DSN: "postgres://u@" + hung.Addr().String() + "/db?sslmode=disable", ConnectTimeout: 0.3}, time.Second},
		{"hung default timeout", config.PostgresConfig{DSN: "postgres://u@" + hung.Addr().String() + "/db?sslmode=disable"}, 2 * time.Second},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		s, err := Open(ctx, tt.cfg)
		cancel()
		if err == nil {
			s.Close()
			t.Fatalf("%s: open succeeded", tt.name)
		}
		if !errors.Is(err, online.ErrUnavailable) || time.Since(start) > tt.max {
			t.Fatalf("%s: open: %v after %v, want ErrUnavailable within %v", tt.name, err, time.Since(start), tt.max)
		}
		t.Logf("%s: %v after %v", tt.name, err, time.Since(start))
	}
}
