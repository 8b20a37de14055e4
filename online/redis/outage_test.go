package redis

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/internal/testenv"
	"github.com/feastgo/feast/online"
	"github.com/feastgo/feast/online/onlinetest"
	"github.com/feastgo/feast/proto/feast/types"
)

// readOne reads conv_rate of driver 1001 and reports how long it took.
func readOne(s *Store, project string, req online.ReadRequest) (online.FeatureValue, time.Duration, error) {
	start := time.Now()
	res, err := s.Read(context.Background(), []online.ReadRequest{req})
	if err != nil {
		return online.FeatureValue{}, time.Since(start), err
	}
	return res[0][0][0], time.Since(start), nil
}

// TestOutageKilled kills the server under an open store: reads and pings
// fail at once with ErrUnavailable instead of retrying until the caller's
// deadline, and the store serves again once the server is back.
func TestOutageKilled(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartRedis(t)
	s, err := Open(ctx, config.RedisOnlineConfig{ConnectionString: srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	project, views := onlinetest.Setup(t, s, 1, "conv_rate")
	req := online.ReadRequest{Project: project, View: views[0], Features: []string{"conv_rate"},
		EntityKeys: [][]byte{onlinetest.DriverKey(t, 1001)}}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: views[0], Features: []string{"conv_rate"},
		Rows: []online.Row{{EntityKey: req.EntityKeys[0], Values: []*types.Value{onlinetest.Float64(0.5)}, EventTS: time.Unix(1_700_000_000, 0)}}}); err != nil {
		t.Fatal(err)
	}
	if v, _, err := readOne(s, project, req); err != nil || !v.Found {
		t.Fatalf("read before the outage: %+v, %v", v, err)
	}

	srv.Kill()
	_, took, err := readOne(s, project, req)
	if !errors.Is(err, online.ErrUnavailable) {
		t.Fatalf("read with the server killed: %v, want ErrUnavailable", err)
	}
	if took > time.Second {
		t.Fatalf("read with the server killed took %v; want it to fail fast", took)
	}
	t.Logf("read during the outage: %v after %v", err, took)
	start := time.Now()
	if err := s.Ping(ctx); !errors.Is(err, online.ErrUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("ping with the server killed: %v after %v", err, time.Since(start))
	}
	// A deadline of the caller is the caller's: it stays a deadline.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Read(cctx, []online.ReadRequest{req}); errors.Is(err, online.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("read with a cancelled context: %v", err)
	}

	srv.Start()
	// The restarted server has no persistence: the row is gone, but the
	// store reconnects on its own and reads succeed.
	if v, _, err := readOne(s, project, req); err != nil || v.Found {
		t.Fatalf("read after the restart: %+v, %v", v, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after the restart: %v", err)
	}
	if _, err := s.Write(ctx, online.WriteBatch{Project: project, View: views[0], Features: []string{"conv_rate"},
		Rows: []online.Row{{EntityKey: req.EntityKeys[0], Values: []*types.Value{onlinetest.Float64(0.7)}, EventTS: time.Unix(1_700_000_001, 0)}}}); err != nil {
		t.Fatalf("write after the restart (script reloaded): %v", err)
	}
}

// TestOutageFrozen stops the server process: connections stay open but
// nothing answers, so only the read timeout (socket_timeout) ends a read.
func TestOutageFrozen(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartRedis(t)
	s, err := Open(ctx, config.RedisOnlineConfig{ConnectionString: srv.Addr() + ",socket_timeout=0.3"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	project, views := onlinetest.Setup(t, s, 1, "conv_rate")
	req := online.ReadRequest{Project: project, View: views[0], Features: []string{"conv_rate"},
		EntityKeys: [][]byte{onlinetest.DriverKey(t, 1001)}}
	if _, _, err := readOne(s, project, req); err != nil {
		t.Fatal(err)
	}
	srv.Freeze()
	_, took, err := readOne(s, project, req)
	if !errors.Is(err, online.ErrUnavailable) || took < 250*time.Millisecond || took > 1500*time.Millisecond {
		t.Fatalf("read from a frozen server: %v after %v, want ErrUnavailable after about 0.3s", err, took)
	}
	t.Logf("read from a frozen server: %v after %v", err, took)
	srv.Thaw()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, err := readOne(s, project, req)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the server resumed: %v", err)
		}
	}
}

// TestOpenUnreachable opens against a port nothing listens on, and against
// a listener that accepts but never answers (dial succeeds, the handshake
// hangs): both fail fast with ErrUnavailable.
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
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for name, cs := range map[string]string{
		"refused": free,
		"hung":    hung.Addr().String() + ",socket_connect_timeout=0.3,socket_timeout=0.3",
	} {
		start := time.Now()
		s, err := Open(context.Background(), config.RedisOnlineConfig{ConnectionString: cs})
		if err == nil {
			s.Close()
			t.Fatalf("%s: open succeeded", name)
		}
		if !errors.Is(err, online.ErrUnavailable) || time.Since(start) > 1500*time.Millisecond {
			t.Fatalf("%s: open: %v after %v, want ErrUnavailable fast", name, err, time.Since(start))
		}
		t.Logf("%s: %v after %v", name, err, time.Since(start))
	}
}
