// Package faults is the fault engine both simulators share: latency, a rate limit, random
// faults drawn from a seeded generator, and deterministic rules that fail chosen requests.
// The engine decides what happens to a request; each simulator answers in its API's words.
package faults

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Random configures random faults. Each rate is a probability per request in [0, 1]. The
// failures exclude one another and are drawn in the order 429, 5xx, 500, reset, truncated,
// malformed; a slow answer is drawn on its own and adds to any of them.
type Random struct {
	Rate429 float64
	// Rate429RetryAfter is the fraction of the random 429s that carry Retry-After: 1.
	Rate429RetryAfter float64
	Rate5xx           float64 // one of the engine's 5xx statuses
	Rate500           float64 // 500 Internal Server Error
	RateReset         float64 // connection dropped without a response
	RateSlow          float64 // answer only after Slow
	RateTruncated     float64 // 200 with a body cut in half
	RateMalformed     float64 // 200 with a body that is not valid JSON
	Slow              time.Duration
	Seed              int64
}

// Statuses with a special meaning in a rule.
const (
	Reset     = 0  // close the connection without answering
	Truncated = -1 // send a 200 whose body stops half way
)

// Match says whether a rule's pattern selects a request path.
type Match func(path, pattern string) bool

// Prefix selects paths that start with the pattern.
func Prefix(path, pattern string) bool { return strings.HasPrefix(path, pattern) }

// Suffix selects paths that end with the pattern.
func Suffix(path, pattern string) bool { return strings.HasSuffix(path, pattern) }

// Decision is what to do to one request before it is served. The zero value serves it.
type Decision struct {
	Status     int  // HTTP status to answer instead (0 = none)
	Reset      bool // drop the connection
	Truncate   bool // cut the body in half
	Malformed  bool // replace the body with broken JSON
	RetryAfter bool // a 429 that carries Retry-After: 1
	Header     http.Header
	// Delay is the configured latency plus any random slow-down.
	Delay time.Duration
}

// Fails reports whether the request is answered by the engine rather than served.
func (d Decision) Fails() bool { return d.Status != 0 || d.Reset }

type rule struct {
	pattern   string
	remaining int  // Next: failures left
	from      bool // From: fail after the first `after` matches
	after     int
	seen      int
	status    int
	header    http.Header
}

// Engine holds one simulator's fault knobs; it is safe for concurrent use, so the knobs can
// change while requests are served.
type Engine struct {
	match    Match
	codes5xx []int

	mu         sync.Mutex
	latency    time.Duration
	limiter    *rate.Limiter
	retryAfter bool
	random     Random
	rng        *rand.Rand // nil until SetRandom: no random faults
	rules      []*rule
}

// New returns an engine whose rules select paths with match and whose random 5xx answers are
// drawn from codes5xx.
func New(match Match, codes5xx ...int) *Engine {
	return &Engine{match: match, codes5xx: codes5xx}
}

// SetLatency delays every request by d.
func (e *Engine) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// SetRateLimit answers 429 beyond rps (burst), with Retry-After: 1 when retryAfter.
// rps <= 0 removes the limit.
func (e *Engine) SetRateLimit(rps float64, burst int, retryAfter bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rps <= 0 {
		e.limiter = nil
		return
	}
	e.limiter = rate.NewLimiter(rate.Limit(rps), max(1, burst))
	e.retryAfter = retryAfter
}

// SetRandom replaces the random faults and reseeds their generator, so one Seed gives one
// sequence of faults.
func (e *Engine) SetRandom(r Random) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.random = r
	e.rng = rand.New(rand.NewPCG(uint64(r.Seed), uint64(r.Seed)^0xfa017))
}

// FailNext fails the next n requests the pattern selects with status (Reset, Truncated or
// an HTTP status), answering with the extra headers h.
func (e *Engine) FailNext(pattern string, n, status int, h http.Header) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = append(e.rules, &rule{pattern: pattern, remaining: n, status: status, header: h.Clone()})
}

// FailFrom lets the first afterN requests the pattern selects through and fails every later
// one with status until Clear.
func (e *Engine) FailFrom(pattern string, afterN, status int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = append(e.rules, &rule{pattern: pattern, from: true, after: afterN, status: status})
}

// Clear removes random faults and rules; latency and the rate limit stay.
func (e *Engine) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.random = Random{}
	e.rules = nil
}

// Decide picks the fault of a request to path: rules first, in the order they were added,
// then the rate limit, then random faults. Every FailFrom rule that selects the path counts
// the request; a FailNext rule counts down only when it answers.
func (e *Engine) Decide(path string) Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := Decision{Delay: e.latency}
	applied := false
	for _, r := range e.rules {
		if !e.match(path, r.pattern) {
			continue
		}
		fire := false
		if r.from {
			r.seen++
			fire = r.seen > r.after
		} else if !applied && r.remaining > 0 {
			r.remaining--
			fire = true
		}
		if fire && !applied {
			applied = true
			d.apply(r.status)
			d.Header = r.header
		}
	}
	if applied {
		return d
	}
	if e.limiter != nil && !e.limiter.Allow() {
		d.Status, d.RetryAfter = http.StatusTooManyRequests, e.retryAfter
		return d
	}
	if e.rng == nil {
		return d
	}
	f := e.random
	roll := func(p float64) bool { return p > 0 && e.rng.Float64() < p }
	switch {
	case roll(f.Rate429):
		d.Status = http.StatusTooManyRequests
		d.RetryAfter = roll(f.Rate429RetryAfter)
	case len(e.codes5xx) > 0 && roll(f.Rate5xx):
		d.Status = e.codes5xx[e.rng.IntN(len(e.codes5xx))]
	case roll(f.Rate500):
		d.Status = http.StatusInternalServerError
	case roll(f.RateReset):
		d.Reset = true
	case roll(f.RateTruncated):
		d.Truncate = true
	case roll(f.RateMalformed):
		d.Malformed = true
	}
	if roll(f.RateSlow) {
		d.Delay += f.Slow
	}
	return d
}

func (d *Decision) apply(status int) {
	switch status {
	case Reset:
		d.Reset = true
	case Truncated:
		d.Truncate = true
	default:
		d.Status = status
	}
}

// Sleep waits d; false if the client went away first.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ResetConn drops the connection without a response; with SO_LINGER 0 the client sees a
// reset rather than a clean close. A writer that cannot hand over its connection aborts the
// handler, which drops the connection too.
func ResetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
