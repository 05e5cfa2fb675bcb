package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// The probes follow the worker's life: not ready while it starts, healthy while it polls
// and Temporal answers, unhealthy (saying where to look) when Temporal does not, and neither
// once it is stopping.
func TestHealthAndReadiness(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.Health = NewHealth()
	srv, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	expect := func(when, path string, code int, text string) {
		t.Helper()
		if got, body := get(path); got != code || !strings.Contains(body, text) {
			t.Fatalf("%s: %s = %d %q, want %d with %q", when, path, got, body, code, text)
		}
	}
	expect("starting", "/readyz", http.StatusServiceUnavailable, "starting")
	expect("starting", "/healthz", http.StatusServiceUnavailable, "starting")

	var temporalDown atomic.Bool
	m.Health.Polling(func(context.Context) error {
		if temporalDown.Load() {
			return errors.New("connection refused")
		}
		return nil
	})
	expect("polling", "/readyz", http.StatusOK, "ready")
	expect("polling", "/healthz", http.StatusOK, "ok")

	temporalDown.Store(true)
	expect("Temporal down", "/healthz", http.StatusServiceUnavailable, "TEMPORAL_ADDRESS")
	expect("Temporal down", "/readyz", http.StatusOK, "ready")

	m.Health.Stopping()
	expect("stopping", "/readyz", http.StatusServiceUnavailable, "stopping")
	expect("stopping", "/healthz", http.StatusServiceUnavailable, "stopping")
}
