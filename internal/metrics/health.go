package metrics

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Health is what the worker's probe endpoints report, beside /metrics:
//   - /readyz answers 200 once the worker polls its task queue, and 503 before that and
//     once it is stopping: an orchestrator sends it no traffic, and a rolling update waits
//     for it, by this;
//   - /healthz answers 200 while the worker polls and Temporal answers its health check
//     (within 5 s), and 503 with the reason otherwise. Temporal being out of reach fails it
//     too, so a liveness probe on it must allow longer than a Temporal outage a restart
//     would not cure (a failure threshold of minutes), or use /readyz instead.
type Health struct {
	mu      sync.Mutex
	polling bool
	state   string // why the worker is not polling
	check   func(context.Context) error
}

// NewHealth is a worker that has not started polling yet.
func NewHealth() *Health { return &Health{state: "starting: not polling its task queue yet"} }

// Polling says the worker polls its task queue from now on; check asks Temporal whether it
// answers (client.CheckHealth).
func (h *Health) Polling(check func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.polling, h.check = true, check
}

// Stopping says the worker no longer takes new work.
func (h *Health) Stopping() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.polling, h.state = false, "stopping: running phases hand over, no new work is taken"
}

func (h *Health) status() (bool, string, func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.polling, h.state, h.check
}

// healthCheckTimeout bounds Temporal's health check, well inside a probe's usual timeout.
const healthCheckTimeout = 5 * time.Second

func (h *Health) serveReady(w http.ResponseWriter, _ *http.Request) {
	polling, state, _ := h.status()
	if !polling {
		http.Error(w, state, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready: polling its task queue")
}

func (h *Health) serveHealth(w http.ResponseWriter, r *http.Request) {
	polling, state, check := h.status()
	if !polling {
		http.Error(w, state, http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthCheckTimeout)
	defer cancel()
	if err := check(ctx); err != nil {
		http.Error(w, fmt.Sprintf("Temporal does not answer its health check (TEMPORAL_ADDRESS / --temporal-address): %v", err), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok: polling its task queue; Temporal answers")
}
