package faults

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Limit is the shape of a rate limit: how much the server accepts, how it refills, and what
// its 429s say. JumpCloud publishes none of this and its gateways differ, so the pacer is
// measured against several shapes.
type Limit struct {
	// RPS is the sustained rate, requests per second; 0 or less removes the limit.
	RPS float64
	// Burst is how many requests a token bucket accepts at once, a full bucket; 0 takes a
	// tenth of RPS (at least one). A fixed window ignores it.
	Burst int
	// Window replaces the token bucket with a fixed one-second window: the first RPS
	// requests of each second (counted from when the limit was set) pass, the rest get 429
	// until the next second starts.
	Window bool
	// RetryAfter is the share of 429s that carry Retry-After: 1, spread evenly (at one half,
	// every second 429 carries it): 1 on every one, 0 on none.
	RetryAfter float64
}

// Validate says what is wrong with a limit that is set (RPS > 0).
func (l Limit) Validate() error {
	switch {
	case math.IsNaN(l.RPS) || math.IsInf(l.RPS, 0):
		return fmt.Errorf("rate limit %v req/s is not a number of requests per second", l.RPS)
	case l.Burst < 0:
		return fmt.Errorf("rate limit burst %d is negative", l.Burst)
	case l.RetryAfter < 0 || l.RetryAfter > 1 || math.IsNaN(l.RetryAfter):
		return fmt.Errorf("share of 429s with Retry-After %v is not between 0 and 1", l.RetryAfter)
	}
	return nil
}

// DefaultBurst is a token bucket's burst when Limit.Burst is 0: a tenth of the rate.
func DefaultBurst(rps float64) int { return max(1, int(rps/10)) }

// limiter is a Limit in force. Callers hold the engine's lock.
type limiter struct {
	shape  Limit
	bucket *rate.Limiter // nil for a fixed window
	// The fixed window: its start, and the requests it accepted.
	start    time.Time
	window   int64
	accepted int
	refused  int // 429s answered, for RetryAfter's share
}

func newLimiter(l Limit, now time.Time) *limiter {
	lim := &limiter{shape: l, start: now, window: -1}
	if !l.Window {
		burst := l.Burst
		if burst == 0 {
			burst = DefaultBurst(l.RPS)
		}
		lim.bucket = rate.NewLimiter(rate.Limit(l.RPS), burst)
	}
	return lim
}

// allow says whether a request arriving at now passes; when it does not, whether its 429
// carries Retry-After.
func (l *limiter) allow(now time.Time) (ok, retryAfter bool) {
	if l.bucket != nil {
		ok = l.bucket.AllowN(now, 1)
	} else {
		w := int64(now.Sub(l.start) / time.Second)
		if w != l.window {
			l.window, l.accepted = w, 0
		}
		// A window of a fractional rate accepts the whole part; at least one.
		if ok = l.accepted < max(1, int(l.shape.RPS)); ok {
			l.accepted++
		}
	}
	if ok {
		return true, false
	}
	l.refused++
	// Evenly spread: the nth 429 carries it when the running count of those due grows.
	share := l.shape.RetryAfter
	return false, math.Floor(float64(l.refused)*share) > math.Floor(float64(l.refused-1)*share)
}
