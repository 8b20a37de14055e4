package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/online"
)

// readyTimeout bounds one readiness check. The stores' own dial and read
// timeouts (1s by default) normally end it sooner; it stays under the Helm
// chart's probe timeout (2s).
const readyTimeout = 1500 * time.Millisecond

// readyBody is the /ready response.
type readyBody struct {
	// Status is "ready" or "not ready".
	Status      string            `json:"status"`
	Registry    registryHealth    `json:"registry"`
	OnlineStore onlineStoreHealth `json:"online_store"`
}

type onlineStoreHealth struct {
	Type string `json:"type"`
	// Status is "ok", "unavailable" (cannot be reached or does not answer
	// in time), "error" (answers, but fails) or "none" (online_store:
	// none).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// handleReady serves GET /ready, the readiness check: 200 when a registry
// snapshot is loaded and the online store answers a ping, else 503. The
// body reports both. /health stays the cheap liveness check: a process
// whose online store is down is not broken, and restarting it would not
// help; it recovers by itself when the store is back. Every /ready runs
// the check afresh (a probe every few seconds costs one ping) and leaves
// its result for gRPC health checking (cachedReadiness).
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	s.ready.mu.Lock()
	body, code := s.readiness(r.Context())
	s.ready.mu.Unlock()
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(data)
}

// readyCacheTTL is how long one readiness result answers gRPC health
// checks and watches: however many clients ask, the online store is
// pinged at most about once per readyCacheTTL on their behalf.
const readyCacheTTL = time.Second

// readyCache holds the latest readiness result; mu also serializes the
// checks, so that concurrent callers share one ping.
type readyCache struct {
	mu   sync.Mutex
	at   time.Time
	body readyBody
	code int
}

// readiness runs the readiness check of /ready (bounded by readyTimeout)
// and records its result in s.ready, whose mu the caller holds. The
// registry is ready once a snapshot is loaded, even when the latest
// refresh failed (the body reports it: the last good snapshot serves);
// the online store when it answers a ping or is none.
func (s *Server) readiness(ctx context.Context) (readyBody, int) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	reg := s.fs.Registry()
	body := readyBody{Status: "ready", Registry: registryHealth{Project: s.fs.Project()}}
	code := http.StatusOK
	if snap := reg.Cached(); snap != nil {
		body.Registry.LoadedAt = snap.LoadedAt.UTC().Format(time.RFC3339Nano)
		body.Registry.AgeSeconds = s.fs.Now().Sub(snap.LoadedAt).Seconds()
	} else {
		code = http.StatusServiceUnavailable
	}
	if err := reg.LastError(); err != nil {
		body.Registry.LastRefreshError = s.publicError(err, "refresh failed")
	}
	body.OnlineStore = s.onlineStoreHealth(ctx)
	if body.OnlineStore.Status != "ok" && body.OnlineStore.Status != "none" {
		code = http.StatusServiceUnavailable
	}
	if code != http.StatusOK {
		body.Status = "not ready"
	}
	s.ready.at, s.ready.body, s.ready.code = time.Now(), body, code
	return body, code
}

// cachedReadiness returns the latest readiness result when it is younger
// than readyCacheTTL, else runs the check. The check runs without the
// caller's cancellation (its result is shared), within readyTimeout.
func (s *Server) cachedReadiness(ctx context.Context) (readyBody, int) {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if !s.ready.at.IsZero() && time.Since(s.ready.at) < readyCacheTTL {
		return s.ready.body, s.ready.code
	}
	return s.readiness(context.WithoutCancel(ctx))
}

// onlineStoreHealth opens (when not yet open) and pings the online store.
func (s *Server) onlineStoreHealth(ctx context.Context) onlineStoreHealth {
	h := onlineStoreHealth{Type: s.fs.Config().OnlineStore.Type, Status: "ok"}
	err := s.pingOnlineStore(ctx)
	switch {
	case err == nil:
	case errors.Is(err, feast.ErrNoOnlineStore):
		h.Status = "none"
	case errors.Is(err, online.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.Status, h.Error = "unavailable", s.publicError(err, "cannot be reached")
	default:
		h.Status, h.Error = "error", s.publicError(err, "ping failed")
	}
	if h.Status != "ok" && h.Status != "none" {
		s.log.Warn("readiness: online store not ready", "status", h.Status, "err", err)
	}
	return h
}

// openRetryInterval is how long a failed open of an unreachable online
// store answers for itself before the next request tries again.
const openRetryInterval = time.Second

// onlineOpener remembers the last failed open of an unreachable online
// store. Requests that arrive while the store cannot be opened would each
// wait for their own open (a dial timeout, one after the other, since
// opening is serialized); within openRetryInterval of a failure they get
// that failure at once instead.
type onlineOpener struct {
	mu       sync.Mutex
	err      error
	failedAt time.Time
}

// openOnlineStore returns the online store, opening it on first use; see
// onlineOpener. Open failures count in feast_online_store_errors_total.
func (s *Server) openOnlineStore(ctx context.Context) (online.Store, error) {
	o := &s.opener
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil && time.Since(o.failedAt) < openRetryInterval {
		return nil, o.err
	}
	st, err := s.fs.OnlineStore(ctx)
	if err != nil {
		s.metrics.onlineStoreError("open", err)
		if errors.Is(err, online.ErrUnavailable) {
			o.err, o.failedAt = err, time.Now()
		}
		return nil, err
	}
	o.err = nil
	return st, nil
}

// pingOnlineStore opens the online store when it is not open yet and pings
// it, counting failures in feast_online_store_errors_total.
func (s *Server) pingOnlineStore(ctx context.Context) error {
	st, err := s.openOnlineStore(ctx)
	if err != nil {
		return err
	}
	if err := st.Ping(ctx); err != nil {
		s.metrics.onlineStoreError("ping", err)
		return err
	}
	return nil
}

// warnOnlineStore logs a warning when the online store cannot be reached
// as the server starts. The server serves anyway: online requests answer
// 503 and /ready reports not ready until the store is back, which needs
// no restart.
func (s *Server) warnOnlineStore(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err := s.pingOnlineStore(ctx)
	if err == nil || errors.Is(err, feast.ErrNoOnlineStore) || errors.Is(err, context.Canceled) {
		return
	}
	s.log.Warn("online store unreachable at start; serving, online requests answer 503 until it is back",
		"online_store", s.fs.Config().OnlineStore.Type, "err", err)
}

// pushStore is the feature store as the server's pusher sees it: the
// online store is opened through the server's opener (open failures
// counted; an unreachable store answers at once for openRetryInterval, as
// for reads) and its failed writes count in
// feast_online_store_errors_total{operation="write"}.
type pushStore struct {
	*feast.FeatureStore
	s *Server
}

func (p pushStore) OnlineStore(ctx context.Context) (online.Store, error) {
	if w := p.s.writer.Load(); w != nil {
		return *w, nil
	}
	st, err := p.s.openOnlineStore(ctx)
	if err != nil {
		return nil, err
	}
	var w online.Store = countedWrites{Store: st, m: p.s.metrics}
	p.s.writer.Store(&w)
	return w, nil
}

// countedWrites counts failed online writes.
type countedWrites struct {
	online.Store
	m *metrics
}

func (c countedWrites) Write(ctx context.Context, b online.WriteBatch) (online.WriteStats, error) {
	st, err := c.Store.Write(ctx, b)
	if err != nil {
		c.m.onlineStoreError("write", err)
	}
	return st, err
}
