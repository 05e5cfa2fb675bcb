package faults

import (
	"net/http"
	"testing"
	"time"
)

// passed sends n requests evenly over d from at and counts those the limiter let through.
func passed(l *limiter, at time.Time, n int, d time.Duration) int {
	ok := 0
	for i := range n {
		if pass, _ := l.allow(at.Add(d * time.Duration(i) / time.Duration(n))); pass {
			ok++
		}
	}
	return ok
}

// A token bucket starts full: its burst passes at once, and afterwards it accepts its rate,
// whatever the burst.
func TestLimitTokenBucketShapes(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	for _, tc := range []struct {
		rps       float64
		burst     int
		wantBurst int
	}{
		{20, 0, 2}, {20, 2, 2}, {20, 20, 20}, {20, 40, 40},
		{50, 0, 5}, {50, 5, 5}, {50, 50, 50}, {50, 100, 100},
	} {
		l := newLimiter(Limit{RPS: tc.rps, Burst: tc.burst, RetryAfter: 1}, t0)
		if got := passed(l, t0, 1000, 0); got != tc.wantBurst {
			t.Errorf("%g req/s, burst %d: %d requests at once passed, want the burst %d", tc.rps, tc.burst, got, tc.wantBurst)
		}
		// Twice the rate for ten seconds after the burst is spent: the rate passes, give or
		// take the request the bucket refilled as the first one arrived.
		got := passed(l, t0, int(20*tc.rps), 10*time.Second)
		if want := int(10 * tc.rps); got < want-1 || got > want+1 {
			t.Errorf("%g req/s, burst %d: %d of %d requests over 10 s passed, want %d", tc.rps, tc.burst, got, int(20*tc.rps), want)
		}
	}
}

// A fixed window accepts its rate in each second, counted from when it was set, all at once
// if they come at once, and nothing more until the next second.
func TestLimitFixedWindow(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	for _, rps := range []float64{20, 50} {
		l := newLimiter(Limit{RPS: rps, Burst: 1000, Window: true}, t0)
		if got := passed(l, t0, 3*int(rps), 0); got != int(rps) {
			t.Errorf("%g req/s: %d requests at the window's start passed, want %g", rps, got, rps)
		}
		if got := passed(l, t0.Add(999*time.Millisecond), 10, 0); got != 0 {
			t.Errorf("%g req/s: %d passed at the end of a spent window", rps, got)
		}
		// The next window: the rate again, even at the very end of the last one's second.
		if got := passed(l, t0.Add(time.Second), 2*int(rps), 999*time.Millisecond); got != int(rps) {
			t.Errorf("%g req/s: %d passed in the second window, want %g", rps, got, rps)
		}
		// Evenly sent at twice the rate over ten seconds: the first half of each second passes.
		if got := passed(l, t0.Add(2*time.Second), 20*int(rps), 10*time.Second); got != 10*int(rps) {
			t.Errorf("%g req/s: %d passed over 10 s, want %d", rps, got, 10*int(rps))
		}
	}
}

// Retry-After comes on every 429, on every second one, or never, as the share says.
func TestLimitRetryAfterShare(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	for _, share := range []float64{1, 0.5, 0} {
		for _, window := range []bool{false, true} {
			l := newLimiter(Limit{RPS: 1, Window: window, RetryAfter: share}, t0)
			l.allow(t0)
			var with, refused int
			for range 100 {
				ok, ra := l.allow(t0)
				if ok {
					t.Fatalf("share %g, window %v: a request over the limit passed", share, window)
				}
				refused++
				if ra {
					with++
				}
			}
			if want := int(share * float64(refused)); with != want {
				t.Errorf("share %g, window %v: %d of %d 429s carried Retry-After, want %d", share, window, with, refused, want)
			}
		}
	}
	// Through the engine: alternating, starting with the second 429.
	e := New(Prefix, Draws{})
	e.SetLimit(Limit{RPS: 0.001, RetryAfter: 0.5})
	e.Decide("/api")
	var got []bool
	for range 4 {
		d := e.Decide("/api")
		if d.Status != http.StatusTooManyRequests {
			t.Fatalf("over the limit: %+v", d)
		}
		got = append(got, d.RetryAfter)
	}
	if got[0] || !got[1] || got[2] || !got[3] {
		t.Errorf("Retry-After on the 429s: %v, want every second one", got)
	}
}

func TestLimitValidate(t *testing.T) {
	for _, l := range []Limit{{RPS: 10, Burst: -1}, {RPS: 10, RetryAfter: 1.5}, {RPS: 10, RetryAfter: -0.1}} {
		if l.Validate() == nil {
			t.Errorf("%+v: accepted", l)
		}
	}
	if err := (Limit{RPS: 10, Burst: 20, Window: true, RetryAfter: 0.5}).Validate(); err != nil {
		t.Errorf("a valid limit: %v", err)
	}
}
