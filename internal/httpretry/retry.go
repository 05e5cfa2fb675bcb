// Package httpretry is the HTTP plumbing the API clients share: one request loop (Loop) that
// makes attempts, waits between them (exponential backoff with full jitter, or the server's
// Retry-After), bounds what it reads, counts and reports every attempt, and stops when the
// caller's context is done; which transport errors deserve another attempt; which redirects
// may carry a credential; and how to keep that credential out of messages.
//
// What belongs to one particular API is a parameter (Policy): how a request carries the
// credential, what an error answer means, which failures are worth another attempt, how many
// attempts, the size limits and the error a caller sees.
package httpretry

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxRetryAfter bounds what ParseRetryAfter returns. It keeps the seconds→Duration
// multiplication from overflowing and a far-future date from meaning "never"; each client
// caps the actual wait far lower (Backoff.Max).
const MaxRetryAfter = 24 * time.Hour

// Backoff chooses the wait before the next attempt.
type Backoff struct {
	Base time.Duration // ceiling of the first wait; doubled after every attempt
	Max  time.Duration // cap on any single wait, a server's Retry-After included
}

// Jitter is exponential backoff with full jitter: uniform in
// [0, min(Max, Base·2^(attempt-1))] for the 1-based attempt that just failed. Full jitter,
// rather than the bare ceiling, keeps many workers that hit the same limit from coming back
// in lockstep.
func (b Backoff) Jitter(attempt int) time.Duration {
	ceiling := min(b.Base, b.Max)
	for i := 1; i < attempt && ceiling < b.Max; i++ {
		// Saturate at Max instead of doubling past it, so a huge Max cannot overflow.
		if ceiling > b.Max/2 {
			ceiling = b.Max
		} else {
			ceiling *= 2
		}
	}
	if ceiling <= 0 {
		return 0
	}
	if ceiling == math.MaxInt64 {
		return time.Duration(rand.Int64()) // ceiling+1 would overflow; Int64 is already [0, MaxInt64]
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// Wait is the wait after the 1-based attempt that failed: the server's Retry-After header
// value when it is usable (the server knows when it will take us again), otherwise Jitter;
// either way at most Max. Pass "" for failures that carry no answer.
func (b Backoff) Wait(attempt int, retryAfter string, now time.Time) time.Duration {
	if d, ok := ParseRetryAfter(retryAfter, now); ok {
		return min(d, b.Max)
	}
	return b.Jitter(attempt)
}

// ParseRetryAfter reads a Retry-After value, delta-seconds or an HTTP date, as a wait from
// now, capped at MaxRetryAfter. ok is false when the value is absent or unusable, so the
// caller falls back to its own backoff. A negative number is unusable rather than "now":
// the RFC allows only digits, and retrying at once on a malformed header would hammer a
// server that is asking for time. A date in the past means no wait.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Compare in seconds before multiplying: secs·time.Second can overflow.
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter), true
	}
	return 0, false
}

// Sleep waits d or until ctx is done, whichever comes first, and returns ctx's error in the
// latter case. A cancelled ctx wins even when d is zero, so a retry loop never starts
// another attempt for a caller that has gone away.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Transient reports whether a transport error is worth another attempt: connection resets,
// refusals and aborts, timeouts, and bodies cut short. TLS, DNS and URL errors are not: they
// come back the same until someone fixes the configuration.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// net/http reports some mid-response connection losses only as text.
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "server closed idle connection") ||
		strings.Contains(msg, "transport connection broken")
}
