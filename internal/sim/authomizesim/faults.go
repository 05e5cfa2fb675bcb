package authomizesim

import (
	"net/http"
	"time"

	"jcsync/internal/sim/faults"
)

// SetLatency delays every request by d.
func (s *Server) SetLatency(d time.Duration) { s.faults.SetLatency(d) }

// SetFaults replaces the random fault configuration and reseeds the generator.
func (s *Server) SetFaults(f Faults) {
	s.faults.SetRandom(faults.Random{
		Rate429: f.Rate429, Rate429RetryAfter: f.Rate429RetryAfter, Rate5xx: f.Rate5xx,
		RateReset: f.RateReset, RateSlow: f.RateSlow, Slow: f.Slow, Seed: f.Seed,
	})
}

// FailNext makes the next n requests whose path ends with pathSuffix fail with status
// (0 = drop the connection without answering). It is deterministic, unlike SetFaults.
func (s *Server) FailNext(pathSuffix string, n, status int) {
	s.FailNextWithHeader(pathSuffix, n, status, nil)
}

// FailNextWithHeader is FailNext with extra response headers (e.g. Retry-After).
func (s *Server) FailNextWithHeader(pathSuffix string, n, status int, h http.Header) {
	s.faults.FailNext(pathSuffix, n, status, h)
}

// ClearFaults removes random faults, pending FailNext rules and latency.
func (s *Server) ClearFaults() {
	s.faults.Clear()
	s.faults.SetLatency(0)
}
