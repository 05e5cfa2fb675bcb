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
)

// Random configures random faults. Each rate is a probability per request in [0, 1]. The
// failures exclude one another and are drawn in the engine's Draws order; a slow answer is
// drawn on its own and adds to any of them.
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

// Fault names one of the failures Random draws.
type Fault int

// The failures Random draws.
const (
	Draw429 Fault = iota
	Draw5xx
	Draw500
	DrawReset
	DrawTruncated
	DrawMalformed
)

// Draws fixes how one simulator turns a seed into faults, so a seed keeps giving that
// simulator the same faults run after run.
type Draws struct {
	// Stream is the generator's second seed word, derived from the seed.
	Stream func(seed int64) uint64
	// Order is the order the exclusive failures are drawn in.
	Order []Fault
	// Codes5xx are the statuses a 5xx picks from.
	Codes5xx []int
	// SlowFirst draws the slow answer in Pause, for every request before its faults are
	// decided; otherwise Decide draws it, after the failures, for requests no rule or limit
	// answered.
	SlowFirst bool
}

// Decision is what to do to one request before it is served. The zero value serves it.
type Decision struct {
	Status     int  // HTTP status to answer instead (0 = none)
	Reset      bool // drop the connection
	Truncate   bool // cut the body in half
	Malformed  bool // replace the body with broken JSON
	RetryAfter bool // a 429 that carries Retry-After: 1
	Header     http.Header
	// Delay is a random slow-down drawn by Decide.
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
	match Match
	draws Draws

	mu      sync.Mutex
	latency time.Duration
	limiter *limiter // nil: no rate limit
	random  Random
	rng     *rand.Rand // nil until SetRandom: no random faults
	rules   []*rule
}

// New returns an engine whose rules select paths with match and whose random faults come
// out of a seed as draws says.
func New(match Match, draws Draws) *Engine {
	return &Engine{match: match, draws: draws}
}

// SetLatency delays every request by d.
func (e *Engine) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// SetRateLimit answers 429 beyond rps (a token bucket of burst requests), with
// Retry-After: 1 when retryAfter. rps <= 0 removes the limit.
func (e *Engine) SetRateLimit(rps float64, burst int, retryAfter bool) {
	share := 0.0
	if retryAfter {
		share = 1
	}
	e.SetLimit(Limit{RPS: rps, Burst: max(1, burst), RetryAfter: share})
}

// SetLimit sets the rate limit's shape (see Limit), starting full: a token bucket with its
// whole burst, a fixed window at the start of its first second. RPS <= 0 removes the limit.
func (e *Engine) SetLimit(l Limit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.RPS <= 0 {
		e.limiter = nil
		return
	}
	e.limiter = newLimiter(l, time.Now())
}

// SetRandom replaces the random faults and reseeds their generator, so one Seed gives one
// sequence of faults.
func (e *Engine) SetRandom(r Random) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.random = r
	e.rng = rand.New(rand.NewPCG(uint64(r.Seed), e.draws.Stream(r.Seed)))
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

// roll draws one fault of probability p; a zero p draws nothing. Caller holds e.mu.
func (e *Engine) roll(p float64) bool { return p > 0 && e.rng != nil && e.rng.Float64() < p }

// Pause is what a request waits before its faults are decided: the latency, plus a random
// slow-down when the engine draws it first.
func (e *Engine) Pause() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.latency
	if e.draws.SlowFirst && e.roll(e.random.RateSlow) {
		d += e.random.Slow
	}
	return d
}

// Decide picks the fault of a request to path: rules first, in the order they were added,
// then the rate limit, then random faults. Every FailFrom rule that selects the path counts
// the request; a FailNext rule counts down only when it answers.
func (e *Engine) Decide(path string) Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	var d Decision
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
	if e.limiter != nil {
		if ok, retryAfter := e.limiter.allow(time.Now()); !ok {
			d.Status, d.RetryAfter = http.StatusTooManyRequests, retryAfter
			return d
		}
	}
	if e.rng == nil {
		return d
	}
	f := e.random
	for _, kind := range e.draws.Order {
		if e.draw(&d, kind, f) {
			break
		}
	}
	if !e.draws.SlowFirst && e.roll(f.RateSlow) {
		d.Delay = f.Slow
	}
	return d
}

// draw rolls one failure and records it in d; true when it happened. Caller holds e.mu.
func (e *Engine) draw(d *Decision, kind Fault, f Random) bool {
	switch kind {
	case Draw429:
		if e.roll(f.Rate429) {
			d.Status = http.StatusTooManyRequests
			d.RetryAfter = e.roll(f.Rate429RetryAfter)
			return true
		}
	case Draw5xx:
		if codes := e.draws.Codes5xx; len(codes) > 0 && e.roll(f.Rate5xx) {
			d.Status = codes[e.rng.IntN(len(codes))]
			return true
		}
	case Draw500:
		if e.roll(f.Rate500) {
			d.Status = http.StatusInternalServerError
			return true
		}
	case DrawReset:
		if e.roll(f.RateReset) {
			d.Reset = true
			return true
		}
	case DrawTruncated:
		if e.roll(f.RateTruncated) {
			d.Truncate = true
			return true
		}
	case DrawMalformed:
		if e.roll(f.RateMalformed) {
			d.Malformed = true
			return true
		}
	}
	return false
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
