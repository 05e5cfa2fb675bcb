package pacer

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"time"
)

// State is what a pacer learned of its server's limit, for another pacer to start from: the
// next sync of the same account on any worker, a fresh process included. Without it every
// new pacer starts at DefaultInitial and learns the limit again through 429s.
type State struct {
	// Rate is the pacing rate when the state was taken, req/s.
	Rate float64 `json:"rate"`
	// Estimate is the limit estimated at the last congestion event, req/s; 0 when the
	// server never refused a request (its limit is above every rate tried).
	Estimate float64 `json:"estimate,omitempty"`
	// Sure says the estimate was measured (enough accepted requests in its window, or a
	// gentle climb), not guessed from an overshoot of slow start.
	Sure bool `json:"sure,omitempty"`
	// Latency is the average latency of accepted requests: with Rate it sizes the in-flight
	// limit from the first request on.
	Latency       time.Duration `json:"latency,omitempty"`
	InFlightLimit int           `json:"inFlightLimit,omitempty"`
	// What the server's limiter showed: its 429s, how many of them carried Retry-After, and
	// its burst, the requests it accepted at once beyond its rate before the first 429
	// (measured by slow start; 0 when no slow start ran into the limit).
	Throttled  int64 `json:"throttled,omitempty"`
	RetryAfter int64 `json:"retryAfter,omitempty"`
	Burst      int   `json:"burst,omitempty"`
	// At is when the state was taken (the taking worker's clock); Origin names the pacer
	// that took it, so a pacer never starts again from its own state.
	At     time.Time `json:"at"`
	Origin string    `json:"origin,omitempty"`
}

// Known says whether the state holds a rate to start from.
func (s State) Known() bool {
	return s.Rate > 0 && !math.IsNaN(s.Rate) && !math.IsInf(s.Rate, 0) && !math.IsNaN(s.Estimate) && s.Estimate >= 0
}

// State returns what the pacer has learned so far.
func (p *Pacer) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return State{
		Rate: p.rate, Estimate: p.estimate, Sure: p.sure, Latency: p.latency, InFlightLimit: p.limit,
		Throttled: p.seenThrottled + p.throttled, RetryAfter: p.seenRetryAfter + p.retryAfters,
		Burst: p.burst, At: p.clock.Now(), Origin: p.origin,
	}
}

// Seed starts the pacer from s, as if it had learned s itself, and reports whether it did.
// It does nothing when s holds no rate, was taken by this very pacer, or is older than what
// the pacer learned itself (its last congestion event or raise of the rate: a pacer that
// learned after s was taken knows better). A few requests that taught it nothing (a
// credential check before the sync) do not count.
//
// A server that refused before starts just below its estimate (settle × the lower of the
// estimate and the recorded rate) and probes from there as after any congestion event; one that
// never refused starts at the recorded rate, still in slow start. The recorded latency sizes
// the in-flight limit at once. Seeding resets no counter: Snapshot's figures stay this
// pacer's own.
func (p *Pacer) Seed(s State) bool {
	if !s.Known() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.Origin != "" && s.Origin == p.origin {
		return false
	}
	if !p.learnedAt.IsZero() && !s.At.After(p.learnedAt) {
		return false
	}
	now := p.clock.Now()
	rate := s.Rate
	if s.Estimate > 0 {
		p.estimate, p.sure, p.slowStart = p.clamp(s.Estimate), s.Sure, false
		// Below both: the rate may have been probing past the limit when the state was
		// taken, and the estimate errs by a request or two of its window. A 429 costs a
		// second's pause when the server sends Retry-After; starting a twentieth low costs
		// a twentieth of the first seconds, until approach and probe take it up.
		rate = settle * min(rate, s.Estimate)
	} else {
		p.estimate, p.sure, p.slowStart = 0, false, true
	}
	if s.Latency > 0 {
		p.latency = s.Latency
	}
	p.seenThrottled, p.seenRetryAfter = s.Throttled, s.RetryAfter
	if p.burst == 0 {
		p.burst = s.Burst
	}
	p.setRateLocked(rate)
	p.learnedAt = s.At
	p.tickStart, p.tickSent, p.tickThrottled = now, 0, false
	p.limit = p.inFlightLimit()
	p.grantLocked()
	return true
}

// newOrigin is a random name for a pacer.
func newOrigin() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}
