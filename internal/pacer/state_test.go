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
			// The seeded pacer starts at settle × the lower of rate and estimate, and climbs
			// towards settle × the estimate: the first second holds that many requests, give
			// or take the one at either end.
			start, target := settle*min(learned.Rate, learned.Estimate), settle*learned.Estimate
			if float64(firstKnown) < start-1 || float64(firstKnown) > max(start, target)+1 {
				t.Errorf("seeded: %d requests in the first second, want the learned start %.1f req/s (climbing to %.1f)", firstKnown, start, target)
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
	if !p.Seed(State{Rate: 30, Estimate: 50, At: at}) || p.Rate() != settle*30 {
		t.Errorf("a pacer that sent one request refused a state: rate %.1f", p.Rate())
	}
	if p.Seed(State{Rate: 40, Estimate: 50, At: at.Add(-time.Minute)}) {
		t.Error("a pacer took a state older than what it knew")
	}
	if !p.Seed(State{Rate: 40, Estimate: 50, At: clk.Now()}) || p.Rate() != settle*40 {
		t.Errorf("a pacer refused a newer state: rate %.1f", p.Rate())
	}
}

// limiterShapes are the shapes of the server's limit the first sync of an org is measured
// against: token buckets of burst a tenth of the rate, the rate and twice it, and a fixed
// one-second window, each with Retry-After on every 429, every second one and none.
var limiterShapes = []struct {
	name         string
	burstPerRate float64 // 0: the window
	raEvery      int
}{
	{"bucket r/10, RA all", 0.1, 0}, {"bucket r/10, RA half", 0.1, 2}, {"bucket r/10, RA none", 0.1, -1},
	{"bucket r, RA all", 1, 0}, {"bucket r, RA half", 1, 2}, {"bucket r, RA none", 1, -1},
	{"bucket 2r, RA all", 2, 0}, {"bucket 2r, RA half", 2, 2}, {"bucket 2r, RA none", 2, -1},
	{"window 1s, RA all", 0, 0}, {"window 1s, RA half", 0, 2}, {"window 1s, RA none", 0, -1},
}

// shapeMisses are the shapes on which the pacer misses a target in
// TestFirstSyncOnLimiterShapes, and why: the test logs their figures and holds every other
// shape to the targets.
var shapeMisses = map[string]string{
	// A bucket of a second's requests or more, never a Retry-After: slow start overshoots
	// past the burst, and without pauses the requests in flight at the overshot rate are
	// refused again as they are retried.
	"50/bucket r, RA none": "429 share", "50/bucket 2r, RA none": "429 share",
	// A fixed window refills all at once at each second: an event's window measures its
	// edges, not its rate, and each Retry-After costs the rest of a window; without
	// Retry-After the events of the window's edges cut the estimate below the limit.
	"50/window 1s, RA all":  "ratio",
	"50/window 1s, RA none": "ratio, 429 share; known org ratio",
	// Every 429 is a one-second pause, and a tenth of a second's burst refills little of it.
	"50/bucket r/10, RA all": "ratio",
}

// TestFirstSyncOnLimiterShapes runs a sync of 650 requests' worth (the 10,000-user org of
// the benchmark's limiter-shapes) on a fresh pacer against every limiter shape at 20 and 50
// req/s, 40 ms latency, and then again from what the first learned. A fresh pacer stays
// within 1.25 of the bound (items ÷ limit) with at most 3 % of 429s, a seeded one within
// 1.15, except on shapeMisses. The simulated time is exact: no wall clock is involved.
func TestFirstSyncOnLimiterShapes(t *testing.T) {
	const items = 650
	for _, limit := range []float64{20, 50} {
		for _, sh := range limiterShapes {
			t.Run(fmt.Sprintf("%v/%s", limit, sh.name), func(t *testing.T) {
				cfg := simConfig{limit: limit, retryAfter: time.Second, latency: 40 * time.Millisecond, callers: 16, items: items,
					burst: max(1, sh.burstPerRate*limit), window: sh.burstPerRate == 0, raEvery: sh.raEvery}
				bound := time.Duration(float64(items) / limit * float64(time.Second))
				fresh := simulate(t, cfg)
				cfg.seed = &fresh.state
				known := simulate(t, cfg)
				ratio, share := float64(fresh.wall)/float64(bound), float64(fresh.throttled)/float64(fresh.requests)
				kratio, kshare := float64(known.wall)/float64(bound), float64(known.throttled)/float64(known.requests)
				t.Logf("%v req/s, %s: first %.3f, %d 429s (%.1f %%), estimate %.1f; known %.3f, %d 429s (%.1f %%)",
					limit, sh.name, ratio, fresh.throttled, 100*share, fresh.state.Estimate, kratio, known.throttled, 100*kshare)
				if miss, ok := shapeMisses[fmt.Sprintf("%v/%s", limit, sh.name)]; ok {
					t.Logf("a known miss (%s)", miss)
					return
				}
				if ratio > 1.25 || share > 0.03 {
					t.Errorf("first sync: %.3f of the bound, %.1f %% of 429s; want ≤ 1.25 and ≤ 3 %%", ratio, 100*share)
				}
				if kratio > 1.15 || kshare > 0.03 {
					t.Errorf("known org: %.3f of the bound, %.1f %% of 429s; want ≤ 1.15 and ≤ 3 %%", kratio, 100*kshare)
				}
			})
		}
	}
}
