package stream

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// SourceHealth is the state of one source's consumer, as Health reports it
// and /ready and /health render it.
type SourceHealth struct {
	Source string `json:"source"`
	Topic  string `json:"topic"`
	// Status is "ok"; "starting" (Run has not connected it yet);
	// "retrying" (an online write, an offset commit or a dead-letter
	// produce fails and is retried: nothing new is consumed meanwhile);
	// "unreachable" (no broker of the source answered a ping);
	// "stopping" (writing and committing what it read, then leaving the
	// group); or "stopped" (its consumer returned: the runner stopped, or
	// Error says why it could not run).
	Status string `json:"status"`
	// Op is the failing operation of "retrying": "write online",
	// "commit offsets" or "produce dead letter".
	Op    string `json:"op,omitempty"`
	Error string `json:"error,omitempty"`
	// Since is when the failure began (the first failed attempt of Op).
	Since *time.Time `json:"since,omitempty"`
	// LastWrite is the end of the last online write of the source's rows.
	LastWrite *time.Time `json:"last_write,omitempty"`
}

// healthState is a consumer's part of Health, written by its loop.
type healthState struct {
	mu        sync.Mutex
	client    *kgo.Client
	started   bool
	stopping  bool // the consumer is writing what it read and closing
	stopped   bool
	stopErr   error
	failOp    string
	failErr   error
	failSince time.Time
	lastWrite time.Time
	// brokerErr is the last broker ping's failure (nil: it answered),
	// since when the brokers have not answered.
	brokerErr   error
	brokerSince time.Time
}

// Transitions of the brokers' reachability, for logging once per outage.
const (
	brokersSame = iota
	brokersLost
	brokersBack
)

// brokers records a broker ping's outcome and reports a change.
func (h *healthState) brokers(err error, now time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.brokerErr
	h.brokerErr = err
	switch {
	case err != nil && was == nil:
		h.brokerSince = now
		return brokersLost
	case err == nil && was != nil:
		return brokersBack
	}
	return brokersSame
}

func (h *healthState) start(cl *kgo.Client) {
	h.mu.Lock()
	h.client, h.started = cl, true
	h.mu.Unlock()
}

// closing is called before the consumer closes its client: readiness
// stops pinging it.
func (h *healthState) closing() {
	h.mu.Lock()
	h.client, h.stopping = nil, true
	h.mu.Unlock()
}

func (h *healthState) stop(err error) {
	h.mu.Lock()
	h.client, h.stopped, h.stopErr = nil, true, err
	h.mu.Unlock()
}

// failed records a failed attempt of op; the first one of a run of
// failures sets since.
func (h *healthState) failed(op string, err error, now time.Time) {
	h.mu.Lock()
	if h.failOp != op {
		h.failSince = now
	}
	h.failOp, h.failErr = op, err
	h.mu.Unlock()
}

// succeeded ends a run of failures of op.
func (h *healthState) succeeded(op string) {
	h.mu.Lock()
	if h.failOp == op {
		h.failOp, h.failErr = "", nil
	}
	h.mu.Unlock()
}

func (h *healthState) wrote(now time.Time) {
	h.mu.Lock()
	h.lastWrite = now
	h.mu.Unlock()
}

// pingTimeout bounds each broker ping of a readiness check.
const pingTimeout = 2 * time.Second

// Health reports every source's consumer. With ping, a consumer that is
// otherwise "ok" pings its brokers (within 2s, all sources at once) and is
// "unreachable" when none answers: the Kafka client retries a refused
// broker on its own, silently, so a ping is the only way to see it. ready
// is true when every source is "ok"; live is false when a consumer
// stopped with an error while the others run on.
func (r *Runner) Health(ctx context.Context, ping bool) (sources []SourceHealth, ready, live bool) {
	sources = make([]SourceHealth, len(r.consumers))
	clients := make([]*kgo.Client, len(r.consumers))
	live = true
	for i, c := range r.consumers {
		h := &c.health
		h.mu.Lock()
		s := SourceHealth{Source: c.source.Name, Topic: c.source.Topic, Status: "ok"}
		if !h.lastWrite.IsZero() {
			t := h.lastWrite.UTC()
			s.LastWrite = &t
		}
		switch {
		case h.stopped:
			s.Status = "stopped"
			if h.stopErr != nil {
				s.Error = h.stopErr.Error()
				live = false
			}
		case !h.started:
			s.Status = "starting"
		case h.stopping:
			s.Status = "stopping"
		case h.failOp != "":
			since := h.failSince.UTC()
			s.Status, s.Op, s.Error, s.Since = "retrying", h.failOp, h.failErr.Error(), &since
		default:
			if h.brokerErr != nil {
				// The consumer's own check; a ping below may overrule it.
				since := h.brokerSince.UTC()
				s.Status, s.Error, s.Since = "unreachable", "no broker answered: "+h.brokerErr.Error(), &since
			}
			clients[i] = h.client
		}
		h.mu.Unlock()
		sources[i] = s
	}
	if ping {
		var wg sync.WaitGroup
		for i, cl := range clients {
			if cl == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(ctx, pingTimeout)
				defer cancel()
				if err := cl.Ping(pctx); err != nil {
					sources[i].Status, sources[i].Error = "unreachable", "no broker answered: "+err.Error()
				} else {
					sources[i].Status, sources[i].Error, sources[i].Since = "ok", "", nil
				}
			}()
		}
		wg.Wait()
	}
	ready = !slices.ContainsFunc(sources, func(s SourceHealth) bool { return s.Status != "ok" })
	return sources, ready, live
}

// Handler serves the runner's health checks, in the shape of feast
// serve's:
//
//   - GET /health (liveness): 200 while every consumer runs or stopped
//     cleanly; 503 when one stopped with an error. A failing online store
//     or broker does not fail it: restarting would not help.
//   - GET /ready (readiness): 200 when every source is "ok" and its
//     brokers answer a ping; 503 naming each source's status, failing
//     operation and error otherwise. The result is kept for 1s, so probes
//     ping the brokers at most once a second.
func (r *Runner) Handler() http.Handler {
	var (
		mu      sync.Mutex
		checked time.Time
		body    []byte
		code    int
	)
	write := func(w http.ResponseWriter, code int, v any) {
		b, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(append(b, '\n'))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, req *http.Request) {
		sources, _, live := r.Health(req.Context(), false)
		if !live {
			write(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "sources": sources})
			return
		}
		write(w, http.StatusOK, map[string]any{"status": "ok", "sources": sources})
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(checked) >= time.Second || body == nil {
			// Not the request's context: a probe that hangs up must not
			// leave "context canceled" cached for the next one.
			sources, ready, _ := r.Health(context.WithoutCancel(req.Context()), true)
			status, c := "ok", http.StatusOK
			if !ready {
				status, c = "unavailable", http.StatusServiceUnavailable
			}
			body, _ = json.Marshal(map[string]any{"status": status, "sources": sources})
			code, checked = c, time.Now()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(append(body, '\n'))
	})
	return mux
}
