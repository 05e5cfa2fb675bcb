package pacer

import (
	"fmt"
	"testing"
	"time"
)

// sentWithin counts the requests sent in the first d of a simulated sync.
func sentWithin(r simResult, d time.Duration) int {
	n := 0
	for _, at := range r.sends {
		if at.Sub(r.sends[0]) < d {
			n++
		}
	}
	return n
}

// A pacer seeded with what another learned starts at the learned rate: its first second
// carries nearly the limit's worth of requests, where a fresh pacer sends a fraction of it
// while slow start climbs from DefaultInitial, and it draws fewer 429s.
func TestSeededPacerStartsAtLearnedRate(t *testing.T) {
	for _, limit := range []float64{20, 50, 200} {
		t.Run(fmt.Sprintf("limit=%v", limit), func(t *testing.T) {
			cfg := simConfig{limit: limit, retryAfter: time.Second, latency: 40 * time.Millisecond, callers: 32, items: 2000}
			fresh := simulate(t, cfg)
			learned := fresh.state
			if learned.Estimate < 0.8*limit || learned.Estimate > 1.1*limit {
				t.Fatalf("learned estimate %.1f req/s for a limit of %v", learned.Estimate, limit)
			}
			if learned.Throttled != int64(fresh.throttled) || learned.RetryAfter != learned.Throttled {
				t.Errorf("state counts %d 429s, %d with Retry-After; the server answered %d, each with Retry-After",
					learned.Throttled, learned.RetryAfter, fresh.throttled)
			}
			if learned.Latency != 40*time.Millisecond || learned.InFlightLimit < 2 {
				t.Errorf("state latency %s, in-flight limit %d", learned.Latency, learned.InFlightLimit)
			}
			cfg.seed = &learned
			known := simulate(t, cfg)
			first, firstKnown := sentWithin(fresh, time.Second), sentWithin(known, time.Second)
			t.Logf("limit %v: fresh pacer %d requests in the first second, %d 429s, %s; seeded from rate %.1f (estimate %.1f): %d, %d 429s, %s",
				limit, first, fresh.throttled, fresh.wall.Round(time.Millisecond), learned.Rate, learned.Estimate,
				firstKnown, known.throttled, known.wall.Round(time.Millisecond))
			// The seeded pacer starts at settle × the estimate at most: the first second
			// holds that many requests, give or take the one at its end.
			if start := min(learned.Rate, settle*learned.Estimate); float64(firstKnown) < start-1 || float64(firstKnown) > start+1 {
				t.Errorf("seeded: %d requests in the first second, want the learned start %.1f req/s", firstKnown, start)
			}
			if limit > DefaultInitial*2 && firstKnown <= first {
				t.Errorf("seeded: %d requests in the first second, no more than the fresh pacer's %d", firstKnown, first)
			}
			if known.throttled > fresh.throttled || known.throttled*100 > known.requests*3 {
				t.Errorf("seeded: %d 429s of %d requests; fresh: %d", known.throttled, known.requests, fresh.throttled)
			}
		})
	}
}

func TestSeedStartsWhereTheStateSays(t *testing.T) {
	clk := newFakeClock()
	newPacer := func(o Options) *Pacer {
		o.Clock = clk
		p, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	at := clk.Now()
	// A limit seen: just below the estimate, out of slow start, in flight from the latency.
	p := newPacer(Options{})
	if !p.Seed(State{Rate: 60, Estimate: 50, Sure: true, Latency: 100 * time.Millisecond, At: at}) {
		t.Fatal("a fresh pacer refused a state")
	}
	s := p.Snapshot()
	if s.Rate != settle*50 || s.Estimate != 50 || s.SlowStart || s.InFlightLimit != 9 {
		t.Errorf("seeded: %+v, want rate %.1f, estimate 50, no slow start, 9 in flight", s, settle*50)
	}
	// No limit seen: the recorded rate, still doubling.
	p = newPacer(Options{})
	p.Seed(State{Rate: 160, At: at})
	if s := p.Snapshot(); s.Rate != 160 || !s.SlowStart || s.Estimate != 0 {
		t.Errorf("seeded without a limit: %+v", s)
	}
	// The operator's ceiling still holds.
	p = newPacer(Options{Max: 20})
	p.Seed(State{Rate: 47.5, Estimate: 50, Sure: true, At: at})
	if s := p.Snapshot(); s.Rate != 20 {
		t.Errorf("seeded above the ceiling: rate %.1f, want the ceiling 20", s.Rate)
	}
	// Nothing to start from, or the pacer's own state: refused.
	p = newPacer(Options{})
	if p.Seed(State{}) || p.Seed(State{Rate: -1, At: at}) || p.Seed(p.State()) {
		t.Error("a pacer took an empty state, a negative rate or its own state")
	}
	// A request that taught the pacer nothing (a credential check) leaves it open to a
	// state; once it knows something, only a newer one replaces it.
	tk, err := p.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tk.Succeeded()
	clk.Advance(time.Second)
	if !p.Seed(State{Rate: 30, Estimate: 50, At: at}) || p.Rate() != 30 {
		t.Errorf("a pacer that sent one request refused a state: rate %.1f", p.Rate())
	}
	if p.Seed(State{Rate: 40, Estimate: 50, At: at.Add(-time.Minute)}) {
		t.Error("a pacer took a state older than what it knew")
	}
	if !p.Seed(State{Rate: 40, Estimate: 50, At: clk.Now()}) || p.Rate() != 40 {
		t.Errorf("a pacer refused a newer state: rate %.1f", p.Rate())
	}
}
